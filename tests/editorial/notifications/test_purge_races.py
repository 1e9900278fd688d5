"""The beat's purges against the requests they must not disturb, on PostgreSQL.

A key is honoured for ``EDITORIAL_IDEMPOTENCY_KEY_HOURS``; the hourly purge deletes it after
that. A retry arriving as its key expires must get an answer (a replay, or the request done
anew), never a 500.
"""

import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from editorial.models import IdempotencyKey
from editorial.notifications import housekeeping
from tests.editorial.api.test_idempotency import DRAFT, api, post  # noqa: F401 - api is a fixture

pytestmark = pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"], reason="a second connection"
)


@pytest.mark.django_db(transaction=True)
def test_a_retry_whose_key_the_purge_deletes_meanwhile_is_answered(api, author, monkeypatch):  # noqa: F811
    """``idempotency._claim`` finds the key taken (IntegrityError), then reads it in a second
    statement; the purge, running at that moment past the key's 24 hours, deletes it in
    between: the key is free again and the retry is done anew (it was a 500)."""
    assert post(api, DRAFT, key="edge").status_code == 201
    lifetime = timedelta(hours=settings.EDITORIAL_IDEMPOTENCY_KEY_HOURS)
    IdempotencyKey.objects.filter(key="edge").update(created_at=timezone.now() - lifetime + timedelta(seconds=1))
    later = SimpleNamespace(now=lambda: timezone.now() + timedelta(seconds=2))  # the beat, a moment later
    monkeypatch.setattr(housekeeping, "timezone", later)
    manager, real_filter = IdempotencyKey.objects, IdempotencyKey.objects.filter
    purged = []

    def read_after_the_purge(*args, **kwargs):
        if "key" not in kwargs or purged:  # only the read of the taken key, once
            return real_filter(*args, **kwargs)

        def purge():
            try:
                purged.append(housekeeping.purge_idempotency_keys())
            finally:
                connection.close()

        worker = threading.Thread(target=purge)
        worker.start()
        worker.join(timeout=30)
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(manager, "filter", read_after_the_purge)
    api.raise_request_exception = False
    retry = post(api, DRAFT, key="edge")
    assert purged == [1]  # the purge did run in the window
    assert retry.status_code in (200, 201), (retry.status_code, getattr(retry, "data", None))
