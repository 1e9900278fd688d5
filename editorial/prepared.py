"""Hand-written statements on the notification path, prepared once per connection on PostgreSQL.

Django's PostgreSQL backend binds parameters on the client and never prepares (its default
``server_side_binding`` off, ``prepare_threshold`` None), so PostgreSQL parses and plans every
statement anew. For the relay's claim and the worker's fan-out and mark (statements of several
CTEs) planning was half of the database's work: 0.25 to 0.35 ms of each, on every event.
``run`` sends one such statement with server-side binding and ``prepare=True``: psycopg
prepares it on the connection at its first execution (one round trip more, once) and runs the
prepared plan after (https://www.psycopg.org/psycopg3/docs/advanced/prepare.html). The rest of
the project keeps Django's client-side binding, which never prepares.

psycopg prepares nothing on a connection whose ``prepare_threshold`` is None, Django's
default: the settings give it psycopg's own default (5) instead, which changes nothing for
Django's cursors; ``EDITORIAL_PREPARED_STATEMENTS=false`` leaves it None, and nothing is
prepared (behind a PgBouncer older than 1.21 in transaction pooling).

A statement psycopg prepared can stop working on its connection while psycopg still holds
its name: the server forgot it (a pooler's ``DISCARD ALL`` behind the client's back), or a
migration changed the type of a column it returns ("cached plan must not change result
type"). Nothing ran then; outside a transaction ``run`` drops the connection, its statements
with it, and runs the statement once more on a new one. (Inside one, the error goes up: the
rollback that follows makes psycopg forget every statement it prepared, and the next
attempt prepares them again.) Otherwise the connection would fail each use until closed, and
the mark after a sent e-mail would be lost, sending it again when its claim runs out.

A connection found broken (the server restarted, or dropped it while idle) is handled the
same way, outside a transaction: so ``run`` skips Django's health check (``CONN_HEALTH_CHECKS``:
a ``SELECT 1`` round trip before the first statement of each task, a fifth of the worker's
database time per e-mail). The statement may then have run before the connection broke: only
statements that may run twice belong here (each one's own docstring says why it may).

Only statements of a fixed text belong here (psycopg keeps up to ``prepared_max`` of them per
connection, 100 by default, and drops the least used). Behind PgBouncer in transaction
pooling, prepared statements need PgBouncer 1.21 or later with ``max_prepared_statements`` set
(docs/deploy.md). On SQLite ``run`` is a plain execute.
"""

import logging

import psycopg
from django.db import DatabaseError, connection
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

log = logging.getLogger(__name__)


def run(statement: str, params: list) -> list[tuple]:
    """Execute ``statement`` (``%s`` placeholders) with ``params`` on the default connection; its rows, or [].

    On PostgreSQL the statement is prepared at its first execution on this connection and
    reused after; Django's error wrapping and query log apply as to any cursor. In
    autocommit, a statement the server no longer runs as prepared, or whose connection is
    found broken, is run once more on a new connection (see above), in place of Django's
    health check before it. Raises what ``cursor.execute`` raises (``django.db.DatabaseError``
    and its kinds).
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else []
    outside = not connection.in_atomic_block and connection.get_autocommit()
    if outside:
        connection.health_check_done = True  # a broken connection is replaced below instead
    try:
        return _run(statement, params)
    except DatabaseError as exc:
        if not outside or not (_forgotten(exc) or _broken()):
            raise
        log.warning("Prepared statement failed on this connection (%s): running it on a new one", exc)
        connection.close()
        return _run(statement, params)


def _run(statement: str, params: list) -> list[tuple]:
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    wrapper = CursorDebugWrapper if connection.queries_logged else CursorWrapper
    with connection.wrap_database_errors, wrapper(_PreparedCursor(connection.connection), connection) as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def _broken() -> bool:
    """Whether the connection broke under the statement (psycopg: interrupted, not closed by us)."""
    return connection.connection is None or connection.connection.broken


def _forgotten(exc: DatabaseError) -> bool:
    """Whether the server refused a statement prepared on this connection as it stands now (nothing ran)."""
    cause = exc.__cause__
    if isinstance(cause, psycopg.errors.InvalidSqlStatementName):  # 26000: not (or no longer) prepared
        return True
    replanned = "cached plan must not change result type"  # 0A000, raised before the statement runs
    return isinstance(cause, psycopg.errors.FeatureNotSupported) and replanned in str(cause)


class _PreparedCursor(psycopg.Cursor):
    """Server-side binding, every statement prepared at its first execution (``prepare=True``).

    Unless the connection's ``prepare_threshold`` is None: psycopg then prepares nothing.
    """

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)
