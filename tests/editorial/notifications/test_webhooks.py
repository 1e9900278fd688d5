"""Webhooks: registered through the API, delivered through the outbox, signed, never to private addresses."""

import contextlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from knox.models import AuthToken
from rest_framework.test import APIClient
from standardwebhooks.webhooks import Webhook as Verifier

from editorial.models import Event, EventKind, Webhook, WebhookDelivery
from editorial.notifications import delivery, webhooks
from editorial.notifications.delivery import DeliveryIncomplete
from editorial.workflow import services
from tests.editorial.notifications.test_delivery import relay_thread, wait_for, worker  # noqa: F401 - fixtures
from tests.factories import make_article

pytestmark = pytest.mark.django_db


class Receiver:
    """A real HTTP server on loopback that records each POST and answers 204."""

    def __init__(self, port: int) -> None:
        self.port, self.received, self.server = port, [], None

    def start(self) -> None:
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def receiver():
    with socket.socket() as probe:  # a free port, with nothing listening on it yet
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    receiver = Receiver(port)
    yield receiver
    receiver.stop()


def api_of(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=user)[1]}")
    return client


def deliver_all() -> None:
    for event in Event.objects.filter(status=Event.Status.PENDING).order_by("id"):
        with contextlib.suppress(DeliveryIncomplete):
            delivery.deliver(event.pk)


def register(client, url, kinds=("article.decision",)):
    return client.post("/api/v1/webhooks/", {"url": url, "kinds": list(kinds)}, format="json")


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8000/hook",  # loopback by name (not the allowed 127.0.0.1)
        "http://10.1.2.3/hook",
        "http://192.168.1.1/hook",
        "http://172.16.0.5/hook",
        "http://169.254.169.254/latest/meta-data/",  # the cloud metadata service: link-local
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",  # shared address space
        "http://224.0.0.1/hook",
        "ftp://93.184.215.14/hook",
        "http://user:secret@93.184.215.14/hook",
        "http://no-such-host.invalid/hook",
    ],
)
def test_private_loopback_and_link_local_targets_are_refused(author, url):
    response = register(api_of(author), url)
    assert response.status_code == 400, response.json()
    assert "url" in response.json()["fields"]
    assert not Webhook.objects.exists()


def test_a_public_address_or_an_allowed_host_is_accepted_and_the_secret_shown_once(author, receiver):
    client = api_of(author)
    made = register(client, "https://93.184.215.14/hook", kinds=["article.decision", "article.submitted"])
    assert made.status_code == 201, made.json()
    assert made.json()["secret"].startswith("whsec_")
    assert register(client, f"http://127.0.0.1:{receiver.port}/hook").status_code == 201
    listed = client.get("/api/v1/webhooks/").json()
    assert len(listed) == 2 and all("secret" not in hook for hook in listed)


def test_one_address_is_registered_once(author, receiver):
    """Two webhooks for one URL would deliver each event to it twice: the second is a 400."""
    client = api_of(author)
    assert register(client, f"http://127.0.0.1:{receiver.port}/hook").status_code == 201
    again = register(client, f"http://127.0.0.1:{receiver.port}/hook", kinds=["article.submitted"])
    assert again.status_code == 400 and "already" in str(again.json()), again.json()
    assert Webhook.objects.filter(owner=author, is_active=True).count() == 1


def test_a_kind_the_role_does_not_hear_of_is_refused(author):
    response = register(api_of(author), "https://93.184.215.14/hook", kinds=["invitation.invited"])
    assert response.status_code == 400 and "invitation.invited" in response.json()["detail"]


def test_webhooks_are_each_owners_own(author, other_author):
    mine = register(api_of(author), "https://93.184.215.14/hook").json()
    theirs = api_of(other_author)
    assert theirs.get("/api/v1/webhooks/").json() == []
    assert theirs.delete(f"/api/v1/webhooks/{mine['id']}/").status_code == 404
    assert theirs.get(f"/api/v1/webhooks/{mine['id']}/deliveries/").status_code == 404
    assert api_of(author).delete(f"/api/v1/webhooks/{mine['id']}/").status_code == 204
    assert not Webhook.objects.get(pk=mine["id"]).is_active


def test_receiver_down_then_up_gets_the_decision_once_and_the_signature_verifies(
    author, other_author, receiver, in_state
):
    hook = register(api_of(author), f"http://127.0.0.1:{receiver.port}/hook").json()
    register(api_of(other_author), f"http://127.0.0.1:{receiver.port}/other")  # not their article
    article = in_state("approved")
    deliver_all()  # the receiver is down: refused connection
    failed = WebhookDelivery.objects.get()
    assert failed.status == "failed" and failed.attempts == 1 and "ConnectError" in failed.last_error
    decision = Event.objects.get(kind=EventKind.DECISION)
    assert decision.status == Event.Status.PENDING  # not done while a webhook waits

    receiver.start()
    deliver_all()  # the task's retry
    deliver_all()  # and once more: nothing is sent twice
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    assert headers["webhook-id"] == f"evt_{decision.pk}" and headers["Host"] == f"127.0.0.1:{receiver.port}"
    sent = Verifier(hook["secret"]).verify(body, headers)
    assert sent["type"] == "article.decision" and sent["event_id"] == decision.pk
    assert sent["article"]["id"] == article.pk and sent["to"] == "approved"
    assert sent["letter"].startswith("Decision on round 1")
    with pytest.raises(Exception, match="No matching signature"):
        Verifier(hook["secret"]).verify(body.replace(b"approved", b"rejected"), headers)
    delivered = WebhookDelivery.objects.get()
    assert (delivered.status, delivered.attempts, delivered.response_status) == ("sent", 2, 204)
    assert Event.objects.get(pk=decision.pk).status == Event.Status.DONE
    listed = api_of(author).get(f"/api/v1/webhooks/{hook['id']}/deliveries/").json()["results"]
    assert [(d["event_id"], d["status"]) for d in listed] == [(decision.pk, "sent")]


