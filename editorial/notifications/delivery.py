"""The one delivery of an event to each of the people it concerns.

Every recipient gets an inbox entry in the workspace. By e-mail, each chooses per kind of
event: at once, or in a daily digest. A delivery row is claimed with a conditional UPDATE
before sending, so a redelivered task never sends twice; its Message-ID is its idempotency
key, so even a send interrupted after the server took it can be recognised downstream.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from articles.models import Article
from editorial.models import Event, Notification
from editorial.notifications.emails import render
from editorial.notifications.recipients import recipients_for
from editorial.workflow import events

log = logging.getLogger(__name__)

User = get_user_model()
N = Notification.Status
EMAIL, INBOX = Notification.Channel.EMAIL, Notification.Channel.INBOX


class DeliveryIncomplete(Exception):
    """Some deliveries of an event failed and will be tried again."""


def claim_timeout() -> timedelta:
    """A delivery claimed longer ago than this was interrupted (worker killed): claim it again."""
    return timedelta(seconds=settings.EDITORIAL_CLAIM_TIMEOUT)


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


# The worker's path, from an event id to e-mails sent, is written in SQL: five short
# statements and two commits. Built by the ORM, each statement cost 1 to 3 ms of Python on
# the project's machine, three times the database's own work, and the path must stay within
# twice a bare Celery round trip (bench/notifications.py). Tests run it on SQLite and
# PostgreSQL alike (tests/editorial/notifications/test_delivery.py, test_faults.py).


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
        event_ids = sorted(set(dead.values_list("event_id", flat=True)))
        dead.update(status=N.PENDING, last_error="")
        Event.objects.filter(pk__in=event_ids).update(status=Event.Status.PENDING, done_at=None)
    for event_id in event_ids:
        transaction.on_commit(lambda event_id=event_id: events.enqueue_event(event_id), robust=True)
    return event_ids
