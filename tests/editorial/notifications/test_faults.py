"""Faults, with real processes: PostgreSQL, a redis-server, the relay and Celery workers of the test's own.

The relay and worker processes read the same test database, so these run on the PostgreSQL
run of CI. Each test starts and stops only the processes it owns, and is bounded in time.
Messages are counted per recipient at a fake SMTP server on loopback.
"""

import shutil
import time

import pytest
from django.conf import settings
from django.db import transaction
from django.urls import reverse

from articles import lints
from editorial.models import Delivery, Digest, Event, Notification, NotificationPreference
from editorial.notifications import outbox, relay, tasks
from editorial.workflow import services
from editorial.workflow.permissions import Role
from tests.factories import UserFactory, make_article
from tests.processes import FakeSMTP, Relay, Worker, spare_port, wait_until

pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="worker and relay processes must share the test database: runs on the PostgreSQL run of CI",
    ),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed here"),
]


@pytest.fixture
def start_worker(processes, smtp):
    def start(*, email_url=None, **env) -> Worker:
        return processes(Worker, email_url=email_url or smtp.url, env=env)

    return start


@pytest.fixture
def start_relay(processes):
    def start(**env) -> Relay:
        return processes(Relay, env=env)

    return start


@pytest.fixture
def newsroom(db):
    """An author and two editors: a submission is two e-mails."""
    author = UserFactory(username="f_author", roles=[Role.AUTHOR])
    editors = [UserFactory(username=f"f_editor{n}", roles=[Role.EDITOR]) for n in (1, 2)]
    return author, editors


def event_done(event_id) -> bool:
    return Event.objects.filter(pk=event_id, status=Event.Status.DONE).exists()


def all_done() -> bool:
    return not Event.objects.filter(status=Event.Status.PENDING).exists()


@pytest.fixture(autouse=True)
def warm_lints():
    """As a web process does at boot (config/wsgi.py): the reading grade's dictionary loaded,
    so a submission's time is the request's own, not the first call's 2 s."""
    lints.warm()


def submit_over_http(client, author, article):
    client.force_login(author)
    url = reverse("admin:articles_article_transition", args=[article.pk, "submit"])
    started = time.monotonic()
    response = client.post(url, {"row_version": article.row_version, "reason": ""})
    return response, time.monotonic() - started


@pytest.mark.django_db(transaction=True)
def test_redis_down_at_commit_then_delivered_exactly_once(
    client, newsroom, redis_server, publisher, start_worker, start_relay, smtp
):
    author, editors = newsroom
    start_worker()
    start_relay()
    redis_server.stop()

    response, elapsed = submit_over_http(client, author, make_article(author))
    assert response.status_code == 302 and elapsed < 1, elapsed  # the request never waits for the broker
    event = Event.objects.get()
    time.sleep(1)  # the relay tries, fails, and puts the event back
    assert Event.objects.get(pk=event.pk).status == Event.Status.PENDING

    redis_server.start()  # the same port: the relay and the worker reconnect
    assert wait_until(lambda: event_done(event.pk), timeout=60)
    relay.publish([event.pk])  # handed over once more (the beat's requeue): nothing more is sent
    time.sleep(2)
    assert smtp.received_by() == {e.email: 1 for e in editors}


@pytest.mark.django_db(transaction=True)
def test_redis_frozen_a_write_answers_at_once_and_is_delivered_after(
    client, newsroom, redis_server, start_worker, start_relay, smtp
):
    author, editors = newsroom
    start_worker()
    start_relay()
    services.article_submit(article=make_article(author, title="Warm-up?"), actor=author)
    assert wait_until(all_done, timeout=30)

    redis_server.freeze()
    try:
        response, elapsed = submit_over_http(client, author, make_article(author))
        time.sleep(2.5)  # the relay's publish times out (2 s) meanwhile
        frozen_pending = Event.objects.filter(status=Event.Status.PENDING).count()
    finally:
        redis_server.thaw()
    assert response.status_code == 302
    assert elapsed < 1, f"the request took {elapsed:.1f} s with Redis frozen"
    assert frozen_pending == 1
    assert wait_until(all_done, timeout=60)
    time.sleep(1)
    assert smtp.received_by() == {e.email: 2 for e in editors}


