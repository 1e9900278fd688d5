"""The one delivery of an event to each of the people it concerns.

Every recipient gets an inbox entry in the workspace. By e-mail, each chooses per kind of
event: at once, or in a daily digest (a digest is itself an event, delivered here too).

Each e-mail is claimed on its own, just before it is sent, by a conditional UPDATE that
takes a lease of ``EDITORIAL_CLAIM_TIMEOUT`` seconds: longer than one message may take
(``EMAIL_TIMEOUT`` bounds all one message takes, ``editorial.notifications.smtp``), so
a claim never runs out while its message is still being sent, and a worker that picks up the
same event meanwhile takes the e-mails nobody holds. A claim older than the lease belonged
to a worker that died: it is taken again. Its Message-ID is the delivery's idempotency key.

What SMTP cannot give: a worker killed after the server accepted a message and before the
row is marked sent leaves a claim that expires, and the message is sent again, with the
same Message-ID. At most one duplicate per such kill (docs/deploy.md, "Delivery guarantees").
"""

import json
import logging
from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from editorial import prepared
from editorial.models import Digest, Event, EventKind, Notification, Webhook, WebhookDelivery
from editorial.notifications import handover, smtp, webhooks
from editorial.notifications.emails import render
from editorial.notifications.recipients import people_query, recipients_for

log = logging.getLogger(__name__)

User = get_user_model()
N = Notification.Status
EMAIL, INBOX = Notification.Channel.EMAIL, Notification.Channel.INBOX
#: ``recipients.people_query``'s columns, for an event that concerns nobody.
NOBODY = (
    "SELECT NULL::bigint AS id, '' AS username, '' AS email, '' AS first_name, '' AS last_name, "
    "FALSE AS wants_digest WHERE FALSE"
)


class DeliveryIncomplete(Exception):
    """Some deliveries of an event failed and will be tried again."""


def claim_timeout() -> timedelta:
    """A delivery claimed longer ago than this was interrupted (worker killed): claim it again."""
    return timedelta(seconds=settings.EDITORIAL_CLAIM_TIMEOUT)


class FanOut(NamedTuple):
    """What ``fan_out`` wrote: nothing (``fresh`` False: written before), or the deliveries."""

    fresh: bool
    claimed: tuple[int, object] | None  # the first e-mail, written claimed: (id, recipient)
    pending: int  # the other e-mails it wrote, each claimed just before it is sent
    people: dict  # recipient id -> recipient
    live: bool = True  # the event was still pending (False: done, nothing was written)
    webhooks: bool = True  # an active webhook may want this kind (False: none asked for it)


def fan_out(event: Event) -> FanOut:
    """Write each recipient's inbox entry and e-mail delivery, once whatever happens.

    The first e-mail is written already claimed (sending, first attempt): it is sent the
    moment this statement returns. The others are written pending and claimed one by one.
    Rows written before (a redelivery, a retry) stay as they are, and nothing is returned.
    An event already done gets nothing (``live`` False). On PostgreSQL all of it is one
    statement (``_fan_out_in_one``).
    """
    if connection.vendor == "postgresql":
        return _fan_out_in_one(event)
    with transaction.atomic(savepoint=False):
        if not _sql(f"SELECT 1 FROM {_table(Event)} WHERE id = %s AND status = %s", [event.pk, Event.Status.PENDING]):  # noqa: S608
            return FanOut(False, None, 0, {}, live=False)
        now = _now()
        rows = []
        people = {person.pk: person for person in recipients_for(event)}
        is_digest = event.kind == EventKind.DIGEST
        first = True
        for person in people.values():
            if not is_digest:  # the inbox has each of a digest's items already
                rows.append((person.pk, INBOX, N.SENT, 0, None, now))
            if person.email and person.wants_digest and not is_digest:
                rows.append((person.pk, EMAIL, N.DIGEST, 0, None, None))
            elif person.email:
                rows.append((person.pk, EMAIL, *((N.SENDING, 1, now) if first else (N.PENDING, 0, None)), None))
                first = False
        if not rows:
            return FanOut(False, None, 0, people)
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
    claimed = next(((pk, people[recipient]) for pk, recipient, status in written if status == N.SENDING), None)
    pending = sum(status == N.PENDING for _, _, status in written)
    return FanOut(bool(written), claimed, pending, people)


