"""Notifications: who receives what, once; and a real Celery worker delivering them."""

import threading
import time

import pytest
from celery import signals
from celery.contrib.testing.worker import start_worker
from django import db
from django.core import mail
from django.db import transaction

from config.celery import app
from editorial.models import Event, Notification
from editorial.notifications import delivery, relay
from editorial.workflow import services
from editorial.workflow.permissions import Role
from tests.conftest import ALL_TICKED
from tests.factories import UserFactory, make_article, signing_request


@pytest.mark.django_db
def test_submission_reaches_the_editors_but_not_the_author(author, editor, second_editor):
    article = services.article_submit(article=make_article(author), actor=author, reason="Please review")
    event = Event.objects.get(article=article)
    delivery.deliver(event.pk)
    assert sorted(m.to[0] for m in mail.outbox) == ["editor2@example.org", "editor@example.org"]
    message = mail.outbox[0]
    assert message.subject == f"Submitted for review: {article.title}"
    assert f"/admin/articles/article/{article.pk}/change/" in message.body
    assert "Please review" in message.body
    html = message.alternatives[0][0]
    assert article.title in html
    event.refresh_from_db()
    assert event.status == Event.Status.DONE


@pytest.mark.django_db
def test_an_editor_who_wrote_the_article_is_not_asked_to_review_it(editor, second_editor):
    writer = UserFactory(username="writer", roles=[Role.EDITOR, Role.AUTHOR])
    article = services.article_submit(article=make_article(writer), actor=writer)
    delivery.deliver(Event.objects.get(article=article).pk)
    assert sorted(m.to[0] for m in mail.outbox) == ["editor2@example.org", "editor@example.org"]


@pytest.mark.django_db
def test_decision_letter_reaches_the_author(in_state, author):
    article = in_state("changes_requested")
    event = Event.objects.filter(article=article, kind="article.decision").get()
    delivery.deliver(event.pk)
    assert [m.to for m in mail.outbox] == [[author.email]]
    assert "changes requested" in mail.outbox[0].subject
    assert "Add doses." in mail.outbox[0].body


@pytest.mark.django_db
def test_delivering_twice_sends_once(author, editor):
    article = services.article_submit(article=make_article(author), actor=author)
    event = Event.objects.get(article=article)
    delivery.deliver(event.pk)
    Event.objects.filter(pk=event.pk).update(status=Event.Status.PENDING)  # as if redelivered
    delivery.deliver(event.pk)
    assert len(mail.outbox) == 1
    assert Notification.objects.get(event=event, channel="email").attempts == 1


@pytest.mark.django_db
def test_a_failed_send_is_recorded_and_retried_later(author, editor, monkeypatch):
    article = services.article_submit(article=make_article(author), actor=author)
    event = Event.objects.get(article=article)

    def refuse(self, *args, **kwargs):
        raise ConnectionRefusedError("SMTP server refused the connection")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    with pytest.raises(delivery.DeliveryIncomplete):
        delivery.deliver(event.pk)
    row = Notification.objects.get(event=event, channel="email")
    assert row.status == Notification.Status.FAILED
    assert "refused" in row.last_error
    monkeypatch.undo()
    delivery.deliver(event.pk)
    row.refresh_from_db()
    assert (row.status, row.attempts, len(mail.outbox)) == (Notification.Status.SENT, 2, 1)


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def worker(settings):
    """A real Celery worker on the configured broker (filesystem, or Redis in the PG run)."""
    app.conf.task_always_eager = False
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("celery")
    # The worker runs in a thread of this process and keeps its database connection between
    # tasks (CELERY_DB_REUSE_MAX): closed after each task here, or the test database could
    # not be dropped at the end of the run.
    signals.task_postrun.connect(close_thread_connections)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING"):
            yield
    finally:
        signals.task_postrun.disconnect(close_thread_connections)


def close_thread_connections(**kwargs) -> None:
    db.connections.close_all()


