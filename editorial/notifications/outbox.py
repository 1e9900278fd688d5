"""The outbox's safety net: events the broker never took are handed over again.

Events are written by the workflow in the transaction that caused them and handed to
Celery after commit (``editorial.workflow.events``). If the broker was down then, the row
stays pending; the beat runs ``requeue_pending_events`` to hand it over again.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from editorial.models import Event
from editorial.workflow import events


def requeue_pending_events(*, limit: int = 500) -> int:
    """Hand over again the events still pending a while after they were written.

    Delivery is idempotent, so handing an event over twice costs a task, never an e-mail.
    Returns how many events were handed over (at most ``limit``).
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
            events.enqueue_event(event_id)
    return len(ids)
