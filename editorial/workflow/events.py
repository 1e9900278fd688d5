"""The workflow's one way to make something known: an outbox row, written in the caller's transaction.

A service records an event in its own transaction (``record_event``) and nothing else: no
broker is touched while a request runs. Once the transaction commits, the relay
(``editorial.notifications.relay``, a process of its own) hands the event to Celery: on
PostgreSQL it is woken by a ``NOTIFY`` that a trigger on the event table sends inside this
same transaction (delivered only at commit, never for a rollback); on SQLite it polls. This
module imports nothing of the notification pipeline that sits above the workflow
(docs/architecture.md).
"""

from django.db import IntegrityError, transaction

from editorial.models import Event


def record_event(*, kind: str, actor, article=None, payload: dict | None = None) -> Event:
    """Write an event in the caller's transaction; the relay hands it to Celery after commit.

    ``kind`` is an ``EventKind`` value; ``payload`` a JSON-serialisable dict (ids, not objects).
    Returns the written ``Event``. A rollback of the caller's transaction takes the event with it.
    """
    return Event.objects.create(kind=kind, actor=actor, article=article, payload=payload or {})


def build_event(*, kind: str, actor, article=None, payload: dict | None = None) -> Event:
    """The event ``record_event`` would write, not yet saved: for a service that writes it
    together with other rows (``editorial.workflow.writes.save_with_records``)."""
    return Event(kind=kind, actor=actor, article=article, payload=payload or {})


def record_once(*, dedupe_key: str, kind: str, actor, article=None, payload: dict | None = None) -> Event | None:
    """Record an event unless one with the same key exists (a reminder for the same due date).

    Returns the new event, or None when ``dedupe_key`` was recorded before.
    """
    try:
        with transaction.atomic():
            return Event.objects.create(
                kind=kind, actor=actor, article=article, payload=payload or {}, dedupe_key=dedupe_key
            )
    except IntegrityError:
        return None
