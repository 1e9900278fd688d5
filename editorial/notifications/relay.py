"""The relay: committed outbox events handed to Celery, outside any web request.

Services only write an event row in their transaction (``editorial.workflow.events``). This
process (``manage.py run_relay``) takes the rows that wait, hands each to the delivery task by
its registered name, with what the worker needs of it (``editorial.notifications.handover``:
the worker then writes the deliveries without reading the event), and stamps ``relayed_at``.
A broker that is frozen or down therefore costs the relay a socket timeout and a retry, never
a page.

- **Waking.** On PostgreSQL it listens on ``editorial_events``: a trigger on the event table
  sends ``NOTIFY`` as the writing transaction commits (never for a rollback), carrying what
  the worker needs of the event (editorial/migrations/0021), so the relay wakes within a
  millisecond of the commit and publishes the event at once, before any statement of its own;
  it stamps ``relayed_at`` after, when no more notifications come (``_Published``). It also
  claims every ``EDITORIAL_RELAY_POLL_SECONDS`` what no notification brought (one missed
  while reconnecting, or too large to carry). On SQLite (the embedded default) it claims every
  ``EDITORIAL_RELAY_SQLITE_POLL_SECONDS``.
- **Several relays.** On PostgreSQL one of them is the leader (the holder of a session
  advisory lock, ``LEADER_LOCK``, on its LISTEN connection): only the leader publishes from
  notifications. The others claim, on their poll, only events older than
  ``EDITORIAL_RELAY_GRACE_SECONDS`` that nobody stamped, and take the lock when the leader's
  connection ends (PostgreSQL releases it with the session). A claim is one ``UPDATE … WHERE id
  IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING …``: two relays never claim the same row
  (SQLite has one writer at a time).
- **Failures.** Events the broker did not take are put back (``relayed_at`` emptied, or never
  stamped) and the relay backs off, up to ``EDITORIAL_RELAY_BACKOFF_MAX_SECONDS``. A relay
  killed between its claim and its publish leaves rows stamped but never published: the
  beat's requeue (``editorial.notifications.outbox``) hands them over; one killed between a
  publish and its stamp leaves them to the next claim. Handing an event over twice costs a
  task, never an e-mail: delivery is idempotent (``editorial.notifications.delivery``).
"""

import contextlib
import json
import logging
import threading
import time
from typing import NamedTuple

from celery import current_app
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from editorial import prepared
from editorial.models import Event
from editorial.notifications import handover

log = logging.getLogger(__name__)

#: The PostgreSQL channel the event table's trigger notifies (editorial/migrations/0007).
CHANNEL = "editorial_events"
#: The delivery task's registered name (``editorial.notifications.tasks.deliver_event``).
DELIVER_EVENT_TASK = "editorial.tasks.deliver_event"
#: The session advisory lock held by the leading relay's LISTEN connection (any fixed bigint:
#: the bytes of "relay").
LEADER_LOCK = int.from_bytes(b"relay")
#: Seconds the leader waits for more notifications before it stamps what it published.
QUIET_SECONDS = 0.02


class BrokerUnavailable(Exception):
    """The broker refused or timed out a publish; the events not handed over wait again.

    ``handed`` says how many of the batch the broker took before it failed.
    """

    def __init__(self, message: str, *, handed: int) -> None:
        super().__init__(message)
        self.handed = handed


def _table() -> str:
    return connection.ops.quote_name(Event._meta.db_table)


def waiting() -> bool:
    """Whether any committed event waits for the relay (a read: takes no write lock on SQLite)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {_table()} WHERE status = %s AND relayed_at IS NULL LIMIT 1",  # noqa: S608
            [Event.Status.PENDING],
        )
        return cursor.fetchone() is not None


class Claim(NamedTuple):
    """What ``claim`` took: the event ids (ascending), the stamp written, and each event's snapshot."""

    ids: list[int]
    stamp: object
    handed: dict  # event id -> handover.snapshot, the task's second argument


