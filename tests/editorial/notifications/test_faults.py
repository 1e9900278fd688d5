"""Faults, with real processes: PostgreSQL, a redis-server and a Celery worker of the test's own.

The worker process reads the same test database, so these run on the PostgreSQL run of CI.
Each test starts and stops only the processes it owns, and is bounded in time.
"""

import shutil
import time

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse

from config.celery import app
from editorial.models import Event, Notification
from editorial.notifications import outbox
from editorial.workflow import events, services
from editorial.workflow.permissions import Role
from tests.factories import UserFactory, make_article
from tests.processes import FakeSMTP, RedisServer, Worker, wait_until

pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="a worker process must share the test database: runs on the PostgreSQL run of CI",
    ),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed here"),
]


def database_url() -> str:
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@pytest.fixture
def redis_server():
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp():
    server = FakeSMTP()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def publisher(redis_server, monkeypatch):
    """This process publishes to the test's own Redis, with the production socket timeouts."""
    saved = (app.conf.broker_url, app.conf.broker_transport_options)
    monkeypatch.setenv("CELERY_BROKER_URL", redis_server.url)  # Celery reads it before its own conf
    app.conf.broker_url = redis_server.url
    app.conf.broker_transport_options = {
        key: value for key, value in settings.CELERY_BROKER_TRANSPORT_OPTIONS.items() if "folder" not in key
    } | {"socket_timeout": 2, "socket_connect_timeout": 2, "max_retries": 1, "interval_start": 0}
    app._pool = None
    app.amqp._producer_pool = None
    yield app
    app.conf.broker_url, app.conf.broker_transport_options = saved
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def start_worker(redis_server, smtp, tmp_path):
    workers = []

    def start(*, email_url=None, **env) -> Worker:
        worker = Worker(
            broker_url=redis_server.url, database_url=database_url(), email_url=email_url or smtp.url, env=env
        )
        worker.start(tmp_path / f"worker-{len(workers)}.log")
        workers.append(worker)
        assert wait_until(worker.ready, timeout=60), (tmp_path / f"worker-{len(workers) - 1}.log").read_text()
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def newsroom(db):
    """An author and two editors: a submission is two e-mails."""
    author = UserFactory(username="f_author", roles=[Role.AUTHOR])
    editors = [UserFactory(username=f"f_editor{n}", roles=[Role.EDITOR]) for n in (1, 2)]
    return author, editors


def event_done(event_id) -> bool:
    return Event.objects.filter(pk=event_id, status=Event.Status.DONE).exists()


def submit_over_http(client, author, article):
    client.force_login(author)
    url = reverse("admin:articles_article_transition", args=[article.pk, "submit"])
    started = time.monotonic()
    response = client.post(url, {"row_version": article.row_version, "reason": ""})
    return response, time.monotonic() - started


@pytest.mark.django_db(transaction=True)
def test_redis_down_at_commit_then_delivered_exactly_once(
    client, newsroom, redis_server, publisher, start_worker, smtp, settings
):
    settings.EDITORIAL_EVENT_REQUEUE_AFTER = 0
    author, editors = newsroom
    start_worker()
    redis_server.stop()

    response, elapsed = submit_over_http(client, author, make_article(author))
    assert response.status_code == 302 and elapsed < 5, elapsed  # the request succeeds, quickly
    event = Event.objects.get()
    assert event.status == Event.Status.PENDING

    redis_server.start()  # the same port: the worker reconnects
    assert wait_until(lambda: outbox.requeue_pending_events() >= 0 and event_done(event.pk), timeout=60)
    events.enqueue_event(event.pk)  # handed over once more: nothing more is sent
    time.sleep(2)
    assert smtp.received_by() == {e.email: 1 for e in editors}


@pytest.mark.django_db(transaction=True)
def test_redis_frozen_request_finishes_within_seconds(
    client, newsroom, redis_server, publisher, start_worker, smtp, settings
):
    settings.EDITORIAL_EVENT_REQUEUE_AFTER = 0
    author, editors = newsroom
    start_worker()
    services.article_submit(article=make_article(author, title="Warm-up?"), actor=author)  # pool is warm
    assert wait_until(lambda: not Event.objects.filter(status="pending").exists(), timeout=30)

    redis_server.freeze()
    try:
        response, elapsed = submit_over_http(client, author, make_article(author))
    finally:
        redis_server.thaw()
    assert response.status_code == 302
    assert elapsed < 5, f"the request took {elapsed:.1f} s with Redis frozen"
    event = Event.objects.latest("id")
    assert wait_until(lambda: outbox.requeue_pending_events() >= 0 and event_done(event.pk), timeout=60)
    assert smtp.received_by() == {e.email: 2 for e in editors}


@pytest.mark.django_db(transaction=True)
def test_worker_killed_in_the_middle_of_sending(newsroom, redis_server, publisher, start_worker, smtp, settings):
    settings.EDITORIAL_EVENT_REQUEUE_AFTER = 0
    author, editors = newsroom
    smtp.release.clear()  # the mail server hangs before its greeting: the worker is mid-send
    worker = start_worker()
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
    assert wait_until(lambda: outbox.requeue_pending_events() >= 0 and event_done(event.pk), timeout=60)
    assert smtp.received_by() == {e.email: 1 for e in editors}
    ids = [m["message_id"] for m in smtp.messages]
    assert len(ids) == len(set(ids)) == 2


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_sends_nothing(newsroom, redis_server, publisher, start_worker, smtp):
    author, editors = newsroom
    start_worker()
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
def test_smtp_refusing_connections_retries_then_dead_letter(
    client, newsroom, redis_server, publisher, start_worker, smtp
):
    author, editors = newsroom
    from tests.processes import spare_port

    start_worker(email_url=f"smtp://127.0.0.1:{spare_port()}")  # nothing listens there
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