def _fan_out_in_one(event: Event) -> FanOut:
    """PostgreSQL: ``fan_out`` in one statement, one round trip, and a commit that need not wait for the disk.

    Whether the event is still pending, its recipients (``recipients.people_query``), the rows
    written (the same as ``fan_out``'s: an inbox entry each, unless a digest; an e-mail each
    with an address, ``digest`` for those who chose it, the first of the others claimed), and
    whether an active webhook asked for this kind.

    ``set_config(..., true)`` turns ``synchronous_commit`` off for this statement's own
    transaction: its COMMIT returns before its WAL reaches the disk. It changes no guarantee:
    the mark that follows each send commits synchronously, and WAL is flushed in order, so the
    fan-out is on disk by then. Only a database crash during the send itself could lose it,
    and that is the window in which a crash already means one repeat of that message (the
    module's docstring). On this project's machine a synchronous commit took 1 to 3.5 ms, an
    asynchronous one 0.2 ms.

    Run twice (``editorial.prepared``, a connection that broke under it), the second run writes
    nothing: the e-mails are then claimed one by one, and one the first run claimed waits for
    its lease, as after a worker that died.
    """
    statement, params = people_query(event) or (NOBODY, [])
    is_digest = event.kind == EventKind.DIGEST
    now = _now()
    by_mail = "email <> ''" if is_digest else "email <> '' AND NOT wants_digest"
    inbox = "" if is_digest else "SELECT id, %s, %s, 0, NULL::timestamptz, %s::timestamptz FROM people UNION ALL "
    rows = prepared.run(
        f"WITH live AS (SELECT 1 FROM {_table(Event)} WHERE id = %s AND status = %s), "  # noqa: S608
        f"people AS ({statement} AND EXISTS (SELECT 1 FROM live)), "
        f"first AS (SELECT min(id) AS id FROM people WHERE {by_mail}), "
        f"written AS (INSERT INTO {_table(Notification)} (event_id, recipient_id, channel, status, attempts, "
        "claimed_at, sent_at, created_at, last_error) "
        f"SELECT %s, r.*, %s::timestamptz, '' FROM ({inbox}"
        f"SELECT p.id, %s, CASE WHEN NOT ({by_mail}) THEN %s WHEN p.id = f.id THEN %s ELSE %s END, "
        "CASE WHEN p.id = f.id THEN 1 ELSE 0 END, CASE WHEN p.id = f.id THEN %s::timestamptz END, NULL::timestamptz "
        "FROM people p, first f WHERE p.email <> '') r "
        "ON CONFLICT (event_id, recipient_id, channel) DO NOTHING RETURNING id, recipient_id, status) "
        "SELECT EXISTS (SELECT 1 FROM live), "
        "(SELECT json_agg(json_build_array(id, username, email, first_name, last_name, wants_digest) ORDER BY id) "
        "FROM people), (SELECT json_agg(json_build_array(id, recipient_id, status)) FROM written), "
        f"EXISTS (SELECT 1 FROM {_table(Webhook)} w WHERE w.is_active AND w.kinds @> jsonb_build_array(%s::text)), "
        "set_config('synchronous_commit', 'off', true)",
        [event.pk, Event.Status.PENDING, *params, event.pk, now]
        + ([INBOX, N.SENT, now] if not is_digest else [])
        + [EMAIL, N.DIGEST, N.SENDING, N.PENDING, now, event.kind],
    )
    live, found, written, hooked, _ = rows[0]
    people = {}
    for pk, username, email, first_name, last_name, wants_digest in _json(found) or []:
        fields = {"id": pk, "username": username, "email": email, "first_name": first_name, "last_name": last_name}
        person = handover.loaded(User, fields)
        person.wants_digest = wants_digest
        people[pk] = person
    written = _json(written) or []
    claimed = next(((pk, people[recipient]) for pk, recipient, status in written if status == N.SENDING), None)
    pending = sum(status == N.PENDING for _, _, status in written)
    return FanOut(bool(written), claimed, pending, people, live=live, webhooks=hooked)


def _json(value):
    """A json column as Python (psycopg decodes ``json``; Django leaves ``jsonb`` as text)."""
    return json.loads(value) if isinstance(value, str) else value


# The worker's path, from an event to e-mails sent, is written in SQL. For an event with one
# e-mail on PostgreSQL it is two statements, two round trips, two commits (one that need not
# wait for the disk): the fan-out (``_fan_out_in_one``: the event still pending, its
# recipients, the deliveries, whether a webhook wants it) and, after the send, the mark with
# the event's end (``_mark_sent_and_finish``); the relay's claim carries the event
# (``editorial.notifications.handover``), and the SMTP conversation is two round trips more
# (``editorial.notifications.smtp``). Built by the ORM, each statement cost 1 to 3 ms of
# Python on the project's machine, three times the database's own work, and the path must stay
# within 2.5 times a bare one-way Celery hop (bench/notifications.py). The round trips are
# counted in tests/editorial/notifications/test_handover.py; tests run the path on SQLite and
# PostgreSQL alike (test_delivery.py, test_faults.py).


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
    """The event as it stands, with what its templates show of the article and of the actor (one query).

    For a message that carries only the event's id (``editorial.notifications.handover``).
    """
    rows = _sql(
        f"SELECT e.status, {handover.columns('e')} FROM {_table(Event)} e {handover.joins('e')} WHERE e.id = %s",  # noqa: S608
        [event_id],
    )
    if not rows:
        return None
    status, *row = rows[0]
    event = handover.event_from(event_id, handover.snapshot(row))
    event.status = status
    return event


