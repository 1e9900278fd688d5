"""Who hears about an event, what they read, and the one delivery of it to each of them.

Every recipient gets an inbox entry in the workspace. By e-mail, each chooses per kind of
event: at once, or in a daily digest. A delivery row is claimed with a conditional UPDATE
before sending, so a redelivered task never sends twice; its Message-ID is its idempotency
key, so even a send interrupted after the server took it can be recognised downstream.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from editorial.models import (
    Delivery,
    Digest,
    Event,
    EventKind,
    Notification,
    NotificationPreference,
    NotificationSettings,
)
from editorial.permissions import Role
from reviewers.models import Invitation, InvitationStatus

log = logging.getLogger(__name__)

User = get_user_model()
N = Notification.Status
EMAIL, INBOX = Notification.Channel.EMAIL, Notification.Channel.INBOX

#: Kinds told to the editors of the board (never to an editor who wrote the article).
FOR_EDITORS = {
    EventKind.SUBMITTED,
    EventKind.WITHDRAWN,
    EventKind.DECLINED,
    EventKind.EXPIRED,
    EventKind.REVIEWS_COMPLETE,
    EventKind.REVIEW_ESCALATED,
    EventKind.REREVIEW_DUE,
}
#: Kinds told to the reviewer of the invitation the event names.
FOR_THE_REVIEWER = {EventKind.CANCELLED, EventKind.REVIEW_DUE_SOON, EventKind.REVIEW_OVERDUE}


class DeliveryIncomplete(Exception):
    """Some deliveries of an event failed and will be tried again."""


def claim_timeout() -> timedelta:
    """A delivery claimed longer ago than this was interrupted (worker killed): claim it again."""
    return timedelta(seconds=settings.EDITORIAL_CLAIM_TIMEOUT)


# --- Recipients ----------------------------------------------------------------------------------


def _editors():
    return User.objects.filter(is_active=True, groups__name=Role.EDITOR)


def recipients_for(event: Event) -> list:
    """The people an event concerns; the person who caused it only if they asked for receipts."""
    article = event.article
    kind = event.kind
    if kind == EventKind.WITHDRAWN and event.payload.get("from") == "draft":
        people = User.objects.none()  # nobody but the author knew of a draft
    elif kind in FOR_EDITORS:
        people = _editors().exclude(pk=article.author_id)
    elif kind == EventKind.DECISION:
        people = User.objects.filter(pk=article.author_id, is_active=True)
    elif kind == EventKind.RETRACTED:
        reviewed = Invitation.objects.filter(article=article, status=InvitationStatus.COMPLETED).values("reviewer_id")
        people = User.objects.filter(Q(pk=article.author_id) | Q(pk__in=reviewed), is_active=True)
    elif kind == EventKind.INVITED:
        invited = Invitation.objects.filter(pk__in=event.payload.get("invitations", [])).values("reviewer_id")
        people = User.objects.filter(pk__in=invited, is_active=True)
    elif kind in FOR_THE_REVIEWER:
        invitation = Invitation.objects.filter(pk=event.payload.get("invitation")).values("reviewer_id")
        people = User.objects.filter(pk__in=invitation, is_active=True)
    else:
        people = User.objects.none()
    if event.actor_id:
        # The person who acted is told only when they asked for receipts of their own actions.
        receipt = User.objects.filter(pk=event.actor_id, is_active=True, notification_settings__copy_own_actions=True)
        people = people.exclude(pk=event.actor_id) | receipt
    digest = NotificationPreference.objects.filter(user=OuterRef("pk"), kind=event.kind, delivery=Delivery.DIGEST)
    return list(people.distinct().annotate(wants_digest=Exists(digest)).order_by("pk"))


def fan_out(event: Event) -> None:
    """Write the inbox entry and the e-mail delivery of each recipient (once, whatever happens)."""
    now = timezone.now()
    rows = []
    for person in recipients_for(event):
        rows.append(Notification(event=event, recipient=person, channel=INBOX, status=N.SENT, sent_at=now))
        if person.email:
            status = N.DIGEST if person.wants_digest else N.PENDING
            rows.append(Notification(event=event, recipient=person, channel=EMAIL, status=status))
    Notification.objects.bulk_create(rows, ignore_conflicts=True)


# --- Content -------------------------------------------------------------------------------------


def action_url(event: Event, recipient_id: int) -> str:
    """Where the recipient acts: their invitation for a reviewer, else the article's page."""
    invitation_id = event.payload.get("invitation")
    if event.kind == EventKind.INVITED:
        invitation_id = (
            Invitation.objects.filter(pk__in=event.payload.get("invitations", []), reviewer=recipient_id)
            .values_list("pk", flat=True)
            .first()
        )
    if invitation_id and (event.kind == EventKind.INVITED or event.kind in FOR_THE_REVIEWER):
        return settings.SITE_URL + reverse("admin:reviewers_invitation_change", args=[invitation_id])
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
    event, recipient = notification.event, notification.recipient
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


# --- Delivery ------------------------------------------------------------------------------------


def _claim(event_id: int) -> list[Notification]:
    """Take this event's e-mails that are free for this worker, in one short transaction.

    A row another worker holds is skipped (SKIP LOCKED); one claimed longer ago than the
    claim timeout was interrupted (its worker died) and is taken again.
    """
    now = timezone.now()
    claimable = Q(status__in=[N.PENDING, N.FAILED]) | Q(status=N.SENDING, claimed_at__lt=now - claim_timeout())
    with transaction.atomic():
        rows = list(
            Notification.objects.filter(claimable, event_id=event_id, channel=EMAIL)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient")
        )
        if rows:
            Notification.objects.filter(pk__in=[row.pk for row in rows]).update(
                status=N.SENDING, claimed_at=now, attempts=F("attempts") + 1
            )
    return rows


