"""What the relay hands the worker with an event's id, and the worker's common path in round trips.

The relay's claim carries the event's columns (``editorial.notifications.handover``); the
worker then writes the deliveries without reading the event. Messages with the id alone
(queued before, or by the beat's requeue) still deliver; a message redelivered after the
event is done sends nothing, whatever changed since. On PostgreSQL the round trips of the
worker's path are counted on the wire (libpq's trace: one ``ReadyForQuery`` per round trip).
"""

import contextlib
import json
import tempfile

import pytest
from django.conf import settings
from django.core import mail
from django.db import close_old_connections, connection

from editorial.models import Event, EventKind, Notification
from editorial.notifications import delivery, handover, relay, tasks
from editorial.notifications.emails import render
from editorial.workflow import services
from editorial.workflow.permissions import Role
from tests.factories import UserFactory, make_article

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="counts PostgreSQL's round trips")
#: The round trip more that a prepared statement's first use costs on a connection: none when
#: the run has ``EDITORIAL_PREPARED_STATEMENTS=false`` (nothing is prepared).
PREPARING = int(settings.DATABASES["default"].get("OPTIONS", {}).get("prepare_threshold") is not None)


def handed_over(event_id: int) -> dict:
    """What the relay publishes with ``event_id``, through JSON as Celery's serializer sends it."""
    claim = relay.claim(100)
    return json.loads(json.dumps(claim.handed[event_id]))


def submitted(author) -> Event:
    article = services.article_submit(article=make_article(author), actor=author, reason="Please review")
    return Event.objects.get(article=article)


@contextlib.contextmanager
def round_trips():
    """Count this connection's round trips to PostgreSQL in the block: ``with round_trips() as count: ... count()``."""
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile() as trace:
        pgconn.trace(trace.fileno())
        counted = []
        try:
            yield lambda: counted[0]
        finally:
            pgconn.untrace()
            trace.seek(0)
            counted.append(trace.read().decode().count("\tReadyForQuery\t"))


@pytest.mark.django_db
def test_the_handed_event_renders_as_the_read_one_without_a_query(in_state, author, editor, django_assert_num_queries):
    article = in_state("ready")
    services.article_request_changes(article=article, actor=editor, reason="Tighten the doses.")
    event_id = Event.objects.get(article=article, kind=EventKind.DECISION).pk
    handed = handed_over(event_id)
    read = render(Notification(pk=1, event=delivery._event(event_id), recipient=author))
    with django_assert_num_queries(0):  # nothing the templates show is left deferred
        message = render(Notification(pk=1, event=handover.event_from(event_id, handed), recipient=author))
    assert (message.subject, message.body, message.alternatives, message.extra_headers) == (
        read.subject,
        read.body,
        read.alternatives,
        read.extra_headers,
    )
    assert "Tighten the doses." in message.body
    delivery.deliver(event_id, handed)
    assert [m.to for m in mail.outbox] == [[author.email]]
    assert Event.objects.get(pk=event_id).status == Event.Status.DONE


@pytest.mark.django_db
def test_a_message_with_the_id_alone_still_delivers(author, editor):
    event = submitted(author)
    tasks.deliver_event(event.pk)  # the task's body, as for a message queued before the relay handed columns over
    assert [m.to for m in mail.outbox] == [[editor.email]]
    assert Event.objects.get(pk=event.pk).status == Event.Status.DONE


