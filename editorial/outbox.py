"""The transactional outbox: events are rows written with the change that caused them.

Nothing is sent inside a transaction. After commit the event's id is handed to Celery; if
the broker is down then, the row stays pending and the beat hands it over again later.
"""

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from editorial.models import Event

log = logging.getLogger(__name__)


def record_event(*, kind: str, actor, article=None, payload: dict | None = None) -> Event:
    """Write an event in the caller's transaction; it is handed to Celery after commit."""
    event = Event.objects.create(kind=kind, actor=actor, article=article, payload=payload or {})
    transaction.on_commit(partial(enqueue_event, event.pk), robust=True)
    return event


def record_once(*, dedupe_key: str, kind: str, actor, article=None, payload: dict | None = None) -> Event | None:
    """Record an event unless one with the same key exists (a reminder for the same due date)."""
    try:
        with transaction.atomic():
            event = Event.objects.create(
                kind=kind, actor=actor, article=article, payload=payload or {}, dedupe_key=dedupe_key
            )
    except IntegrityError:
        return None
    transaction.on_commit(partial(enqueue_event, event.pk), robust=True)
    return event


def enqueue_event(event_id: int) -> None:
    """Hand an event to the broker. A broker error is logged, never raised to the user."""
    from editorial.tasks import deliver_event

    try:
        # No publish retries: a broker that does not answer costs the request one socket
        # timeout (2 s), and the event stays in the outbox for the beat to hand over again.
        deliver_event.apply_async(args=[event_id], retry=False)
    except Exception:
        log.warning("Event %s stays pending: the broker did not take it", event_id, exc_info=True)


def requeue_pending_events(*, limit: int = 500) -> int:
    """Hand over again the events still pending a while after they were written.

    Delivery is idempotent, so handing an event over twice costs a task, never an e-mail.
    """
    now = timezone.now()
    after = timedelta(seconds=settings.EDITORIAL_EVENT_REQUEUE_AFTER)
    stale = Event.objects.filter(status=Event.Status.PENDING, created_at__lt=now - after).filter(
        Q(requeued_at__isnull=True) | Q(requeued_at__lt=now - 10 * after)
    )
    ids = list(stale.order_by("created_at").values_list("pk", flat=True)[:limit])
    if ids:
        Event.objects.filter(pk__in=ids).update(requeued_at=now)
        for event_id in ids:
            enqueue_event(event_id)
    return len(ids)
