"""The daily digest: a person's waiting e-mail notifications gathered into one message."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from editorial.models import Digest, Notification
from editorial.notifications.delivery import DeliveryIncomplete, claim_timeout
from editorial.notifications.emails import action_url, subject_for

N = Notification.Status
EMAIL = Notification.Channel.EMAIL


def collect_digests() -> list[int]:
    """Gather each person's waiting digest deliveries into one digest (idempotent claim)."""
    digests = []
    waiting = (
        Notification.objects.filter(channel=EMAIL, status=N.DIGEST, digest__isnull=True)
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    for recipient_id in list(waiting):
        with transaction.atomic():
            digest = Digest.objects.create(recipient_id=recipient_id)
            taken = Notification.objects.filter(
                channel=EMAIL, status=N.DIGEST, digest__isnull=True, recipient_id=recipient_id
            ).update(digest=digest)
            if taken:
                digests.append(digest.pk)
            else:
                digest.delete()
    return digests


def deliver_digest(digest_id: int) -> None:
    """Send one digest e-mail, once."""
    now = timezone.now()
    D = Digest.Status
    claimable = Q(status__in=[D.PENDING, D.FAILED]) | Q(status=D.SENDING, claimed_at__lt=now - claim_timeout())
    if not Digest.objects.filter(claimable, pk=digest_id).update(
        status=D.SENDING, claimed_at=now, attempts=F("attempts") + 1
    ):
        return
    digest = Digest.objects.select_related("recipient").get(pk=digest_id)
    items = list(
        digest.notifications.select_related("event__article", "event__actor").order_by("event__created_at", "id")
    )
    recipient = digest.recipient
    entries = [
        {"subject": subject_for(n.event, recipient), "url": action_url(n.event, recipient.pk), "event": n.event}
        for n in items
    ]
    context = {"recipient": recipient, "entries": entries, "site_url": settings.SITE_URL}
    message = EmailMultiAlternatives(
        subject=f"Your editorial digest: {len(entries)} update{'s' if len(entries) != 1 else ''}",
        body=render_to_string("editorial/notifications/digest.txt", context),
        to=[recipient.email],
        headers={"Message-ID": f"<digest-{digest.pk}@editorial.invalid>"},
    )
    message.attach_alternative(render_to_string("editorial/notifications/digest.html", context), "text/html")
    try:
        message.send()
    except Exception as exc:
        Digest.objects.filter(pk=digest_id).update(status=D.FAILED, last_error=f"{type(exc).__name__}: {exc}"[:2000])
        raise DeliveryIncomplete(f"digest {digest_id} failed") from exc
    sent = timezone.now()
    Digest.objects.filter(pk=digest_id).update(status=D.SENT, sent_at=sent, last_error="")
    digest.notifications.update(status=N.SENT, sent_at=sent)