@pytest.mark.django_db
def test_a_redelivered_message_for_a_done_event_sends_nothing_even_to_someone_new(author, editor):
    event = submitted(author)
    handed = handed_over(event.pk)
    tasks.deliver_event(event.pk, handed)
    assert [m.to for m in mail.outbox] == [[editor.email]]
    UserFactory(username="editor3", email="editor3@example.org", roles=[Role.EDITOR])  # joined since
    tasks.deliver_event(event.pk, handed)  # the broker hands the same message over again
    tasks.deliver_event(event.pk)
    assert len(mail.outbox) == 1
    assert Notification.objects.filter(event=event).count() == 2  # the first editor's inbox entry and e-mail


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_workers_common_path_is_two_round_trips_and_the_mark_is_durable(in_state, author, editor):
    """A decision, one e-mail: the deliveries in one statement, the send, the mark with the event's end.

    The fan-out's commit does not wait for the disk; the mark's does (the session keeps
    ``synchronous_commit`` on: the fan-out turned it off for its own transaction only). The
    three statements are prepared on the connection (``editorial.prepared``): their first
    use costs one round trip more each, once; the counts are those of every later event.
    """
    connection.close()  # a connection of its own: nothing prepared on it yet
    counts = []
    for _ in range(2):
        article = in_state("ready")
        services.article_request_changes(article=article, actor=editor, reason="Tighten the doses.")
        Event.objects.exclude(kind=EventKind.DECISION).update(status=Event.Status.DONE)
        event = Event.objects.get(article=article, kind=EventKind.DECISION, status=Event.Status.PENDING)
        with round_trips() as claim:
            handed = handed_over(event.pk)
        with round_trips() as worker:
            close_old_connections()  # the task's start: no health check follows (editorial.prepared)
            delivery.deliver(event.pk, handed)
        counts.append((claim(), worker()))
    # the relay's claim with what the worker needs; the fan-out and the mark
    assert counts == [(1 + PREPARING, 2 + 2 * PREPARING), (1, 2)]
    assert [m.to for m in mail.outbox] == [[author.email]] * 2
    assert Event.objects.get(pk=event.pk).status == Event.Status.DONE
    email = Notification.objects.get(event=event, channel=Notification.Channel.EMAIL)
    assert (email.status, email.attempts) == (Notification.Status.SENT, 1)
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_event_for_two_people_writes_both_in_the_one_statement(author, editor, second_editor):
    """The rows ``fan_out`` writes on PostgreSQL are those of the row-by-row rules: the first e-mail claimed."""
    first, event = submitted(author), submitted(author)
    handed = json.loads(json.dumps(relay.claim(100).handed))  # both events, as Celery's serializer sends them
    handed = {int(pk): columns for pk, columns in handed.items()}
    connection.close()  # a connection of its own: the statement's first use prepares it (one round trip more)
    counts = []
    for each in (first, event):
        with round_trips() as fan_out:
            written = delivery.fan_out(handover.event_from(each.pk, handed[each.pk]))
        counts.append(fan_out())
    assert counts == [1 + PREPARING, 1]
    fresh, claimed, pending, people, live, wanted = written
    assert (fresh, pending, live, wanted) == (True, 1, True, False)
    assert sorted(people) == sorted([editor.pk, second_editor.pk])
    rows = Notification.objects.filter(event=event).order_by("recipient_id", "channel")
    first = min(editor.pk, second_editor.pk)
    assert claimed[0] == rows.get(recipient_id=first, channel=Notification.Channel.EMAIL).pk
    assert sorted((r.recipient_id, r.channel, r.status, r.attempts) for r in rows) == sorted(
        [
            (editor.pk, "inbox", "sent", 0),
            (second_editor.pk, "inbox", "sent", 0),
            (first, "email", "sending", 1),
            (max(editor.pk, second_editor.pk), "email", "pending", 0),
        ]
    )


@pytest.mark.django_db
def test_an_editor_who_wrote_the_article_hears_nothing_of_its_board(editor, reviewers):
    """The editors' query inside the fan-out's statement still leaves out the article's author."""
    from editorial.workflow import board

    writer = UserFactory(username="writer", email="writer@example.org", roles=[Role.EDITOR, Role.AUTHOR])
    article = services.article_submit(article=make_article(writer), actor=writer)
    invitation = board.invitation_create(article=article, actor=editor, reviewers=reviewers[:1])[0]
    board.invitation_decline(invitation=invitation, actor=reviewers[0], reason="On leave")
    declined = Event.objects.get(article=article, kind=EventKind.DECLINED)
    delivery.deliver(declined.pk, handed_over(declined.pk))
    assert [m.to for m in mail.outbox] == [[editor.email]]
    assert not Notification.objects.filter(event=declined, recipient=writer).exists()