def test_the_address_is_checked_again_at_delivery(author, receiver, in_state, settings):
    receiver.start()
    register(api_of(author), f"http://127.0.0.1:{receiver.port}/hook")
    settings.EDITORIAL_WEBHOOK_ALLOWED_HOSTS = []
    in_state("approved")
    deliver_all()
    assert receiver.received == []
    refused = WebhookDelivery.objects.get()
    assert refused.status == "failed" and "not a public address" in refused.last_error


def test_after_the_last_retry_a_delivery_is_dead_and_can_be_retried(author, receiver, in_state):
    register(api_of(author), f"http://127.0.0.1:{receiver.port}/hook")
    in_state("approved")
    deliver_all()
    decision = Event.objects.get(kind=EventKind.DECISION)
    delivery.give_up(decision.pk)
    assert WebhookDelivery.objects.get().status == "dead"
    assert Event.objects.get(pk=decision.pk).status == Event.Status.DONE
    receiver.start()
    webhooks.retry_dead(WebhookDelivery.objects.values_list("pk", flat=True))
    deliver_all()
    assert WebhookDelivery.objects.get().status == "sent" and len(receiver.received) == 1


def test_the_workspace_shows_webhook_deliveries_to_editors_who_retry_dead_ones(
    author, editor, receiver, in_state, client
):
    register(api_of(author), f"http://127.0.0.1:{receiver.port}/hook")
    in_state("approved")
    deliver_all()
    delivery.give_up(Event.objects.get(kind=EventKind.DECISION).pk)
    dead = WebhookDelivery.objects.get()
    url = reverse("admin:editorial_webhookdelivery_changelist")
    client.force_login(author)
    assert client.get(url).status_code == 403
    client.force_login(editor)
    listing = client.get(url)
    assert listing.status_code == 200 and f"127.0.0.1:{receiver.port}/hook" in listing.content.decode()
    client.post(url, {"action": "retry", "_selected_action": [dead.pk]})
    assert WebhookDelivery.objects.get().status == "pending"
    receiver.start()
    deliver_all()
    assert WebhookDelivery.objects.get().status == "sent" and len(receiver.received) == 1


def test_a_webhook_hears_only_what_its_owner_is_told(author, editor, reviewers, receiver, in_state):
    """A board member hears of their own invitation, not of another member's on the same article."""
    from editorial.workflow import board

    member, other = reviewers
    made = register(api_of(member), f"http://127.0.0.1:{receiver.port}/hook", kinds=["invitation.invited"])
    assert made.status_code == 201, made.json()
    article = in_state("submitted")
    receiver.start()
    board.invitation_create(article=article, actor=editor, reviewers=[member])
    deliver_all()
    board.invitation_create(article=article, actor=editor, reviewers=[other])  # member sees the article now
    deliver_all()
    assert [(d.event.kind, d.status) for d in WebhookDelivery.objects.all()] == [("invitation.invited", "sent")]
    assert len(receiver.received) == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker", "relay_thread", "editor")
def test_through_the_relay_and_a_real_worker_a_down_receiver_gets_the_event_once(author, receiver, settings):
    """The relay hands the event to Celery; the task retries with backoff until the receiver is up."""
    settings.EDITORIAL_RETRY_BASE_SECONDS = 0.5
    hook = register(api_of(author), f"http://127.0.0.1:{receiver.port}/hook", kinds=["article.submitted"]).json()
    article = services.article_submit(article=make_article(author), actor=author)
    assert wait_for(lambda: WebhookDelivery.objects.filter(status="failed").exists()), "never tried"
    receiver.start()
    event = Event.objects.get(article=article, kind=EventKind.SUBMITTED)
    assert wait_for(lambda: Event.objects.get(pk=event.pk).status == Event.Status.DONE), "not delivered"
    time.sleep(2)  # nothing more arrives
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    assert Verifier(hook["secret"]).verify(body, headers)["event_id"] == event.pk
    sent = WebhookDelivery.objects.get()
    assert sent.status == "sent" and sent.attempts >= 2


@pytest.mark.skipif(
    "postgresql" not in django_settings.DATABASES["default"]["ENGINE"],
    reason="SQLite has one writer at a time: the race needs PostgreSQL",
)
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("already", [0, 1])
def test_registrations_at_the_same_moment_keep_the_limit(author, monkeypatch, already):
    """The most webhooks one person may have holds when registrations race, even with none yet."""
    from tests.editorial.workflow.test_concurrency import race

    monkeypatch.setattr(webhooks, "MAX_WEBHOOKS", already + 1)
    for n in range(already):
        webhooks.webhook_register(owner=author, url=f"https://93.184.215.14/hook/{n}", kinds=["article.decision"])
    outcomes = race(
        *[
            lambda n=n: webhooks.webhook_register(
                owner=author, url=f"https://93.184.215.14/race/{n}", kinds=["article.decision"]
            )
            for n in range(3)
        ]
    )
    assert [o[0] for o in outcomes].count("ok") == 1, outcomes
    assert Webhook.objects.filter(owner=author, is_active=True).count() == already + 1
