"""The daily digest: a person's waiting e-mail notifications gathered into one message.

Gathering writes, per person, a ``Digest`` and its outbox event (kind ``digest``) in one
transaction; from there it travels like any other event: the relay hands it to Celery once
committed, delivery claims, sends, retries and dead-letters it (``delivery.py``), and the
admin's retry action puts a dead one back. A broker that is down while the beat's digest task
runs therefore delays the digests, and loses none.
"""

from django.db import transaction

from editorial.models import Digest, EventKind, Notification
from editorial.workflow.events import record_event

N = Notification.Status
EMAIL = Notification.Channel.EMAIL


def collect_digests() -> list[int]:
    """Gather each person's waiting digest deliveries into one digest; returns the digests' ids.

    Idempotent: a delivery joins at most one digest (only those in no digest are taken), and
    a person with nothing waiting gets none.
    """
    digests = []
    waiting = (
        Notification.objects.filter(channel=EMAIL, status=N.DIGEST, digest__isnull=True)
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    for recipient_id in list(waiting):
        with transaction.atomic():
            event = record_event(kind=EventKind.DIGEST, actor=None, payload={"recipient": recipient_id})
            digest = Digest.objects.create(recipient_id=recipient_id, event=event)
            taken = Notification.objects.filter(
                channel=EMAIL, status=N.DIGEST, digest__isnull=True, recipient_id=recipient_id
            ).update(digest=digest)
            if not taken:  # gathered meanwhile by another run: write nothing
                transaction.set_rollback(True)
                continue
        digests.append(digest.pk)
    return digests
