"""The outbox's safety net: events still pending long after they were written are handed over again.

The relay (``editorial.notifications.relay``) hands each committed event to Celery within
moments. The beat runs ``requeue_pending_events`` for what slipped through: events no relay
took (none running), events a relay stamped but died before publishing, and events whose
task the broker lost (a Redis restarted without persistence) or whose delivery waits for a
retry that never came.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from editorial.models import Event
from editorial.notifications import relay


def requeue_pending_events(*, limit: int = 500) -> int:
    """Hand over again the events still pending a while after they were written or relayed.

    An event is taken when it waited ``EDITORIAL_EVENT_REQUEUE_AFTER`` seconds with no relay
    taking it, or ten times that since it was last handed over. Delivery is idempotent, so
    handing an event over twice costs a task, never an e-mail. Returns how many were handed
    over (at most ``limit``); raises ``relay.BrokerUnavailable`` if the broker refused, after
    putting those it did not take back in the relay's queue.
    """
    now = timezone.now()
    after = timedelta(seconds=settings.EDITORIAL_EVENT_REQUEUE_AFTER)
    stale = Event.objects.filter(status=Event.Status.PENDING).filter(
        Q(relayed_at__isnull=True, created_at__lt=now - after) | Q(relayed_at__lt=now - 10 * after)
    )
    ids = list(stale.order_by("id").values_list("pk", flat=True)[:limit])
    if ids:
        Event.objects.filter(pk__in=ids).update(relayed_at=now)
        try:
            relay.publish(ids)
        except relay.BrokerUnavailable as exc:
            Event.objects.filter(pk__in=ids[exc.handed :]).update(relayed_at=None)
            raise
    return len(ids)