def claim(limit: int, *, older_than: float = 0.0) -> Claim:
    """Stamp up to ``limit`` waiting events as this relay's, oldest first, with what the worker needs.

    ``older_than`` (seconds, PostgreSQL only): leave events younger than that to the leading
    relay, which publishes them from their notifications. Returns their ids (ascending), the
    stamp written (the database's value, for ``release``) and each event's columns for the
    worker (``editorial.notifications.handover``). On PostgreSQL one statement, prepared (the
    stamp's UPDATE in a CTE, joined to the article and the actor; ``editorial.prepared``),
    and rows another relay is claiming are skipped (SKIP LOCKED); a row it claimed and
    committed no longer matches ``relayed_at IS NULL``. On SQLite (one writer at a time) the
    stamp, then a read of what it took. Run twice (``editorial.prepared``, a connection that
    broke under it): a first run that committed left its events stamped and unpublished, for
    the beat's requeue (after ten times ``EDITORIAL_EVENT_REQUEUE_AFTER``), as a relay killed
    after its claim does.
    """
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    postgres = connection.features.has_select_for_update_skip_locked
    lock = " FOR UPDATE SKIP LOCKED" if postgres else ""
    young = " AND created_at <= clock_timestamp() - make_interval(secs => %s)" if postgres else ""
    table = _table()
    stamping = (
        f"UPDATE {table} SET relayed_at = %s WHERE id IN (SELECT id FROM {table} "  # noqa: S608
        f"WHERE status = %s AND relayed_at IS NULL{young} ORDER BY id LIMIT %s{lock}) "
    )
    if postgres:
        rows = prepared.run(
            f"WITH e AS ({stamping}RETURNING id, kind, payload, article_id, actor_id) "  # noqa: S608
            f"SELECT {handover.columns('e')} FROM e {handover.joins('e')} ORDER BY e.id",
            [stamp, Event.Status.PENDING, float(older_than), limit],
        )
    else:
        with connection.cursor() as cursor:
            cursor.execute(f"{stamping}RETURNING id", [stamp, Event.Status.PENDING, limit])
            ids = [row[0] for row in cursor.fetchall()]
            rows = []
            if ids:
                cursor.execute(
                    f"SELECT {handover.columns('e')} FROM {table} e {handover.joins('e')} "  # noqa: S608
                    f"WHERE e.id IN ({', '.join(['%s'] * len(ids))}) ORDER BY e.id",
                    ids,
                )
                rows = cursor.fetchall()
    return Claim([row[0] for row in rows], stamp, {row[0]: handover.snapshot(row) for row in rows})


def release(event_ids: list[int], stamp) -> None:
    """Put back events this relay claimed (with ``stamp``) but could not hand over."""
    if not event_ids:
        return
    marks = ", ".join(["%s"] * len(event_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_table()} SET relayed_at = NULL WHERE relayed_at = %s AND id IN ({marks})",  # noqa: S608
            [stamp, *event_ids],
        )


def publish(event_ids: list[int], handed: dict | None = None) -> int:
    """Hand each event to the delivery task, in order, over one broker connection.

    ``handed`` (event id -> ``handover.snapshot``) goes with each event it holds, as the task's
    second argument; an event without one is handed over by its id alone (the worker reads it).
    Returns how many were handed over; raises ``BrokerUnavailable`` at the first refusal or
    timeout (``CELERY_BROKER_TRANSPORT_OPTIONS`` bound it; publishes are not retried here).
    """
    app = current_app
    handed = handed or {}
    done = 0
    try:
        with app.producer_or_acquire() as producer:
            for event_id in event_ids:
                args = [event_id, handed[event_id]] if event_id in handed else [event_id]
                app.send_task(DELIVER_EVENT_TASK, args=args, producer=producer, retry=False)
                done += 1
    except Exception as exc:  # kombu and redis-py raise a dozen kinds; all mean "not taken"
        raise BrokerUnavailable(f"the broker took {done} of {len(event_ids)} events: {exc!r}", handed=done) from exc
    return done


