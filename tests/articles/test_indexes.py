"""The workspace's article list stays fast at scale: its order and its search read indexes.

bench/workspace.py measured 150 ms and more per page at 100,000 articles without them.
The planner is told to avoid sequential scans, so that these small test tables show
which index it *can* use.
"""

import pytest
from django.conf import settings
from django.db import connection, transaction

from articles.models import Article

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif("postgresql" not in settings.DATABASES["default"]["ENGINE"], reason="PostgreSQL query plans"),
]


def plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.django_db
def test_the_article_list_order_is_read_from_an_index():
    page = Article.objects.order_by("-updated_at", "-id")[:50]
    assert "article_updated" in plan(page)


@pytest.mark.django_db
def test_the_title_search_is_read_from_the_trigram_index():
    found = Article.objects.filter(title__icontains="asthma").order_by("-updated_at", "-id")
    assert "article_title_trgm" in plan(found)
