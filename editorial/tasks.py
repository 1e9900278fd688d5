"""Thin Celery tasks: load by id, call the code that owns the work."""

import random

from celery import shared_task

from editorial import notifications, outbox

MAX_DELIVERY_RETRIES = 8


@shared_task(bind=True, acks_late=True, max_retries=MAX_DELIVERY_RETRIES)
def deliver_event(self, event_id: int) -> None:
    try:
        notifications.deliver(event_id)
    except notifications.DeliveryIncomplete as exc:
        # Exponential backoff with jitter: 10 s, 20 s, 40 s ... capped at 30 minutes.
        countdown = min(10 * 2**self.request.retries, 1800) * random.uniform(0.8, 1.2)
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task
def requeue_pending_events() -> int:
    return outbox.requeue_pending_events()