def relay_once(limit: int = 100, *, older_than: float = 0.0) -> list[int]:
    """Claim and hand over one batch of waiting events; returns the ids that went to the broker.

    ``older_than`` as for ``claim``. Raises ``BrokerUnavailable`` after putting back the
    events the broker did not take.
    """
    event_ids, stamp, snapshots = claim(limit, older_than=older_than)
    if not event_ids:
        return []
    try:
        publish(event_ids, snapshots)
    except BrokerUnavailable as exc:
        release(event_ids[exc.handed :], stamp)
        raise
    log.debug("Relay handed over %d events (%d to %d)", len(event_ids), event_ids[0], event_ids[-1])
    return event_ids


def from_notifications(payloads: list[str]) -> tuple[dict, bool]:
    """What the leader can publish from notifications' payloads, and whether some need a claim.

    Returns ``(handed, claim)``: event id -> ``handover.snapshot`` for each payload that
    carries the event (a JSON array of ``handover.columns``, editorial/migrations/0021), and
    True when some payload carries only an id (too large to carry, or an event put back in
    the queue) or nothing this code reads: those events are left to ``claim``.
    """
    handed, rest = {}, False
    for payload in payloads:
        try:
            row = json.loads(payload)
        except ValueError:
            row = None
        if isinstance(row, list) and len(row) == handover.WIDTH and isinstance(row[0], int):
            handed[row[0]] = handover.snapshot(row)
        else:
            rest = True
    return handed, rest


class _Listener:
    """PostgreSQL: a connection of the relay's own, for the leader's lock and its LISTEN.

    Notifications wait in its socket (and in psycopg's backlog while it runs a statement)
    until ``wait`` reads them. PostgreSQL releases the lock when the connection ends, for
    whichever relay asks next.
    """

    def __init__(self) -> None:
        self.wrapper = None
        self.leader = False

    def lead(self) -> bool:
        """Open the connection if needed and take the leader's lock if free; True if this relay leads.

        The leader LISTENs from the moment it holds the lock: every commit after it wakes ``wait``.
        """
        if self.wrapper is None:
            self.wrapper = connections.create_connection("default")
            self.wrapper.ensure_connection()
            self.leader = False
        if not self.leader:
            pg = self.wrapper.connection
            self.leader = bool(pg.execute("SELECT pg_try_advisory_lock(%s)", [LEADER_LOCK]).fetchone()[0])
            if self.leader:
                pg.execute(f"LISTEN {CHANNEL}")
                log.info("Relay: leading (publishing each event from its notification)")
        return self.leader

    def wait(self, seconds: float) -> list[str]:
        """The payloads of the notifications that came within ``seconds``, and of those behind them."""
        first = [note.payload for note in self.wrapper.connection.notifies(timeout=seconds, stop_after=1)]
        return first + self.backlog() if first else []

    def backlog(self) -> list[str]:
        """The payloads of the notifications already waiting (none: an empty list)."""
        payloads: list[str] = []
        while batch := [note.payload for note in self.wrapper.connection.notifies(timeout=0.0)]:
            payloads += batch
        return payloads

    def close(self) -> None:
        if self.wrapper is not None:
            with contextlib.suppress(Exception):  # a connection the server already dropped
                self.wrapper.close()
        self.wrapper = None
        self.leader = False


class _Published:
    """Events the leader handed over from their notifications and has not stamped yet.

    Each is stamped (``relayed_at``) with the moment its notification was read, in one
    statement for all, when no notification came for ``QUIET_SECONDS`` or before any claim
    (which would otherwise hand them over again).
    """

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.stamps: list = []

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, event_ids: list[int], stamp) -> None:
        self.ids += event_ids
        self.stamps += [stamp] * len(event_ids)

    def stamp(self) -> None:
        """Stamp the events held (those a claim took meanwhile keep their claim's stamp)."""
        if not self.ids:
            return
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {_table()} e SET relayed_at = s.at "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::timestamptz[]) AS s(id, at) WHERE e.id = s.id AND e.relayed_at IS NULL",
                [self.ids, self.stamps],
            )
        self.ids, self.stamps = [], []