def _claim_next(event_id: int, tried: set[int], people: dict) -> tuple[int, object] | None:
    """Take one of this event's e-mails that is due and free, just before sending it.

    Pending and failed ones are due (a failed one waits for the task's retry: ``tried`` holds
    those this call has handled); one still ``sending`` after the lease was interrupted (its
    worker died) and is taken again. On PostgreSQL a row another worker is claiming is
    skipped (SKIP LOCKED); SQLite has one writer at a time. Returns ``(id, recipient)`` or
    None; the recipient comes from ``people`` (id -> user) when there, else from the database.
    """
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    stale = connection.ops.adapt_datetimefield_value(timezone.now() - claim_timeout())
    skip = f" AND id NOT IN ({', '.join(['%s'] * len(tried))})" if tried else ""
    table = _table(Notification)
    taken = _sql(
        f"UPDATE {table} SET status = %s, claimed_at = %s, attempts = attempts + 1 WHERE id = ("  # noqa: S608
        f"SELECT id FROM {table} WHERE event_id = %s AND channel = %s AND "
        f"(status IN (%s, %s) OR (status = %s AND claimed_at < %s)){skip} ORDER BY id LIMIT 1{lock}) "
        "RETURNING id, recipient_id",
        [N.SENDING, _now(), event_id, EMAIL, N.PENDING, N.FAILED, N.SENDING, stale, *sorted(tried)],
    )
    if not taken:
        return None
    delivery_id, recipient_id = taken[0]
    recipient = people.get(recipient_id) or User.objects.get(pk=recipient_id)
    return delivery_id, recipient


def _send(event: Event, delivery_id: int, recipient) -> str:
    """Render and send one e-mail; returns the error ("" when the server accepted it)."""
    try:
        smtp.send(render(Notification(pk=delivery_id, event=event, recipient=recipient)))
    except Exception as exc:  # noqa: BLE001 - recorded on the delivery, retried, then dead
        log.warning("Delivery %s failed: %s", delivery_id, exc)
        return f"{type(exc).__name__}: {exc}"[:2000] or "failed"
    return ""


def _mark(event: Event, delivery_id: int, error: str) -> None:
    """Record how one send ended; a sent digest also marks the notifications it gathered."""
    table = _table(Notification)
    if error:
        _sql(f"UPDATE {table} SET status = %s, last_error = %s WHERE id = %s", [N.FAILED, error, delivery_id])  # noqa: S608
        return
    now = _now()
    _sql(f"UPDATE {table} SET status = %s, sent_at = %s, last_error = '' WHERE id = %s", [N.SENT, now, delivery_id])  # noqa: S608
    if event.kind == EventKind.DIGEST:
        _sql(
            f"UPDATE {table} SET status = %s, sent_at = %s WHERE status = %s AND digest_id IN "  # noqa: S608
            f"(SELECT id FROM {_table(Digest)} WHERE event_id = %s)",
            [N.SENT, now, N.DIGEST, event.pk],
        )


def deliver(event_id: int, handed: dict | None = None) -> None:
    """Deliver an event to each recipient once. Safe to run again, and in several workers at once.

    ``handed`` is what the relay read of the event when it claimed it
    (``editorial.notifications.handover``); without it (a message that carries only the id)
    the event is read here. For an event with one e-mail on PostgreSQL: the deliveries written
    in one statement (the e-mail already claimed), the message sent, then its mark and the
    event's end in one commit. With more, each next e-mail is claimed in the commit that marks
    the previous one. An event already done gets nothing. Raises ``DeliveryIncomplete`` when
    an e-mail failed (the task retries it with backoff) or is still held by another worker
    (which may have died: its lease then runs out), or when a webhook delivery failed
    (``editorial.notifications.webhooks``: posted after the e-mails).
    """
    if handed is None:
        event = _event(event_id)
        if event is None or event.status == Event.Status.DONE:
            return
    else:
        event = handover.event_from(event_id, handed)
    fresh, current, left, people, live, wanted = fan_out(event)
    if not live:
        return
    # Before any mark: the event is not done while a webhook waits.
    hooks = webhooks.fan_out(event, people) if wanted else 0
    if not fresh:  # written before: a retry, a redelivery, or a worker that died
        current = _claim_next(event_id, set(), people)
    tried: set[int] = set()
    done = None
    while current is not None:
        delivery_id, recipient = current
        tried.add(delivery_id)
        error = _send(event, delivery_id, recipient)
        if fresh and left <= 0 and not error and event.kind != EventKind.DIGEST and _one_statement_marks():
            done = _mark_sent_and_finish(event_id, delivery_id)
            break
        with transaction.atomic(savepoint=False):  # the mark, then the next claim or the event's end
            _mark(event, delivery_id, error)
            # A fresh fan-out knows how many e-mails it wrote; otherwise claim until none is due.
            current = _claim_next(event_id, tried, people) if (left > 0 or not fresh) else None
            left -= 1
            if current is None:
                done = _finish(event_id)
    if hooks or not fresh:
        webhooks.deliver_due(event)
        done = None
    if done is None:
        done = _finish(event_id)
    if not done:
        raise DeliveryIncomplete(f"deliveries of event {event_id} are not all done yet")


