"""The beat's purges: expired Idempotency-Key records go, in bounded batches; live ones stay."""

import itertools
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from articles.models import Article
from editorial.models import IdempotencyKey
from editorial.notifications.tasks import purge_idempotency_keys
from tests.editorial.api.test_idempotency import DRAFT, api, post  # noqa: F401 - api is a fixture

HOURS = 24
NUMBERS = itertools.count()


def beat_entry(task: str) -> dict:
    return next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == task)


def test_the_beat_purges_idempotency_keys_every_hour():
    entry = beat_entry("editorial.tasks.purge_idempotency_keys")
    assert entry["schedule"].minute == {40} and len(entry["schedule"].hour) == 24


def keys(owner, ages_in_hours: list[float]) -> list[IdempotencyKey]:
    now = timezone.now()
    return IdempotencyKey.objects.bulk_create(
        IdempotencyKey(
            owner=owner, key=f"k-{next(NUMBERS)}", fingerprint="0" * 64, created_at=now - timedelta(hours=age)
        )
        for age in ages_in_hours
    )


@pytest.mark.django_db
def test_keys_older_than_their_retention_go_in_bounded_batches(settings, author, other_author):
    settings.EDITORIAL_IDEMPOTENCY_KEY_HOURS = HOURS
    settings.EDITORIAL_PURGE_BATCH = 2
    settings.EDITORIAL_PURGE_MAX_BATCHES = 2
    expired = keys(author, [HOURS + 1, HOURS + 30, 24 * 40]) + keys(other_author, [HOURS + 0.1, HOURS + 2])
    kept = keys(author, [HOURS - 0.1, 1]) + keys(other_author, [0])
    with CaptureQueriesContext(connection) as queries:
        assert purge_idempotency_keys() == 4  # two batches of two: the rest waits for the next run
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 2
    left = set(IdempotencyKey.objects.values_list("pk", flat=True))
    assert {k.pk for k in kept} <= left and len(left & {k.pk for k in expired}) == 1
    assert purge_idempotency_keys() == 1
    assert purge_idempotency_keys() == 0
    assert set(IdempotencyKey.objects.values_list("pk", flat=True)) == {k.pk for k in kept}


@pytest.mark.django_db
def test_after_the_purge_the_key_starts_a_new_request(api, author):  # noqa: F811 - the fixture
    assert post(api, DRAFT, key="run-7").status_code == 201
    assert purge_idempotency_keys() == 0  # still within its 24 hours: a retry is answered, not redone
    assert post(api, {**DRAFT, "title": "Another question?"}, key="run-7").status_code == 422
    with time_machine.travel(timezone.now() + timedelta(hours=settings.EDITORIAL_IDEMPOTENCY_KEY_HOURS, minutes=1)):
        assert purge_idempotency_keys() == 1
        assert not IdempotencyKey.objects.exists()
        assert post(api, {**DRAFT, "title": "Another question?"}, key="run-7").status_code == 201
    assert Article.objects.filter(author=author).count() == 2