def run(*, stop: threading.Event, batch: int = 100) -> None:
    """Relay until ``stop`` is set: hand over what waits, then follow notifications, or sleep, until the poll.

    Nothing here raises: a broker or a database that fails (psycopg's own errors from the
    LISTEN connection included) is logged, both connections are dropped, and the relay tries
    again after a backoff of up to ``EDITORIAL_RELAY_BACKOFF_MAX_SECONDS``.
    """
    postgres = connection.vendor == "postgresql"
    listener = _Listener() if postgres else None
    published = _Published()
    poll = settings.EDITORIAL_RELAY_POLL_SECONDS if postgres else settings.EDITORIAL_RELAY_SQLITE_POLL_SECONDS
    backoff = 0.0
    log.info("Relay started (%s)", "LISTEN/NOTIFY" if postgres else f"polling every {poll} s")
    while not stop.is_set():
        try:
            older_than = 0.0
            if postgres:
                # Lead (and LISTEN) before the claim: nothing committed after it goes unnoticed.
                older_than = 0.0 if listener.lead() else settings.EDITORIAL_RELAY_GRACE_SECONDS
                _fast_commits()
                if listener.leader:
                    # Dropped: the claim below takes every event they name. (After a broker
                    # outage they are the backlog of all that waited: published after the
                    # claim, each would go a second time.)
                    listener.backlog()
                published.stamp()
            claimed: set[int] = set()
            while (postgres or waiting()) and not stop.is_set():
                taken = relay_once(batch, older_than=older_than)
                claimed.update(taken)
                if len(taken) < batch:
                    break
            backoff = 0.0
            if listener and listener.leader:
                _follow(stop, listener, published, poll, claimed)
            else:
                stop.wait(poll)
        except Exception as exc:  # noqa: BLE001 - the relay outlives any outage
            backoff = min(max(2 * backoff, 0.25), settings.EDITORIAL_RELAY_BACKOFF_MAX_SECONDS)
            broker = isinstance(exc, BrokerUnavailable)
            log.warning("Relay: %s; trying again in %.2f s", exc, backoff, exc_info=not broker)
            if not broker:  # what was published stays held: stamped on the next pass, before its claim
                _drop(listener)
            stop.wait(backoff)
    with contextlib.suppress(Exception):
        published.stamp()
    _drop(listener)
    log.info("Relay stopped")


def _follow(stop: threading.Event, listener: _Listener, published: _Published, poll: float, claimed: set) -> None:
    """The leader, until the next poll (or ``stop``): publish each event as its notification comes.

    Returns early when a notification carries only an id (the claim that follows takes it).
    Events the last claim took (``claimed``) are not published again. Raises
    ``BrokerUnavailable`` after holding for their stamp the events the broker took.
    """
    deadline = time.monotonic() + poll
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        payloads = listener.wait(min(left, QUIET_SECONDS if published else 1.0))
        if not payloads:
            published.stamp()
            continue
        woken = connection.ops.adapt_datetimefield_value(timezone.now())
        handed, rest = from_notifications(payloads)
        event_ids = [event_id for event_id in handed if event_id not in claimed]
        try:
            publish(event_ids, handed)
        except BrokerUnavailable as exc:
            published.add(event_ids[: exc.handed], woken)
            raise
        published.add(event_ids, woken)
        log.debug("Relay handed over %d events from their notifications", len(event_ids))
        if rest:
            return
        if len(published) >= 100:
            published.stamp()


def _drop(listener: _Listener | None) -> None:
    """Close both connections; the next pass opens them again."""
    with contextlib.suppress(Exception):
        connection.close()
    if listener:
        listener.close()


#: The connection ``_fast_commits`` set up last (Django's connections are per thread, and so is this).
_set_up = threading.local()


def _fast_commits() -> None:
    """The relay's stamps need no disk flush: a stamp lost in a crash only means one more hand-over.

    Set on each new connection: after ``_drop``, or after ``editorial.prepared`` replaced the
    one on which the server no longer ran the prepared claim.
    """
    connection.ensure_connection()
    if getattr(_set_up, "connection", None) is connection.connection:
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    _set_up.connection = connection.connection