def deliver(event_id: int) -> None:
    """Deliver an event to each recipient once. Safe to run again at any time.

    Raises ``DeliveryIncomplete`` when an e-mail failed (it is retried with backoff) or is
    still being sent by a worker that may have died (it is claimed again after a timeout).
    """
    event = Event.objects.select_related("article", "actor").get(pk=event_id)
    if event.status == Event.Status.DONE:
        return
    with transaction.atomic():  # one commit: the deliveries written, and this worker's claim on them
        fan_out(event)
        claimed = _claim(event_id)
    done = None
    for index, notification in enumerate(claimed):
        notification.event = event
        try:
            render(notification).send()
        except Exception as exc:  # noqa: BLE001 - recorded on the delivery, retried, then dead
            Notification.objects.filter(pk=notification.pk).update(
                status=N.FAILED, last_error=f"{type(exc).__name__}: {exc}"[:2000]
            )
            log.warning("Delivery %s failed: %s", notification.pk, exc)
            continue
        with transaction.atomic():  # the last delivery's mark and the event's end share a commit
            Notification.objects.filter(pk=notification.pk).update(status=N.SENT, sent_at=timezone.now(), last_error="")
            if index == len(claimed) - 1:
                done = _finish(event_id)
    if done is None:
        done = _finish(event_id)
    if not done:
        raise DeliveryIncomplete(f"e-mail deliveries of event {event_id} are not all done yet")


def _finish(event_id: int) -> bool:
    """Mark the event done unless an e-mail of it still waits (digests travel on their own).

    One statement; returns whether the event is done.
    """
    waiting = Notification.objects.filter(
        event_id=OuterRef("pk"), channel=EMAIL, status__in=[N.PENDING, N.FAILED, N.SENDING]
    )
    finished = (
        Event.objects.filter(pk=event_id, status=Event.Status.PENDING)
        .exclude(Exists(waiting))
        .update(status=Event.Status.DONE, done_at=timezone.now())
    )
    return bool(finished) or Event.objects.filter(pk=event_id, status=Event.Status.DONE).exists()


def give_up(event_id: int) -> int:
    """After the last retry: failed deliveries go to the dead letters, for an admin to retry."""
    dead = Notification.objects.filter(event_id=event_id, channel=EMAIL, status=N.FAILED).update(status=N.DEAD)
    _finish(event_id)
    return dead


def retry_dead(notification_ids) -> list[int]:
    """Put dead deliveries back in the queue (the admin's "retry" action); returns their events."""
    with transaction.atomic():
        dead = Notification.objects.filter(pk__in=list(notification_ids), status=N.DEAD)
        events = sorted(set(dead.values_list("event_id", flat=True)))
        dead.update(status=N.PENDING, last_error="")
        Event.objects.filter(pk__in=events).update(status=Event.Status.PENDING, done_at=None)
    from editorial.outbox import enqueue_event

    for event_id in events:
        transaction.on_commit(lambda event_id=event_id: enqueue_event(event_id), robust=True)
    return events


# --- Digests ------------------------------------------------------------------------------------


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


# --- The inbox -----------------------------------------------------------------------------------


def inbox(user):
    return Notification.objects.filter(recipient=user, channel=INBOX).select_related("event__article", "event__actor")


def unread_count(user) -> int:
    return Notification.objects.filter(recipient=user, channel=INBOX, read_at__isnull=True).count()


def mark_read(user, notification_ids=None) -> int:
    """Mark the user's own inbox entries read (all of them when no ids are given)."""
    unread = Notification.objects.filter(recipient=user, channel=INBOX, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=list(notification_ids))
    return unread.update(read_at=timezone.now())


# --- Preferences ---------------------------------------------------------------------------------

#: The kinds of event each role hears about (the preferences page offers these).
KINDS_BY_ROLE = {
    Role.AUTHOR: [EventKind.DECISION, EventKind.RETRACTED],
    Role.BOARD: [
        EventKind.INVITED,
        EventKind.CANCELLED,
        EventKind.REVIEW_DUE_SOON,
        EventKind.REVIEW_OVERDUE,
        EventKind.RETRACTED,
    ],
    Role.EDITOR: sorted(FOR_EDITORS),
}


def kinds_for(user) -> list[tuple[str, str]]:
    from editorial.permissions import roles

    held = roles(user)
    kinds = {kind for role, role_kinds in KINDS_BY_ROLE.items() if role in held for kind in role_kinds}
    return [(kind.value, kind.label) for kind in EventKind if kind in kinds]


def preferences(user) -> tuple[dict, bool]:
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "delivery"))
    copy_own = NotificationSettings.objects.filter(user=user, copy_own_actions=True).exists()
    return chosen, copy_own


def save_preferences(user, choices: dict, *, copy_own_actions: bool) -> None:
    with transaction.atomic():
        for kind, delivery in choices.items():
            if kind in EventKind.values and delivery in Delivery.values:
                NotificationPreference.objects.update_or_create(user=user, kind=kind, defaults={"delivery": delivery})
        NotificationSettings.objects.update_or_create(user=user, defaults={"copy_own_actions": copy_own_actions})
