"""The workflow's one way to make something known: an outbox row, handed to Celery by name.

A service records an event in its own transaction (``record_event``); after commit the
event's id is handed to the delivery task, named by the string the worker registers it
under, so that nothing here imports the notification pipeline that sits above the workflow
(docs/architecture.md). If the broker is down then, the row stays pending and the beat hands
it over again later (``editorial.notifications.outbox``).
"""

import logging
from functools import partial

from celery import current_app
from django.db import IntegrityError, transaction

from editorial.models import Event

log = logging.getLogger(__name__)

#: The delivery task's registered name (``editorial.notifications.tasks.deliver_event``).
DELIVER_EVENT_TASK = "editorial.tasks.deliver_event"


def record_event(*, kind: str, actor, article=None, payload: dict | None = None) -> Event:
    """Write an event in the caller's transaction; it is handed to Celery after commit.

    ``kind`` is an ``EventKind`` value; ``payload`` a JSON-serialisable dict (ids, not objects).
    Returns the written ``Event`` (handed over only after commit).
    """
    event = Event.objects.create(kind=kind, actor=actor, article=article, payload=payload or {})
    transaction.on_commit(partial(enqueue_event, event.pk), robust=True)
    return event


def record_once(*, dedupe_key: str, kind: str, actor, article=None, payload: dict | None = None) -> Event | None:
    """Record an event unless one with the same key exists (a reminder for the same due date).

    Returns the new event, or None when ``dedupe_key`` was recorded before.
    """
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
    """Hand an event to the broker by task name. A broker error is logged, never raised."""
    try:
        # No publish retries: a broker that does not answer costs the caller one socket
        # timeout (2 s), and the event stays in the outbox for the beat to hand over again.
        current_app.send_task(DELIVER_EVENT_TASK, args=[event_id], retry=False)
    except Exception:
        log.warning("Event %s stays pending: the broker did not take it", event_id, exc_info=True)