@pytest.mark.django_db(transaction=True)
def test_worker_killed_in_the_middle_of_sending(newsroom, publisher, start_worker, start_relay, smtp, settings):
    settings.EDITORIAL_EVENT_REQUEUE_AFTER = 0
    author, editors = newsroom
    smtp.release.clear()  # the mail server hangs before its greeting: the worker is mid-send
    worker = start_worker(EMAIL_TIMEOUT="2")
    start_relay()
    services.article_submit(article=make_article(author), actor=author)
    event = Event.objects.get()
    assert wait_until(
        lambda: smtp.connections >= 1
        and Notification.objects.filter(event=event, channel="email", status="sending").exists(),
        timeout=30,
    )
    worker.kill()
    smtp.release.set()

    start_worker()
    time.sleep(3.5)  # the interrupted claim times out (EDITORIAL_CLAIM_TIMEOUT=3 for the worker)
    # The killed task is never acknowledged: the beat's requeue hands the event over again.
    assert wait_until(lambda: outbox.requeue_pending_events() >= 0 and event_done(event.pk), timeout=60)
    assert smtp.received_by() == {e.email: 1 for e in editors}
    ids = [m["message_id"] for m in smtp.messages]
    assert len(ids) == len(set(ids)) == 2


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_sends_nothing(newsroom, start_worker, start_relay, smtp):
    author, editors = newsroom
    start_worker()
    start_relay()
    article = make_article(author)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.article_submit(article=article, actor=author)
        raise RuntimeError("the request failed after the service wrote its event")
    assert not Event.objects.exists()
    article.refresh_from_db()
    services.article_submit(article=article, actor=author)
    event = Event.objects.get()
    assert wait_until(lambda: event_done(event.pk), timeout=30)
    time.sleep(1)
    assert smtp.received_by() == {e.email: 1 for e in editors}  # the committed one only


@pytest.mark.django_db(transaction=True)
def test_smtp_refusing_connections_retries_then_dead_letter(client, newsroom, start_worker, start_relay):
    author, editors = newsroom
    start_worker(email_url=f"smtp://127.0.0.1:{spare_port()}")  # nothing listens there
    start_relay()
    services.article_submit(article=make_article(author), actor=author)
    event = Event.objects.get()
    emails = Notification.objects.filter(event=event, channel="email")
    assert wait_until(lambda: emails.filter(status="dead").count() == 2, timeout=60)
    for delivery in emails:
        assert delivery.attempts == 4  # the first try and three retries with backoff
        assert "refused" in delivery.last_error.lower()
    assert event_done(event.pk)

    client.force_login(editors[0])
    log = client.get(reverse("admin:editorial_notification_changelist") + "?status__exact=dead")
    assert log.status_code == 200 and "Connection" in log.content.decode()


# --- The three corners of issue 16: slow SMTP, a kill after acceptance, a digest without broker ---


@pytest.mark.django_db(transaction=True)
def test_slow_smtp_with_two_workers_sends_each_editor_one_copy(publisher, start_worker, start_relay):
    """45 s per message against a 120 s claim, scaled down: 1.5 s per message, 4 editors, two workers.

    Both workers get the event (the beat's requeue handed it over again while the first was
    still sending). Each e-mail is claimed just before it is sent, so the second worker takes
    the editors nobody holds, and a claim outlasts its send (EMAIL_TIMEOUT 2 s, lease 3 s).
    """
    slow = FakeSMTP(reply_delay=1.5)
    slow.start()
    try:
        author = UserFactory(username="s_author", roles=[Role.AUTHOR])
        editors = [UserFactory(username=f"s_editor{n}", roles=[Role.EDITOR]) for n in range(4)]
        start_worker(email_url=slow.url)
        start_worker(email_url=slow.url)
        start_relay()
        services.article_submit(article=make_article(author), actor=author)
        event = Event.objects.get()
        assert wait_until(lambda: slow.accepted.is_set(), timeout=30)
        for _ in range(3):  # handed over again, and again, while the first worker is sending
            relay.publish([event.pk])
            time.sleep(1.6)
        assert wait_until(lambda: event_done(event.pk), timeout=60)
        time.sleep(2)  # anything sent twice would have arrived by now
        assert slow.received_by() == {e.email: 1 for e in editors}
        assert set(Notification.objects.filter(event=event, channel="email").values_list("status", "attempts")) == {
            ("sent", 1)
        }
    finally:
        slow.stop()


