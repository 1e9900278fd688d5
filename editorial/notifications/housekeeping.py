"""Records kept only for a while, deleted by the beat once their time is over.

Each purge deletes in batches of ``EDITORIAL_PURGE_BATCH`` rows, each batch its own short
transaction (no long lock on a table the API writes to), at most
``EDITORIAL_PURGE_MAX_BATCHES`` batches a run: a backlog is worked off over several runs
rather than holding a worker past its time limit.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from editorial.models import IdempotencyKey


def purge_in_batches(queryset, *, order_by: str) -> int:
    """Delete the rows of ``queryset``, oldest first by ``order_by``, in bounded batches.

    Returns how many rows were deleted (at most batch × max batches; the rest waits for the
    next run).
    """
    size = max(1, settings.EDITORIAL_PURGE_BATCH)
    deleted = 0
    for _ in range(max(1, settings.EDITORIAL_PURGE_MAX_BATCHES)):
        with transaction.atomic():
            ids = list(queryset.order_by(order_by).values_list("pk", flat=True)[:size])
            if ids:
                deleted += queryset.model._base_manager.filter(pk__in=ids).delete()[0]
        if len(ids) < size:
            break
    return deleted


def purge_idempotency_keys() -> int:
    """Delete the API's Idempotency-Key records older than ``EDITORIAL_IDEMPOTENCY_KEY_HOURS``.

    A key is honoured that long (docs/api.md: "within 24 hours"); after it, a retry with the
    same key is a new request, so its record is of no more use. The API also drops a caller's
    own expired keys when that caller sends a key; this reaches the callers who stopped.
    Returns the number deleted.
    """
    cutoff = timezone.now() - timedelta(hours=settings.EDITORIAL_IDEMPOTENCY_KEY_HOURS)
    return purge_in_batches(IdempotencyKey.objects.filter(created_at__lt=cutoff), order_by="created_at")
