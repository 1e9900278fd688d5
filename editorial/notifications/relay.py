"""The relay: committed outbox events handed to Celery, outside any web request.

Services only write an event row in their transaction (``editorial.workflow.events``). This
process (``manage.py run_relay``) takes the rows that wait, hands each to the delivery task by
its registered name, with what the worker needs of it (``editorial.notifications.handover``:
the worker then writes the deliveries without reading the event), and stamps ``relayed_at``.
A broker that is frozen or down therefore costs the relay a socket timeout and a retry, never
a page.

- **Waking.** On PostgreSQL it listens on ``editorial_events``: a trigger on the event table
  sends ``NOTIFY`` inside the writing transaction, which PostgreSQL delivers at commit (and
  never for a rollback), so the relay wakes within a millisecond of the commit. It also polls
  every ``EDITORIAL_RELAY_POLL_SECONDS`` in case a notification was missed while reconnecting.
  On SQLite (the embedded default) it polls every ``EDITORIAL_RELAY_SQLITE_POLL_SECONDS``.
- **Several relays.** A claim is one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)
  RETURNING …``: two relays never take the same row (SQLite has one writer at a time).
- **Failures.** Events the broker did not take are put back (``relayed_at`` emptied) and the
  relay backs off, up to ``EDITORIAL_RELAY_BACKOFF_MAX_SECONDS``. A relay killed between its
  claim and its publish leaves rows stamped but never published: the beat's requeue
  (``editorial.notifications.outbox``) hands them over. Handing an event over twice costs a
  task, never an e-mail: delivery is idempotent (``editorial.notifications.delivery``).
"""

import contextlib
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


def claim(limit: int) -> Claim:
    """Stamp up to ``limit`` waiting events as this relay's, oldest first, with what the worker needs.

    Returns their ids (ascending), the stamp written (the database's value, for ``release``)
    and each event's columns for the worker (``editorial.notifications.handover``). On
    PostgreSQL one statement, prepared (the stamp's UPDATE in a CTE, joined to the article
    and the actor; ``editorial.prepared``), and rows another relay is claiming are skipped
    (SKIP LOCKED); a row it claimed and committed no longer matches ``relayed_at IS NULL``.
    On SQLite (one writer at a time) the stamp, then a read of what it took.
    """
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    postgres = connection.features.has_select_for_update_skip_locked
    lock = " FOR UPDATE SKIP LOCKED" if postgres else ""
    table = _table()
    stamping = (
        f"UPDATE {table} SET relayed_at = %s WHERE id IN (SELECT id FROM {table} "  # noqa: S608
        f"WHERE status = %s AND relayed_at IS NULL ORDER BY id LIMIT %s{lock}) "
    )
    if postgres:
        rows = prepared.run(
            f"WITH e AS ({stamping}RETURNING id, kind, payload, article_id, actor_id) "  # noqa: S608
            f"SELECT {handover.columns('e')} FROM e {handover.joins('e')} ORDER BY e.id",
            [stamp, Event.Status.PENDING, limit],
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


def relay_once(limit: int = 100) -> int:
    """Claim and hand over one batch of waiting events; returns how many went to the broker.

    Raises ``BrokerUnavailable`` after putting back the events the broker did not take.
    """
    event_ids, stamp, snapshots = claim(limit)
    if not event_ids:
        return 0
    try:
        handed = publish(event_ids, snapshots)
    except BrokerUnavailable as exc:
        release(event_ids[exc.handed :], stamp)
        raise
    log.debug("Relay handed over %d events (%d to %d)", handed, event_ids[0], event_ids[-1])
    return handed


class _Listener:
    """PostgreSQL: a connection of its own that only LISTENs, so no notification is lost.

    (psycopg 3 drops notifications that arrive while its connection runs another statement;
    a connection that runs nothing else keeps them in its socket until ``notifies()`` reads.)
    """

    def __init__(self) -> None:
        self.wrapper = None

    def listen(self) -> None:
        """Subscribe, if not yet: every commit after this wakes ``wait``."""
        if self.wrapper is None:
            self.wrapper = connections.create_connection("default")
            self.wrapper.ensure_connection()
            self.wrapper.connection.execute(f"LISTEN {CHANNEL}")

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for a notification; True if one came. Drains the rest."""
        self.listen()
        pg = self.wrapper.connection
        woken = any(True for _ in pg.notifies(timeout=seconds, stop_after=1))
        if woken:  # those that came meanwhile are covered by the claim that follows
            for _ in pg.notifies(timeout=0.0):
                pass
        return woken

    def close(self) -> None:
        if self.wrapper is not None:
            with contextlib.suppress(Exception):  # a connection the server already dropped
                self.wrapper.close()
        self.wrapper = None


def run(*, stop: threading.Event, batch: int = 100) -> None:
    """Relay until ``stop`` is set: hand over what waits, then sleep until woken or polled.

    Nothing here raises: a broker or a database that fails (psycopg's own errors from the
    LISTEN connection included) is logged, both connections are dropped, and the relay tries
    again after a backoff of up to ``EDITORIAL_RELAY_BACKOFF_MAX_SECONDS``.
    """
    postgres = connection.vendor == "postgresql"
    listener = _Listener() if postgres else None
    poll = settings.EDITORIAL_RELAY_POLL_SECONDS if postgres else settings.EDITORIAL_RELAY_SQLITE_POLL_SECONDS
    backoff = 0.0
    log.info("Relay started (%s)", "LISTEN/NOTIFY" if postgres else f"polling every {poll} s")
    while not stop.is_set():
        try:
            if postgres:
                listener.listen()  # before the pass: nothing committed after it goes unnoticed
                _fast_commits()
            if postgres or waiting():
                while relay_once(batch) == batch and not stop.is_set():
                    pass
            backoff = 0.0
            _sleep(stop, listener, poll)
        except Exception as exc:  # noqa: BLE001 - the relay outlives any outage
            backoff = min(max(2 * backoff, 0.25), settings.EDITORIAL_RELAY_BACKOFF_MAX_SECONDS)
            broker = isinstance(exc, BrokerUnavailable)
            log.warning("Relay: %s; trying again in %.2f s", exc, backoff, exc_info=not broker)
            if not broker:
                _drop(listener)
            stop.wait(backoff)
    _drop(listener)
    log.info("Relay stopped")


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


def _sleep(stop: threading.Event, listener: _Listener | None, poll: float) -> None:
    """Until a notification, the next poll, or ``stop`` (checked at least every second)."""
    deadline = time.monotonic() + poll
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        if listener is None:
            stop.wait(min(left, 1.0))
        elif listener.wait(min(left, 1.0)):
            return
