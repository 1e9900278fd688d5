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


def plan(queryset, *, bitmap_only: bool = False) -> str:
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        if bitmap_only:  # a trigram index is read by bitmap scans only
            cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.django_db
def test_the_article_list_order_is_read_from_an_index():
    page = Article.objects.order_by("-updated_at", "-id")[:50]
    assert "article_updated" in plan(page)


@pytest.mark.django_db
def test_the_title_search_is_read_from_the_trigram_index():
    # On an empty table the planner's estimates (from the row's width) may prefer walking the
    # list order's index and filtering: plain index scans are off, so the plan shows whether
    # the trigram index can serve the search at all.
    found = Article.objects.filter(title__icontains="asthma").order_by("-updated_at", "-id")
    assert "article_title_trgm" in plan(found, bitmap_only=True)


def btree_indexes(table: str) -> dict[str, tuple]:
    """Each plain b-tree index of ``table``: (key columns, operator classes, unique)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, i.indkey::text, i.indclass::text, i.indisunique
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
            WHERE i.indrelid = %s::regclass AND a.amname = 'btree'
              AND i.indexprs IS NULL AND i.indpred IS NULL
            """,
            [table],
        )
        return {name: (keys.split(), classes.split(), unique) for name, keys, classes, unique in cursor.fetchall()}


def redundant(indexes: dict[str, tuple]) -> list[tuple[str, str]]:
    """Pairs (index, the index that makes it redundant): its columns and operator classes lead the other's."""
    found = []
    for name, (keys, classes, unique) in indexes.items():
        for other, (other_keys, other_classes, _) in indexes.items():
            if other == name or unique or len(other_keys) < len(keys):
                continue
            leads = other_keys[: len(keys)] == keys and other_classes[: len(classes)] == classes
            if leads and (len(other_keys) > len(keys) or other < name):  # the same index twice: report one
                found.append((name, other))
    return found


@pytest.mark.django_db
def test_the_article_table_keeps_no_index_that_another_already_leads():
    """Every index is written by every transition (none of its UPDATEs is HOT): none may be spare."""
    assert redundant(btree_indexes(Article._meta.db_table)) == []


def test_the_redundancy_rule_finds_a_leading_prefix_and_a_twin():
    indexes = {
        "status": (["5"], ["1"], False),
        "status_updated": (["5", "7"], ["1", "2"], False),
        "slug_like": (["3"], ["9"], False),
        "slug_key": (["3"], ["1"], True),
        "a": (["4"], ["1"], False),
        "b": (["4"], ["1"], False),
    }
    assert sorted(redundant(indexes)) == [("b", "a"), ("status", "status_updated")]
