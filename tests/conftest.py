import contextlib

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from articles.models import Article
from config.celery import app
from editorial.workflow import board, services
from editorial.workflow.permissions import Role
from reviewers.models import CHECKLIST, Invitation
from tests.factories import UserFactory, make_article, make_board_member, signing_request
from tests.processes import FakeSMTP, RedisServer, wait_until


def verify_session(client: Client, user) -> None:
    """Mark the client's session as having shown its second factor (a device is made if none).

    Unit tests sign in with ``force_login``; the second factor itself is tested through the
    real login form (tests/accounts/, tests/browser/).
    """
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="tests", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


class VerifiedClient(Client):
    """Django's test client whose ``force_login`` also shows the second factor."""

    def force_login(self, user, backend=None):
        super().force_login(user, backend)
        verify_session(self, user)


def pytest_addoption(parser):
    parser.addoption(
        "--deep",
        action="store_true",
        default=False,
        help="Run the model-based lifecycle test with many more, longer sequences (make test-deep).",
    )


@pytest.fixture
def client():
    """The test client, signed in with the second factor shown (``VerifiedClient``)."""
    return VerifiedClient()


@pytest.fixture
def author(db):
    return UserFactory(username="author", roles=[Role.AUTHOR])


@pytest.fixture
def other_author(db):
    return UserFactory(username="other_author", roles=[Role.AUTHOR])


@pytest.fixture
def editor(db):
    return UserFactory(username="editor", roles=[Role.EDITOR])


@pytest.fixture
def second_editor(db):
    return UserFactory(username="editor2", roles=[Role.EDITOR])


@pytest.fixture
def board_member(db):
    """A board member who is not invited to anything."""
    return make_board_member("member0", "Ada Member", "MD")


@pytest.fixture
def reviewers(db):
    return [make_board_member("reviewer1", "Priya Raman", "MD"), make_board_member("reviewer2", "Tomás Ferreira", "DO")]


@pytest.fixture
def auditor(db):
    return UserFactory(username="auditor", roles=[Role.AUDITOR])


@pytest.fixture
def superuser(db):
    return UserFactory(username="admin", is_superuser=True)


@pytest.fixture
def draft(author) -> Article:
    return make_article(author)


#: A review checklist with every item ticked: what signing an approval needs.
ALL_TICKED = {field: True for field, _ in CHECKLIST}


def advance(article: Article, steps, **actors) -> Article:
    """Run ``steps`` of (transition, actor name, reason) through the services."""
    for name, actor, reason in steps:
        article = services.article_transition(
            article=article, actor=actors[actor], name=name, reason=reason, password="pw", request=signing_request()
        )
    return article


def review_round(article: Article, editor, reviewers, recommendation="approve") -> Article:
    """Invite the reviewers, who accept and review (signing when they approve)."""
    invitations = board.invitation_create(article=article, actor=editor, reviewers=reviewers)
    for invitation in invitations:
        invitation = board.invitation_accept(invitation=invitation, actor=invitation.reviewer, conflict="none")
    for invitation in Invitation.objects.filter(article=article, review_round=article.review_round, status="accepted"):
        board.review_submit(
            invitation=invitation,
            actor=invitation.reviewer,
            recommendation=recommendation,
            checklist=ALL_TICKED,
            # Identified by invitation, not by name: the author's pages must never show names.
            comments_to_author=f"Comments to the author on invitation {invitation.pk}.",
            confidential_comments=f"Confidential note on invitation {invitation.pk}.",
            password="pw",
            request=signing_request(),
        )
    return Article.objects.get(pk=article.pk)


@pytest.fixture
def in_state(author, editor, reviewers):
    """Build an article in any status through the real services (and the real board)."""

    def build(status: str, article: Article | None = None) -> Article:
        article = article or make_article(author)
        if status == "draft":
            return article
        if status == "withdrawn":
            return advance(article, [("withdraw", "author", "No longer needed.")], author=author)
        if article.status == "draft":
            article = services.article_submit(article=article, actor=article.author)
        if status == "submitted":
            return article
        if status == "rejected":
            return advance(article, [("reject", "editor", "Out of scope.")], editor=editor)
        if status == "under_review":
            invitations = board.invitation_create(article=article, actor=editor, reviewers=reviewers)
            board.invitation_accept(invitation=invitations[0], actor=invitations[0].reviewer, conflict="none")
            return Article.objects.get(pk=article.pk)
        article = review_round(article, editor, reviewers)
        if status == "ready":  # under review, with the quorum of signatures
            return article
        if status == "changes_requested":
            return advance(article, [("request_changes", "editor", "Add doses.")], editor=editor)
        article = advance(article, [("approve", "editor", "")], editor=editor)
        if status == "approved":
            return article
        if status == "retracted":
            return advance(article, [("retract", "editor", "Guidance changed.")], editor=editor)
        if status == "revision":  # an approved article with a revision draft open
            return advance(article, [("revise", "author", "")], author=author)
        raise ValueError(status)

    return build


@pytest.fixture(scope="session", autouse=True)
def _empty_the_test_queue_afterwards():
    """Tests that commit hand events to the configured broker; leave its queue empty."""
    yield

    with contextlib.suppress(Exception), app.connection_for_write() as broker:
        broker.default_channel.queue_purge("celery")


def clear_page_caches() -> None:
    from django.core.cache import caches

    from editorial.public import cache

    cache.breaker.close()  # a test that stopped Redis leaves no open breaker behind
    for name in ("default", "public_pages"):
        caches[name].clear()


@pytest.fixture(autouse=True)
def _fresh_page_caches():
    """Public pages are cached a few seconds by slug: a test never sees an earlier test's page."""
    clear_page_caches()
    yield
    clear_page_caches()


# --- Real processes: a private redis-server, a fake SMTP server, product processes ---------------


def database_url() -> str:
    """The URL of the test database, for processes started by a test."""
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
    """This process (standing in for the beat) publishes to the test's own Redis."""
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
def processes(redis_server, tmp_path):
    """Start product processes (workers, relays, web servers) on the test's Redis and database.

    ``start(kind, **options)`` waits until the process is ready; all are stopped at the end.
    """
    started = []

    def start(kind, *, wait: bool = True, **kwargs):
        process = kind(broker_url=redis_server.url, database_url=database_url(), **kwargs)
        log = tmp_path / f"{kind.__name__.lower()}-{len(started)}.log"
        process.start(log)
        started.append(process)
        if wait:
            assert wait_until(process.ready, timeout=60), log.read_text()
        return process

    start.started = started
    yield start
    for process in started:
        process.stop()
