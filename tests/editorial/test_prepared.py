"""The notification path's prepared statements (``editorial.prepared``) outlive what the server forgets.

A statement psycopg prepared on a connection can stop working there while psycopg still holds
its name: a pooler resetting the server session behind the client's back (``DISCARD ALL``,
which psycopg never sees), or a migration changing the type of a column the statement returns
("cached plan must not change result type"). The next use prepares it again instead of failing
on that connection until it is closed: an e-mail already sent is marked, and is not sent twice.
"""

import json

import pytest
from django.core import mail
from django.db import OperationalError, close_old_connections, connection, connections, transaction

from editorial.models import Event, EventKind, Notification
from editorial.notifications import delivery, relay
from editorial.workflow import services
from tests.factories import make_article

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="prepares on PostgreSQL only")


def claimed() -> dict:
    """The relay's claim of every waiting event, as Celery's serializer hands it to the worker."""
    return {int(pk): columns for pk, columns in json.loads(json.dumps(relay.claim(100).handed)).items()}


def submitted(author) -> Event:
    article = services.article_submit(article=make_article(author), actor=author, reason="Please review")
    return Event.objects.get(article=article)


def forget_prepared_statements() -> None:
    """What a pooler's session reset does: the server drops them, psycopg still holds their names."""
    connection.connection.pgconn.exec_(b"DISCARD ALL")
    assert connection.connection.pgconn.transaction_status == 0  # idle: libpq ran it outside psycopg


@pytest.mark.django_db(transaction=True)
def test_a_session_reset_behind_the_client_costs_a_new_preparation_not_the_delivery(author, editor):
    first = submitted(author)
    delivery.deliver(first.pk, claimed()[first.pk])  # the claim, the fan-out and the mark prepared
    forget_prepared_statements()
    event = submitted(author)
    delivery.deliver(event.pk, claimed()[event.pk])
    assert Event.objects.get(pk=event.pk).status == Event.Status.DONE
    assert [m.to for m in mail.outbox] == [[editor.email]] * 2


@pytest.mark.django_db(transaction=True)
def test_the_mark_after_a_send_is_not_lost_to_a_forgotten_statement(in_state, author, editor):
    """The fan-out of a kind not seen before is prepared afresh; the mark that follows the send is not."""
    article = in_state("ready")
    services.article_request_changes(article=article, actor=editor, reason="Tighten the doses.")
    decision = Event.objects.get(article=article, kind=EventKind.DECISION)
    Event.objects.exclude(pk=decision.pk).update(status=Event.Status.DONE)
    first = submitted(author)
    handed = claimed()
    connection.close()  # a connection of its own: its statements are prepared below
    delivery.deliver(first.pk, handed[first.pk])  # prepares the submission's fan-out and the mark
    forget_prepared_statements()
    mail.outbox.clear()
    delivery.deliver(decision.pk, handed[decision.pk])  # a new fan-out, the message sent, then the mark
    email = Notification.objects.get(event=decision, channel=Notification.Channel.EMAIL)
    assert (email.status, email.attempts) == (Notification.Status.SENT, 1)
    assert Event.objects.get(pk=decision.pk).status == Event.Status.DONE
    assert [m.to for m in mail.outbox] == [[author.email]]


@pytest.mark.django_db(transaction=True)
def test_a_migration_that_changes_a_returned_column_does_not_stop_the_claim(author, editor):
    relay._fast_commits()  # the relay's connection, set up as its loop does
    first = submitted(author)
    delivery.deliver(first.pk, claimed()[first.pk])
    migration = connections.create_connection("default")  # another session, as a deploy's migrate
    try:
        with migration.cursor() as cursor:
            cursor.execute("ALTER TABLE editorial_event ALTER COLUMN kind TYPE varchar(60)")
        event = submitted(author)
        delivery.deliver(event.pk, claimed()[event.pk])  # the claim returns e.kind: its plan's row type changed
    finally:
        with migration.cursor() as cursor:
            cursor.execute("ALTER TABLE editorial_event ALTER COLUMN kind TYPE varchar(40)")
        migration.close()
    assert Event.objects.get(pk=event.pk).status == Event.Status.DONE
    assert [m.to for m in mail.outbox] == [[editor.email]] * 2
    relay._fast_commits()  # the relay's next pass sets up the connection the claim moved to
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("off",)


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_dropped_while_idle_is_replaced_without_a_health_check(author, editor):
    """Before each task Django's health check is due (``close_old_connections``); ``run`` replaces it."""
    first = submitted(author)
    delivery.deliver(first.pk, claimed()[first.pk])
    event = submitted(author)
    handed = claimed()[event.pk]
    dropped = connection.connection.info.backend_pid
    killer = connections.create_connection("default")
    try:
        with killer.cursor() as cursor:  # as a server restart, or a pooler's idle timeout, does
            cursor.execute("SELECT pg_terminate_backend(%s)", [dropped])
    finally:
        killer.close()
    close_old_connections()  # the task's start
    delivery.deliver(event.pk, handed)
    assert connection.connection.info.backend_pid != dropped
    assert Event.objects.get(pk=event.pk).status == Event.Status.DONE
    assert [m.to for m in mail.outbox] == [[editor.email]] * 2


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_a_broken_connection_is_not_run_again(author):
    connection.ensure_connection()
    dropped = connection.connection.info.backend_pid
    killer = connections.create_connection("default")
    try:
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [dropped])
    finally:
        killer.close()
    with pytest.raises(OperationalError), transaction.atomic():
        relay.claim(10)
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_with_prepared_statements_off_nothing_is_prepared_and_the_event_goes(author, editor):
    """``EDITORIAL_PREPARED_STATEMENTS=false`` leaves the connection's threshold None (behind an old PgBouncer)."""
    connection.ensure_connection()
    connection.connection.prepare_threshold = None  # what the setting gives each new connection
    event = submitted(author)
    delivery.deliver(event.pk, claimed()[event.pk])
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone() == (0,)
    assert Event.objects.get(pk=event.pk).status == Event.Status.DONE
    assert [m.to for m in mail.outbox] == [[editor.email]]