@pytest.fixture
def relay_thread():
    """The relay, as ``manage.py run_relay`` runs it, in a thread of this process."""
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, kwargs={"stop": stop}, daemon=True)
    thread.start()
    yield thread
    stop.set()
    thread.join(timeout=15)
    assert not thread.is_alive(), "the relay did not stop"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_the_submission_email(worker, relay_thread, author, editor, mailoutbox):
    article = services.article_submit(article=make_article(author), actor=author)
    event = Event.objects.get(article=article)
    assert wait_for(lambda: Event.objects.get(pk=event.pk).status == Event.Status.DONE), "not delivered"
    assert [m.to for m in mailoutbox] == [[editor.email]]
    # Handing the same event over again (the beat's re-enqueue) sends nothing more.
    relay.publish([event.pk])
    relay.publish([event.pk])
    time.sleep(3)
    assert len(mailoutbox) == 1
    assert Notification.objects.get(event=event, channel="email").attempts == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transition_sends_nothing(worker, relay_thread, author, editor, mailoutbox):
    article = make_article(author)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.article_submit(article=article, actor=author)
        raise RuntimeError("the request failed after the service")
    assert not Event.objects.exists()
    article.refresh_from_db()
    services.article_submit(article=article, actor=author)
    assert wait_for(lambda: Event.objects.filter(status=Event.Status.DONE).exists())
    time.sleep(2)
    # One e-mail: the committed submission; the rolled-back one never reached anyone.
    assert [m.subject for m in mailoutbox] == [f"Submitted for review: {article.title}"]


@pytest.mark.django_db
def test_each_board_event_reaches_the_right_people(in_state, author, editor, reviewers):
    """Invited → the reviewer (with a link to their invitation); declined / all in → editors."""
    from editorial.workflow import board

    article = in_state("submitted")
    invitations = board.invitation_create(article=article, actor=editor, reviewers=reviewers)
    board.invitation_decline(invitation=invitations[1], actor=reviewers[1], reason="On leave")
    accepted = board.invitation_accept(invitation=invitations[0], actor=reviewers[0], conflict="none")
    board.review_submit(
        invitation=accepted,
        actor=reviewers[0],
        recommendation="approve",
        password="pw",
        checklist=ALL_TICKED,
        request=signing_request(),
    )
    for event in Event.objects.filter(article=article).order_by("id"):
        delivery.deliver(event.pk)
    sent = sorted((m.subject.split(":")[0], m.to[0]) for m in mail.outbox)
    assert sent == sorted(
        [
            ("Submitted for review", "editor@example.org"),
            ("Invitation to review", "reviewer1@example.org"),
            ("Invitation to review", "reviewer2@example.org"),
            ("Invitation declined", "editor@example.org"),
            ("All reviews in", "editor@example.org"),
        ]
    )
    invite = next(m for m in mail.outbox if m.to == [reviewers[0].email])
    assert f"/admin/reviewers/invitation/{invitations[0].pk}/change/" in invite.body
    assert "Please answer by" in invite.body


@pytest.mark.django_db
def test_the_decision_email_carries_the_letter_without_confidential_comments(in_state, author, editor):
    article = in_state("ready")
    services.article_request_changes(article=article, actor=editor, reason="Tighten the doses.")
    delivery.deliver(Event.objects.get(article=article, kind="article.decision").pk)
    message = mail.outbox[-1]
    assert message.to == [author.email]
    for part in (message.body, message.alternatives[0][0]):
        assert "Tighten the doses." in part and "Comments to the author on invitation" in part
        assert "Confidential note" not in part and "Priya" not in part


@pytest.mark.django_db
def test_retraction_reaches_the_author_and_the_reviewers(in_state, author, editor, reviewers):
    article = in_state("retracted")
    delivery.deliver(Event.objects.get(article=article, kind="article.retracted").pk)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in [author, *reviewers])
