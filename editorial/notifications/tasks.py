"""Thin Celery tasks: load by id, call the code that owns the work.

Every task is registered under an explicit name, the one it had before the code moved here
(``editorial.tasks.*``): messages already queued and the beat schedule name tasks by these
strings, so the names must not follow the module's path. ``editorial/tasks.py`` imports this
module so that Celery's autodiscovery finds the tasks.
"""

import contextlib
import random

from celery import shared_task
from django.conf import settings

from accounts import lockout
from editorial.models import Digest
from editorial.notifications import delivery, digests, housekeeping, outbox, reminders, retractions
from editorial.notifications.relay import DELIVER_EVENT_TASK
from editorial.workflow import chain_verify


def backoff(retries: int) -> float:
    """Seconds to wait before retry number ``retries`` (0-based): exponential, jittered ±20 %.

    Capped at ``EDITORIAL_RETRY_MAX_SECONDS``, well below the broker's visibility timeout.
    """
    base = settings.EDITORIAL_RETRY_BASE_SECONDS
    return min(base * 2**retries, settings.EDITORIAL_RETRY_MAX_SECONDS) * random.uniform(0.8, 1.2)


@shared_task(name=DELIVER_EVENT_TASK, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def deliver_event(self, event_id: int, handed: dict | None = None) -> None:
    """Deliver one event; ``handed`` is what the relay read of it (absent from older messages).

    Retried with backoff while deliveries are incomplete; after the last retry they go to the
    dead letters.
    """
    try:
        delivery.deliver(event_id, handed)
    except delivery.DeliveryIncomplete as exc:
        if self.request.retries >= settings.EDITORIAL_DELIVERY_MAX_RETRIES:
            delivery.give_up(event_id)
            return
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc


@shared_task(name="editorial.tasks.deliver_digest", acks_late=True, reject_on_worker_lost=True)
def deliver_digest(digest_id: int) -> None:
    """Kept for messages queued before digests became events: delivers the digest's event.

    A digest still unfinished stays pending for the beat's requeue, which retries it.
    """
    event_id = Digest.objects.filter(pk=digest_id).values_list("event_id", flat=True).first()
    if event_id is not None:
        with contextlib.suppress(delivery.DeliveryIncomplete):
            delivery.deliver(event_id)


@shared_task(name="editorial.tasks.requeue_pending_events")
def requeue_pending_events() -> int:
    return outbox.requeue_pending_events()


@shared_task(name="editorial.tasks.send_digests")
def send_digests() -> int:
    """Gather the daily digests; each is an outbox event the relay hands over once committed."""
    return len(digests.collect_digests())


@shared_task(name="editorial.tasks.run_reminders")
def run_reminders() -> dict:
    return {
        "expired": reminders.expire_unanswered(),
        "reminded": reminders.remind_reviews(),
        "rereviews": reminders.rereviews_due(),
    }


@shared_task(name="editorial.tasks.watch_retractions")
def watch_retractions() -> dict:
    """Ask the resolver whether cited works were retracted or corrected (nothing while it is off)."""
    return retractions.watch().as_dict()


@shared_task(name="editorial.tasks.verify_audit_chain")
def verify_audit_chain() -> dict:
    """The nightly check of the audit chains from the last checkpoint, and a rolling slice of the
    older ones (every record re-read within ``EDITORIAL_AUDIT_FULL_CYCLE_DAYS`` runs, whatever is
    written meanwhile; in one snapshot: a write committed during the run is no break); auditors hear of breaks.

    Returns the new links read, the older ones the slice re-read, the last article the slice reached, the breaks.
    """
    checkpoint = chain_verify.verify_and_alert().checkpoint
    return {
        "links": checkpoint.links,
        "rolling_links": checkpoint.rolling_links,
        "rolling_article": checkpoint.rolling_article,
        "breaks": checkpoint.breaks,
    }


@shared_task(name="editorial.tasks.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    """Delete the API's Idempotency-Key records past their retention, in bounded batches."""
    return housekeeping.purge_idempotency_keys()


@shared_task(name="editorial.tasks.purge_access_records")
def purge_access_records() -> dict:
    """Delete django-axes' attempts and logs older than ``ACCOUNTS_ACCESS_RECORD_DAYS``."""
    return lockout.purge_access_records()
