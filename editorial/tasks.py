"""Thin Celery tasks: load by id, call the code that owns the work."""

import random

from celery import shared_task
from django.conf import settings

from editorial import notifications, outbox, reminders


def backoff(retries: int) -> float:
    """Exponential backoff with jitter, capped well below the broker's visibility timeout."""
    base = settings.EDITORIAL_RETRY_BASE_SECONDS
    return min(base * 2**retries, settings.EDITORIAL_RETRY_MAX_SECONDS) * random.uniform(0.8, 1.2)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def deliver_event(self, event_id: int) -> None:
    try:
        notifications.deliver(event_id)
    except notifications.DeliveryIncomplete as exc:
        if self.request.retries >= settings.EDITORIAL_DELIVERY_MAX_RETRIES:
            notifications.give_up(event_id)
            return
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def deliver_digest(self, digest_id: int) -> None:
    try:
        notifications.deliver_digest(digest_id)
    except notifications.DeliveryIncomplete as exc:
        if self.request.retries < settings.EDITORIAL_DELIVERY_MAX_RETRIES:
            raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc


@shared_task
def requeue_pending_events() -> int:
    return outbox.requeue_pending_events()


@shared_task
def send_digests() -> int:
    digests = notifications.collect_digests()
    for digest_id in digests:
        deliver_digest.apply_async(args=[digest_id], retry=True)
    return len(digests)


@shared_task
def run_reminders() -> dict:
    return {
        "expired": reminders.expire_unanswered(),
        "reminded": reminders.remind_reviews(),
        "rereviews": reminders.rereviews_due(),
    }