@pytest.mark.django_db(transaction=True)
def test_a_kill_after_the_server_took_the_message_duplicates_it_at_most_once(
    newsroom, publisher, start_worker, start_relay, settings
):
    """SMTP cannot make this exactly-once: the server took the message, the sender died before
    marking it. Each such kill sends that message at most once more, with the same Message-ID.
    """
    settings.EDITORIAL_EVENT_REQUEUE_AFTER = 0
    author, editors = newsroom
    late = FakeSMTP(reply_delay=0.5)  # acknowledges each message half a second after taking it
    late.start()
    kills = 0
    try:
        start_relay()
        for n in range(2):
            worker = start_worker(email_url=late.url)
            late.accepted.clear()
            services.article_submit(article=make_article(author, title=f"Question {n}?"), actor=author)
            assert wait_until(late.accepted.is_set, timeout=30, every=0.01)
            worker.kill()  # taken by the server, not yet acknowledged, not marked sent
            kills += 1
        start_worker(email_url=late.url)
        time.sleep(3.5)  # the killed workers' claims run out (EDITORIAL_CLAIM_TIMEOUT=3)
        assert wait_until(lambda: outbox.requeue_pending_events() >= 0 and all_done(), timeout=90)
        time.sleep(1)
    finally:
        late.stop()
    received = late.message_ids_by_recipient()
    assert Notification.objects.filter(channel="email", status="sent").count() == 4
    total = sum(len(ids) for ids in received.values())
    assert 4 <= total <= 4 + kills, received
    for ids in received.values():
        assert len(set(ids)) == 2, ids  # each editor got both submissions, whatever was repeated
    duplicates = [ids for ids in received.values() if len(ids) != len(set(ids))]
    assert sum(len(ids) - len(set(ids)) for ids in duplicates) <= kills  # the repeat carries the same Message-ID


@pytest.mark.django_db(transaction=True)
def test_a_digest_gathered_while_the_broker_is_down_is_delivered_when_it_returns(
    client, newsroom, redis_server, start_worker, start_relay, smtp
):
    author, editors = newsroom
    NotificationPreference.objects.create(user=editors[0], kind="article.submitted", delivery=Delivery.DIGEST)
    start_worker()
    start_relay()
    for n in range(2):
        services.article_submit(article=make_article(author, title=f"Question {n}?"), actor=author)
    assert wait_until(all_done, timeout=30)
    assert smtp.received_by() == {editors[1].email: 2}  # the other editor wants a digest

    redis_server.stop()
    assert tasks.send_digests() == 1  # the beat's task, run while the broker is unreachable
    digest = Digest.objects.get()
    assert digest.event.status == Event.Status.PENDING
    time.sleep(1)
    redis_server.start()
    assert wait_until(lambda: event_done(digest.event_id), timeout=60)
    time.sleep(1)
    assert smtp.received_by() == {editors[1].email: 2, editors[0].email: 1}
    assert tasks.send_digests() == 0  # nothing gathered twice

    # A digest the mail server refuses: retried, dead-lettered, then retried by an admin.
    NotificationPreference.objects.filter(user=editors[0]).update(delivery=Delivery.DIGEST)
    services.article_submit(article=make_article(author, title="Question 3?"), actor=author)
    assert wait_until(all_done, timeout=30)
    smtp.refusing = True
    smtp.drop_connections()  # the worker's kept connection too: it must open a new one, and is refused
    tasks.send_digests()
    second = Digest.objects.latest("id")
    dead = Notification.objects.filter(event=second.event, status="dead")
    assert wait_until(dead.exists, timeout=60)
    smtp.refusing = False
    operator = UserFactory(username="f_operator", is_superuser=True)
    client.force_login(operator)
    response = client.post(
        reverse("admin:editorial_notification_changelist"), {"action": "retry", "_selected_action": [dead.get().pk]}
    )
    assert response.status_code == 302
    assert wait_until(lambda: event_done(second.event_id), timeout=60)
    time.sleep(1)
    assert smtp.received_by() == {editors[1].email: 3, editors[0].email: 2}
