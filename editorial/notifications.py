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
from django.db import connection, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from articles.models import Article
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


def _concerned(event: Event) -> set[int]:
    """The ids of the people an event concerns (before the actor's own choice)."""
    article = event.article
    kind = event.kind
    if kind == EventKind.WITHDRAWN and event.payload.get("from") == "draft":
        return set()  # nobody but the author knew of a draft
    if kind in FOR_EDITORS:
        editors = User.objects.filter(groups__name=Role.EDITOR).values_list("pk", flat=True)
        return set(editors) - {article.author_id}
    if kind == EventKind.DECISION:
        return {article.author_id}
    if kind == EventKind.RETRACTED:
        reviewed = Invitation.objects.filter(article_id=article.pk, status=InvitationStatus.COMPLETED)
        return {article.author_id, *reviewed.values_list("reviewer_id", flat=True)}
    if kind == EventKind.INVITED:
        invited = Invitation.objects.filter(pk__in=event.payload.get("invitations", []))
        return set(invited.values_list("reviewer_id", flat=True))
    if kind in FOR_THE_REVIEWER:
        return set(Invitation.objects.filter(pk=event.payload.get("invitation")).values_list("reviewer_id", flat=True))
    return set()


def recipients_for(event: Event) -> list:
    """The people an event concerns; the person who caused it only if they asked for receipts.

    Each comes with their e-mail choice for this kind of event (``wants_digest``).
    """
    candidates = _concerned(event) | ({event.actor_id} if event.actor_id else set())
    candidates.discard(None)
    if not candidates:
        return []
    people = User.objects.raw(
        f"SELECT u.id, u.username, u.email, u.first_name, u.last_name, "  # noqa: S608 - names from the models
        f"EXISTS (SELECT 1 FROM {_table(NotificationPreference)} p "
        "WHERE p.user_id = u.id AND p.kind = %s AND p.delivery = %s) AS wants_digest, "
        "s.copy_own_actions AS wants_receipts "
        f"FROM {_table(User)} u LEFT JOIN {_table(NotificationSettings)} s ON s.user_id = u.id "
        f"WHERE u.is_active AND u.id IN ({', '.join(['%s'] * len(candidates))}) ORDER BY u.id",
        [event.kind, Delivery.DIGEST, *sorted(candidates)],
    )
    return [person for person in people if person.pk != event.actor_id or person.wants_receipts]


def fan_out(event: Event) -> list[tuple[int, object]]:
    """Write each recipient's inbox entry and e-mail delivery, once whatever happens.

    Returns ``(delivery id, recipient)`` of the e-mails this call wrote to be sent now.
    They are written claimed by the caller (sending, first attempt), so a first delivery
    needs no separate claim. Rows written before (a redelivery, a retry) stay as they are
    and are not returned: ``_claim`` takes those that are due.
    """
    now = _now()
    rows = []
    people = {person.pk: person for person in recipients_for(event)}
    for person in people.values():
        rows.append((person.pk, INBOX, N.SENT, 0, None, now))
        if person.email and person.wants_digest:
            rows.append((person.pk, EMAIL, N.DIGEST, 0, None, None))
        elif person.email:
            rows.append((person.pk, EMAIL, N.SENDING, 1, now, None))
    if not rows:
        return []
    # INSERT ... ON CONFLICT DO NOTHING ... RETURNING (PostgreSQL; SQLite since 3.35): the
    # unique (event, recipient, channel) key keeps one row each, and RETURNING says which
    # rows this call wrote, which bulk_create(ignore_conflicts=True) cannot tell.
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, '')"] * len(rows))
    written = _sql(
        f"INSERT INTO {_table(Notification)} (event_id, recipient_id, channel, status, attempts, "  # noqa: S608
        f"claimed_at, sent_at, created_at, last_error) VALUES {values} "
        "ON CONFLICT (event_id, recipient_id, channel) DO NOTHING RETURNING id, recipient_id, status",
        [value for row in rows for value in (event.pk, *row, now)],
    )
    return sorted((pk, people[recipient_id]) for pk, recipient_id, status in written if status == N.SENDING)


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
#
# The worker's path, from an event id to e-mails sent, is written in SQL: five short
# statements and two commits. Built by the ORM, each statement cost 1 to 3 ms of Python on
# the project's machine, three times the database's own work, and the path must stay within
# twice a bare Celery round trip (bench/notifications.py). Tests run it on SQLite and
# PostgreSQL alike (tests/editorial/test_delivery.py, tests/editorial/test_faults.py).


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _now():
    """Now, as the database stores it (SQLite keeps text in Django's own format)."""
    return connection.ops.adapt_datetimefield_value(timezone.now())