def _finish(event_id: int) -> bool:
    """Mark the event done unless an e-mail or a webhook delivery of it still waits (digests travel on their own).

    Returns whether the event is done. May run twice: the second run finds it done.
    """
    finished = prepared.run(
        f"UPDATE {_table(Event)} SET status = %s, done_at = %s WHERE id = %s AND status = %s "  # noqa: S608
        f"AND NOT EXISTS (SELECT 1 FROM {_table(Notification)} n WHERE n.event_id = %s AND n.channel = %s "
        "AND n.status IN (%s, %s, %s)) "
        f"AND NOT EXISTS (SELECT 1 FROM {_table(WebhookDelivery)} w WHERE w.event_id = %s "
        "AND w.status IN (%s, %s, %s)) RETURNING id",
        [Event.Status.DONE, _now(), event_id, Event.Status.PENDING, event_id, EMAIL, N.PENDING, N.FAILED, N.SENDING]
        + [event_id, N.PENDING, N.FAILED, N.SENDING],
    )
    return bool(finished) or Event.objects.filter(pk=event_id, status=Event.Status.DONE).exists()


def _one_statement_marks() -> bool:
    return connection.vendor == "postgresql"


def _mark_sent_and_finish(event_id: int, delivery_id: int) -> bool:
    """PostgreSQL: the last e-mail's mark and the event's end in one statement, one commit.

    The CTE's UPDATE is not visible to the outer statement's snapshot, so the row being
    marked is left out of the "still waiting" test by its id. Returns whether the event is done.
    Run twice, it marks the same row again and finds the event done.
    """
    n, e = _table(Notification), _table(Event)
    now = _now()
    finished = prepared.run(
        f"WITH marked AS (UPDATE {n} SET status = %s, sent_at = %s, last_error = '' WHERE id = %s RETURNING id) "  # noqa: S608
        f"UPDATE {e} SET status = %s, done_at = %s WHERE id = %s AND status = %s AND EXISTS (SELECT 1 FROM marked) "
        f"AND NOT EXISTS (SELECT 1 FROM {n} x WHERE x.event_id = %s AND x.channel = %s AND x.id <> %s "
        "AND x.status IN (%s, %s, %s)) "
        f"AND NOT EXISTS (SELECT 1 FROM {_table(WebhookDelivery)} w WHERE w.event_id = %s "
        "AND w.status IN (%s, %s, %s)) RETURNING id",
        [N.SENT, now, delivery_id, Event.Status.DONE, now, event_id, Event.Status.PENDING]
        + [event_id, EMAIL, delivery_id, N.PENDING, N.FAILED, N.SENDING]
        + [event_id, N.PENDING, N.FAILED, N.SENDING],
    )
    return bool(finished) or Event.objects.filter(pk=event_id, status=Event.Status.DONE).exists()


def give_up(event_id: int) -> int:
    """After the last retry: failed deliveries (e-mail, webhooks) go to the dead letters, for an admin to retry."""
    dead = Notification.objects.filter(event_id=event_id, channel=EMAIL, status=N.FAILED).update(status=N.DEAD)
    dead += webhooks.give_up(event_id)
    _finish(event_id)
    return dead


def retry_dead(notification_ids) -> list[int]:
    """Put dead deliveries back in the queue (the admin's "retry" action); returns their events.

    The events wait for the relay again (their ``relayed_at`` emptied, which on PostgreSQL
    wakes it at commit): nothing is published from the admin's request.
    """
    with transaction.atomic():
        dead = Notification.objects.filter(pk__in=list(notification_ids), status=N.DEAD)
        event_ids = sorted(set(dead.values_list("event_id", flat=True)))
        dead.update(status=N.PENDING, last_error="")
        Event.objects.filter(pk__in=event_ids).update(status=Event.Status.PENDING, done_at=None, relayed_at=None)
    return event_ids
