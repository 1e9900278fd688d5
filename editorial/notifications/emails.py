"""What a notification says: its subject, text and HTML, and the link to act on it.

One template set per kind of event (``editorial/notifications/<kind>.subject.txt``, ``.txt``,
``.html``). The Message-ID is the delivery's idempotency key.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from editorial.models import Event, EventKind, Notification
from editorial.notifications.recipients import FOR_THE_REVIEWER
from reviewers.models import Invitation


def action_url(event: Event, recipient_id: int) -> str:
    """Where the recipient acts: their invitation for a reviewer, else the article's page."""
    invitation_id = event.payload.get("invitation")
    if event.kind in (EventKind.INVITED, EventKind.ROUND_CLOSED):  # the recipient's own, of those named
        invitation_id = (
            Invitation.objects.filter(pk__in=event.payload.get("invitations", []), reviewer=recipient_id)
            .values_list("pk", flat=True)
            .first()
        )
    if invitation_id and (event.kind in (EventKind.INVITED, EventKind.ROUND_CLOSED) or event.kind in FOR_THE_REVIEWER):
        return settings.SITE_URL + reverse("admin:reviewers_invitation_change", args=[invitation_id])
    if event.article_id is None:
        first = event.payload.get("first_article")
        if first:
            return settings.SITE_URL + reverse("admin:articles_article_history", args=[first])
        return settings.SITE_URL + reverse("admin:index")
    return settings.SITE_URL + reverse("admin:articles_article_change", args=[event.article_id])


def _template(event: Event) -> str:
    return f"editorial/notifications/{event.kind.replace('.', '_')}"


def context_for(event: Event, recipient) -> dict:
    return {
        "event": event,
        "payload": event.payload,
        "article": event.article,
        "recipient": recipient,
        "actor": event.actor,
        "site_url": settings.SITE_URL,
        "action_url": action_url(event, recipient.pk),
    }


def subject_for(event: Event, recipient) -> str:
    return " ".join(render_to_string(f"{_template(event)}.subject.txt", context_for(event, recipient)).split())


def render(notification: Notification) -> EmailMultiAlternatives:
    """The e-mail of one delivery: subject, text and HTML, Message-ID its idempotency key."""
    event, recipient = notification.event, notification.recipient
    if event.kind == EventKind.DIGEST:
        return render_digest(notification)
    context = context_for(event, recipient)
    message = EmailMultiAlternatives(
        subject=subject_for(event, recipient),
        body=render_to_string(f"{_template(event)}.txt", context),
        to=[recipient.email],
        headers={
            "Message-ID": f"<{notification.idempotency_key}@editorial.invalid>",
            "X-Editorial-Event": event.kind,
        },
    )
    message.attach_alternative(render_to_string(f"{_template(event)}.html", context), "text/html")
    return message


def render_digest(notification: Notification) -> EmailMultiAlternatives:
    """A daily digest: the notifications its event gathered (``Digest``), oldest first."""
    event, recipient = notification.event, notification.recipient
    items = (
        Notification.objects.filter(digest__event_id=event.pk)
        .select_related("event__article", "event__actor")
        .order_by("event__created_at", "id")
    )
    entries = [
        {"subject": subject_for(n.event, recipient), "url": action_url(n.event, recipient.pk), "event": n.event}
        for n in items
    ]
    context = {"recipient": recipient, "entries": entries, "site_url": settings.SITE_URL}
    message = EmailMultiAlternatives(
        subject=f"Your editorial digest: {len(entries)} update{'s' if len(entries) != 1 else ''}",
        body=render_to_string("editorial/notifications/digest.txt", context),
        to=[recipient.email],
        headers={"Message-ID": f"<{notification.idempotency_key}@editorial.invalid>", "X-Editorial-Event": event.kind},
    )
    message.attach_alternative(render_to_string("editorial/notifications/digest.html", context), "text/html")
    return message