def _sql(statement: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def _event(event_id: int) -> Event | None:
    """The event, with what its templates show of the article and of the actor (one query)."""
    rows = list(
        Event.objects.raw(
            "SELECT e.id, e.kind, e.payload, e.status, e.article_id, e.actor_id, "  # noqa: S608
            "a.title AS a_title, a.slug AS a_slug, a.author_id AS a_author_id, a.status AS a_status, "
            "a.review_round AS a_round, "
            "u.username AS u_username, u.first_name AS u_first_name, u.last_name AS u_last_name, "
            "u.is_active AS u_is_active "
            f"FROM {_table(Event)} e LEFT JOIN {_table(Article)} a ON a.id = e.article_id "
            f"LEFT JOIN {_table(User)} u ON u.id = e.actor_id WHERE e.id = %s",
            [event_id],
        )
    )
    if not rows:
        return None
    event = rows[0]
    if event.article_id:
        event.article = Article.from_db(
            connection.alias,
            ["id", "title", "slug", "author_id", "status", "review_round"],
            [event.article_id, event.a_title, event.a_slug, event.a_author_id, event.a_status, event.a_round],
        )
    if event.actor_id:
        event.actor = User.from_db(
            connection.alias,
            ["id", "username", "first_name", "last_name", "is_active"],
            [event.actor_id, event.u_username, event.u_first_name, event.u_last_name, bool(event.u_is_active)],
        )
    return event


def _claim(event_id: int) -> list[tuple[int, int]]:
    """Take this event's e-mails that are due and free for this worker: one conditional UPDATE.

    Failed ones wait for their retry; one still ``sending`` after the claim timeout was
    interrupted (its worker died) and is taken again. On PostgreSQL a row another worker
    holds is skipped (SKIP LOCKED); SQLite has one writer at a time.
    """
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    stale = connection.ops.adapt_datetimefield_value(timezone.now() - claim_timeout())
    table = _table(Notification)
    return sorted(
        _sql(
            f"UPDATE {table} SET status = %s, claimed_at = %s, attempts = attempts + 1 WHERE id IN ("  # noqa: S608
            f"SELECT id FROM {table} WHERE event_id = %s AND channel = %s AND "
            f"(status IN (%s, %s) OR (status = %s AND claimed_at < %s)){lock}) RETURNING id, recipient_id",
            [N.SENDING, _now(), event_id, EMAIL, N.PENDING, N.FAILED, N.SENDING, stale],
        )
    )


def deliver(event_id: int) -> None:
    """Deliver an event to each recipient once. Safe to run again at any time.

    Two commits when all goes well: the deliveries written (and claimed) before sending,
    then the last one marked sent together with the event's end. Raises
    ``DeliveryIncomplete`` when an e-mail failed (it is retried with backoff) or is still
    being sent by a worker that may have died (it is claimed again after a timeout).
    """
    event = _event(event_id)
    if event is None or event.status == Event.Status.DONE:
        return
    with transaction.atomic(savepoint=False):
        claimed = fan_out(event)
        if not claimed:  # written before: take those due (a retry, or a worker that died)
            due = _claim(event_id)
            people = User.objects.in_bulk({recipient_id for _, recipient_id in due})
            claimed = [(pk, people[recipient_id]) for pk, recipient_id in due]
    done = None
    for index, (delivery_id, recipient) in enumerate(claimed):
        try:
            render(Notification(pk=delivery_id, event=event, recipient=recipient)).send()
        except Exception as exc:  # noqa: BLE001 - recorded on the delivery, retried, then dead
            _sql(
                f"UPDATE {_table(Notification)} SET status = %s, last_error = %s WHERE id = %s",  # noqa: S608
                [N.FAILED, f"{type(exc).__name__}: {exc}"[:2000], delivery_id],
            )
            log.warning("Delivery %s failed: %s", delivery_id, exc)
            continue
        with transaction.atomic(savepoint=False):  # the last delivery's mark and the event's end share a commit
            _sql(
                f"UPDATE {_table(Notification)} SET status = %s, sent_at = %s, last_error = '' WHERE id = %s",  # noqa: S608
                [N.SENT, _now(), delivery_id],
            )
            if index == len(claimed) - 1:
                done = _finish(event_id)
    if done is None:
        done = _finish(event_id)
    if not done:
        raise DeliveryIncomplete(f"e-mail deliveries of event {event_id} are not all done yet")


def _finish(event_id: int) -> bool:
    """Mark the event done unless an e-mail of it still waits (digests travel on their own).

    Returns whether the event is done.
    """
    finished = _sql(
        f"UPDATE {_table(Event)} SET status = %s, done_at = %s WHERE id = %s AND status = %s "  # noqa: S608
        f"AND NOT EXISTS (SELECT 1 FROM {_table(Notification)} n WHERE n.event_id = %s AND n.channel = %s "
        "AND n.status IN (%s, %s, %s)) RETURNING id",
        [Event.Status.DONE, _now(), event_id, Event.Status.PENDING, event_id, EMAIL, N.PENDING, N.FAILED, N.SENDING],
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


def mark_read_about(user, article_id: int) -> int:
    """Opening an article's or an invitation's page reads the user's entries about that article."""
    unread = Notification.objects.filter(recipient=user, channel=INBOX, read_at__isnull=True)
    return unread.filter(event__article_id=article_id).update(read_at=timezone.now())


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
