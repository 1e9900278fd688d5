"""Webhook secrets at rest: encrypted in the database, decrypted only to sign, keys rotated.

Each receiver here is a real HTTP server on loopback that verifies with the secret the
registration answer showed (``standardwebhooks``, as a pipeline would).
"""

import io
import json
import logging

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from standardwebhooks.webhooks import Webhook as Verifier

from editorial import encryption
from editorial.models import Event, EventKind, IdempotencyKey, Webhook, WebhookDelivery
from editorial.notifications import checks, delivery, webhooks
from editorial.notifications.delivery import DeliveryIncomplete
from editorial.workflow import services
from tests.editorial.notifications import test_webhooks as hooks
from tests.editorial.notifications.test_delivery import relay_thread, wait_for, worker  # noqa: F401 - fixtures
from tests.editorial.notifications.test_webhooks import api_of, deliver_all, register
from tests.factories import make_article

pytestmark = pytest.mark.django_db

receiver = hooks.receiver  # the same fixture: a real HTTP server on loopback
OLD, NEW, STRANGER = (Fernet.generate_key().decode() for _ in range(3))


def stored_rows() -> str:
    """Every column of every webhook row and every kept API answer, as the database returns them."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Webhook._meta.db_table}")  # noqa: S608 - our own table name
        rows = cursor.fetchall()
        cursor.execute(f"SELECT * FROM {IdempotencyKey._meta.db_table}")  # noqa: S608
        rows += cursor.fetchall()
    return repr(rows)


def verified(received, secret: str) -> list[int]:
    """The event ids of the deliveries received, each verified with ``secret`` (raises if one fails)."""
    return [Verifier(secret).verify(body, headers)["event_id"] for headers, body in received]


def test_the_database_never_holds_the_secret_and_a_replay_does_not_show_it_again(author, receiver):
    client = api_of(author)
    made = client.post(
        "/api/v1/webhooks/",
        {"url": f"http://127.0.0.1:{receiver.port}/hook", "kinds": ["article.decision"]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="run-42",
    )
    assert made.status_code == 201, made.json()
    secret = made.json()["secret"]
    assert secret.startswith("whsec_")
    rows = stored_rows()
    assert "whsec_" not in rows and secret.removeprefix("whsec_") not in rows
    assert encryption.decrypt(Webhook.objects.get().encrypted_secret) == secret

    again = client.post(
        "/api/v1/webhooks/",
        {"url": f"http://127.0.0.1:{receiver.port}/hook", "kinds": ["article.decision"]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="run-42",
    )
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert "secret" not in again.json() and again.json()["id"] == made.json()["id"]
    assert Webhook.objects.count() == 1


@pytest.mark.parametrize(
    ("wrong", "reason"),
    [
        ([STRANGER], "No key in EDITORIAL_WEBHOOK_SECRET_KEYS decrypts"),  # another deployment's, or dropped
        (["not-a-key"], "EDITORIAL_WEBHOOK_SECRET_KEYS: key 1 is not 32 bytes"),  # a worker runs no system check
    ],
)
def test_a_secret_no_key_opens_fails_its_delivery_with_the_reason_then_is_dead_and_retried(
    author, receiver, in_state, settings, caplog, wrong, reason
):
    hook = register(api_of(author), f"http://127.0.0.1:{receiver.port}/hook").json()
    receiver.start()
    in_state("approved")
    decision = Event.objects.get(kind=EventKind.DECISION)
    keys = settings.EDITORIAL_WEBHOOK_SECRET_KEYS
    settings.EDITORIAL_WEBHOOK_SECRET_KEYS = wrong
    with (
        caplog.at_level(logging.WARNING, logger="editorial.notifications.webhooks"),
        pytest.raises(DeliveryIncomplete),  # the task's retry, not an exception out of the worker
    ):
        delivery.deliver(decision.pk)
    failed = WebhookDelivery.objects.get()
    assert failed.status == "failed" and failed.attempts == 1 and receiver.received == []
    assert failed.last_error.startswith(f"SecretUnreadable: {reason}")
    assert [(r.levelno, "SecretUnreadable" in r.getMessage()) for r in caplog.records] == [(logging.ERROR, True)]
    assert Event.objects.get(pk=decision.pk).status == Event.Status.PENDING
    delivery.give_up(decision.pk)
    assert WebhookDelivery.objects.get().status == "dead"

    settings.EDITORIAL_WEBHOOK_SECRET_KEYS = keys  # the key is back: the dead letter is retried by hand
    webhooks.retry_dead([failed.pk])
    deliver_all()
    assert WebhookDelivery.objects.get().status == "sent"
    assert verified(receiver.received, hook["secret"]) == [decision.pk]


def test_rotation_old_secrets_stay_readable_then_move_to_the_first_key(author, receiver, in_state, settings):
    settings.EDITORIAL_WEBHOOK_SECRET_KEYS = [OLD]
    first = register(api_of(author), f"http://127.0.0.1:{receiver.port}/first").json()
    settings.EDITORIAL_WEBHOOK_SECRET_KEYS = [NEW, OLD]  # a new key first: it encrypts, both decrypt
    second = register(api_of(author), f"http://127.0.0.1:{receiver.port}/second").json()
    webhooks.webhook_remove(owner=author, webhook=Webhook.objects.get(pk=second["id"]))  # re-encrypted too
    tokens = dict(Webhook.objects.values_list("pk", "encrypted_secret"))
    assert Fernet(OLD).decrypt(tokens[first["id"]].encode()).decode() == first["secret"]
    assert Fernet(NEW).decrypt(tokens[second["id"]].encode()).decode() == second["secret"]
    receiver.start()
    in_state("approved")
    deliver_all()  # the first webhook's secret, under the old key, still signs
    assert len(receiver.received) == 1 and verified(receiver.received, first["secret"])

    call_command("reencrypt_webhook_secrets", stdout=(out := io.StringIO()))
    assert "1 webhook secret(s) re-encrypted under the first key, 1 already under it" in out.getvalue()
    moved = Webhook.objects.get(pk=first["id"]).encrypted_secret
    assert moved != tokens[first["id"]] and Fernet(NEW).decrypt(moved.encode()).decode() == first["secret"]
    assert Webhook.objects.get(pk=second["id"]).encrypted_secret == tokens[second["id"]]  # left alone

    settings.EDITORIAL_WEBHOOK_SECRET_KEYS = [NEW]  # the old key dropped: everything still signs
    in_state("approved")
    deliver_all()
    assert len(verified(receiver.received, first["secret"])) == 2
    assert WebhookDelivery.objects.filter(status="sent").count() == 2


def test_reencrypting_names_the_webhooks_no_key_opens_and_exits_1(author, settings):
    made = register(api_of(author), "https://93.184.215.14/hook").json()
    before = Webhook.objects.get().encrypted_secret
    settings.EDITORIAL_WEBHOOK_SECRET_KEYS = [NEW, STRANGER]
    with pytest.raises(CommandError, match=rf"0 webhook secret\(s\) re-encrypted.*webhooks {made['id']}\b") as refused:
        call_command("reencrypt_webhook_secrets")
    assert refused.value.returncode == 1
    assert Webhook.objects.get().encrypted_secret == before  # left as it was


@pytest.mark.parametrize(
    ("keys", "debug", "ids"),
    [
        ([], False, ["editorial.E003"]),
        (["not-a-key", NEW], False, ["editorial.E003"]),
        ([NEW, encryption.DEVELOPMENT_KEY], False, ["editorial.E004"]),
        ([encryption.DEVELOPMENT_KEY], True, []),  # make run
        ([NEW, OLD], False, []),
    ],
)
def test_the_system_check_refuses_unusable_keys_and_the_public_one_without_debug(settings, keys, debug, ids):
    settings.EDITORIAL_WEBHOOK_SECRET_KEYS, settings.DEBUG = keys, debug
    errors = checks.webhook_secret_keys(None)
    assert [error.id for error in errors] == ids
    assert not any(key in error.msg for error in errors for key in keys if key)  # never prints a key


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker", "relay_thread", "editor")
def test_a_real_worker_with_the_wrong_key_retries_then_leaves_it_dead_and_carries_on(author, receiver, settings):
    """No crash loop: the task retries with backoff, gives up, and the worker goes on delivering."""
    settings.EDITORIAL_RETRY_BASE_SECONDS, settings.EDITORIAL_DELIVERY_MAX_RETRIES = 0.2, 2
    hook = register(api_of(author), f"http://127.0.0.1:{receiver.port}/hook", kinds=["article.submitted"]).json()
    receiver.start()
    keys = settings.EDITORIAL_WEBHOOK_SECRET_KEYS
    settings.EDITORIAL_WEBHOOK_SECRET_KEYS = [STRANGER]
    first = services.article_submit(article=make_article(author), actor=author)
    assert wait_for(lambda: WebhookDelivery.objects.filter(status="dead").exists()), "never given up"
    dead = WebhookDelivery.objects.get()
    assert dead.attempts == 3 and dead.last_error.startswith("SecretUnreadable")
    assert Event.objects.get(article=first, kind=EventKind.SUBMITTED).status == Event.Status.DONE
    assert receiver.received == []

    settings.EDITORIAL_WEBHOOK_SECRET_KEYS = keys
    second = services.article_submit(article=make_article(author), actor=author)
    webhooks.retry_dead([dead.pk])
    assert wait_for(lambda: WebhookDelivery.objects.filter(status="sent").count() == 2), "not delivered"
    submitted = Event.objects.filter(kind=EventKind.SUBMITTED, article__in=[first, second])
    assert sorted(verified(receiver.received, hook["secret"])) == sorted(submitted.values_list("pk", flat=True))


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_the_secrets_kept_in_clear_and_the_reverse_decrypts_them(author):
    """0019 on a database written before it: a webhook's secret, and a kept registration answer."""
    secret = "whsec_" + "A" * 43 + "="
    before = [("editorial", "0018_idempotency_key_expiry_index")]
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(before)
        old = MigrationExecutor(connection).loader.project_state(before).apps
        hook = old.get_model("editorial", "Webhook").objects.create(
            owner_id=author.pk, url="https://93.184.215.14/hook", kinds=["article.decision"], secret=secret
        )
        answer = {"id": hook.pk, "url": "https://93.184.215.14/hook", "secret": secret}
        old.get_model("editorial", "IdempotencyKey").objects.create(
            owner_id=author.pk, key="run-1", fingerprint="f" * 64, status_code=201, body=json.dumps(answer)
        )

        MigrationExecutor(connection).migrate(latest)
        assert "whsec_" not in stored_rows()
        assert encryption.decrypt(Webhook.objects.get(pk=hook.pk).encrypted_secret) == secret
        assert json.loads(IdempotencyKey.objects.get().body) == {"id": hook.pk, "url": "https://93.184.215.14/hook"}

        MigrationExecutor(connection).migrate(before)
        reverted = MigrationExecutor(connection).loader.project_state(before).apps
        assert reverted.get_model("editorial", "Webhook").objects.get(pk=hook.pk).secret == secret
    finally:
        MigrationExecutor(connection).migrate(latest)
