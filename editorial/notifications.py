"""Who hears about an event, what they read, and the one delivery of it to each of them."""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from editorial.models import Event, EventKind, Notification
from editorial.permissions import Role
from reviewers.models import Invitation, InvitationStatus

log = logging.getLogger(__name__)

User = get_user_model()

#: A delivery claimed longer ago than this was interrupted (worker killed): claim it again.
CLAIM_TIMEOUT = timedelta(minutes=2)


class DeliveryIncomplete(Exception):
    """Some deliveries of an event failed and will be tried again."""


def _editors():
    return User.objects.filter(is_active=True, groups__name=Role.EDITOR)


def recipients_for(event: Event) -> list:
    """The people an event concerns, never the person who caused it."""
    article = event.article
    kind = event.kind
    if kind == EventKind.WITHDRAWN and event.payload.get("from") == "draft":
        people = User.objects.none()  # nobody but the author knew of a draft
    elif kind in (
        EventKind.SUBMITTED,
        EventKind.WITHDRAWN,
        EventKind.DECLINED,
        EventKind.EXPIRED,
        EventKind.REVIEWS_COMPLETE,
    ):
        # Editors of the board, but not the article's own author: they cannot decide on it.
        people = _editors().exclude(pk=article.author_id)
    elif kind == EventKind.DECISION:
        people = User.objects.filter(pk=article.author_id, is_active=True)
    elif kind == EventKind.RETRACTED:
        reviewed = Invitation.objects.filter(article=article, status=InvitationStatus.COMPLETED).values("reviewer_id")
        people = User.objects.filter(Q(pk=article.author_id) | Q(pk__in=reviewed), is_active=True)
    elif kind == EventKind.INVITED:
        invited = Invitation.objects.filter(pk__in=event.payload.get("invitations", [])).values("reviewer_id")
        people = User.objects.filter(pk__in=invited, is_active=True)
    elif kind == EventKind.CANCELLED:
        cancelled = Invitation.objects.filter(pk=event.payload.get("invitation")).values("reviewer_id")
        people = User.objects.filter(pk__in=cancelled, is_active=True)
    else:
        people = User.objects.none()
    if event.actor_id:
        people = people.exclude(pk=event.actor_id)
    return list(people.distinct().order_by("pk"))


def action_url(notification: Notification) -> str:
    """Where the recipient acts: their invitation for a reviewer, else the article's page."""
    event = notification.event
    if event.kind == EventKind.INVITED:
        invitation = Invitation.objects.filter(
            pk__in=event.payload.get("invitations", []), reviewer=notification.recipient_id
        ).first()
        if invitation:
            return settings.SITE_URL + reverse("admin:reviewers_invitation_change", args=[invitation.pk])
    return settings.SITE_URL + reverse("admin:articles_article_change", args=[event.article_id])


def render(notification: Notification) -> EmailMultiAlternatives:
    event = notification.event
    article = event.article
    context = {
        "event": event,
        "payload": event.payload,
        "article": article,
        "recipient": notification.recipient,
        "actor": event.actor,
        "site_url": settings.SITE_URL,
        "action_url": action_url(notification),
    }
    base = f"editorial/notifications/{event.kind.replace('.', '_')}"
    subject = " ".join(render_to_string(f"{base}.subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{base}.txt", context),
        to=[notification.recipient.email],
        headers={
            "Message-ID": f"<{notification.idempotency_key}@editorial.invalid>",
            "X-Editorial-Event": event.kind,
        },
    )
    message.attach_alternative(render_to_string(f"{base}.html", context), "text/html")
    return message


def deliver(event_id: int) -> None:
    """Deliver an event to each recipient once. Safe to run again at any time.

    Raises ``DeliveryIncomplete`` when a delivery failed for a reason worth retrying.
    """
    event = Event.objects.select_related("article", "actor").get(pk=event_id)
    if event.status == Event.Status.DONE:
        return
    recipients = recipients_for(event)
    Notification.objects.bulk_create(
        [Notification(event=event, recipient=person) for person in recipients if person.email],
        ignore_conflicts=True,
    )
    failures = 0
    for notification in event.notifications.exclude(
        status__in=[Notification.Status.SENT, Notification.Status.DEAD]
    ).select_related("recipient"):
        if not _claim(notification):
            continue
        notification.event = event
        try:
            render(notification).send()
        except Exception as exc:  # noqa: BLE001 - recorded on the delivery, retried, then dead
            failures += 1
            Notification.objects.filter(pk=notification.pk).update(
                status=Notification.Status.FAILED, last_error=f"{type(exc).__name__}: {exc}"
            )
            log.warning("Delivery %s failed: %s", notification.pk, exc)
            continue
        Notification.objects.filter(pk=notification.pk).update(
            status=Notification.Status.SENT, sent_at=timezone.now(), last_error=""
        )
    if failures:
        raise DeliveryIncomplete(f"{failures} deliveries of event {event_id} failed")
    unfinished = event.notifications.exclude(status__in=[Notification.Status.SENT, Notification.Status.DEAD])
    if not unfinished.exists():
        Event.objects.filter(pk=event.pk).update(status=Event.Status.DONE, done_at=timezone.now())


def _claim(notification: Notification) -> bool:
    """Take a delivery for this worker with a conditional update: one sender at a time."""
    now = timezone.now()
    claimable = Q(status__in=[Notification.Status.PENDING, Notification.Status.FAILED]) | Q(
        status=Notification.Status.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT
    )
    return bool(
        Notification.objects.filter(claimable, pk=notification.pk).update(
            status=Notification.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    )
