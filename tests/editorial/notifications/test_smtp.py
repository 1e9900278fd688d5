"""Sending by SMTP (editorial/notifications/smtp.py), against a fake server on loopback."""

import smtplib
import time

import pytest
from django.core.mail import EmailMessage
from django.test import override_settings

from editorial.notifications import smtp
from tests.processes import FakeSMTP


@pytest.fixture
def server():
    fake = FakeSMTP()
    fake.start()
    with override_settings(
        EMAIL_BACKEND="editorial.notifications.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=fake.port,
        EMAIL_USE_TLS=False,
        EMAIL_HOST_USER="",
        EMAIL_HOST_PASSWORD="",
        EMAIL_TIMEOUT=1,
    ):
        yield fake
    if getattr(smtp._kept, "backend", None):
        smtp._close(smtp._kept.backend)
    smtp._kept.__dict__.clear()
    fake.stop()


def message(n: int) -> EmailMessage:
    return EmailMessage(subject=f"m{n}", body="x", to=["someone@example.org"], headers={"Message-ID": f"<m{n}@test>"})


def test_messages_share_one_kept_connection(server):
    for n in range(3):
        smtp.send(message(n))
    assert [m["message_id"] for m in server.messages] == ["<m0@test>", "<m1@test>", "<m2@test>"]
    assert server.connections == 1


def test_a_kept_connection_the_server_dropped_is_opened_again_and_the_message_sent_once(server):
    smtp.send(message(1))
    server.drop_connections()  # the server closed the idle connection
    time.sleep(0.1)
    smtp.send(message(2))
    assert [m["message_id"] for m in server.messages] == ["<m1@test>", "<m2@test>"]
    assert server.connections == 2


def test_a_connection_idle_too_long_is_not_reused(server, monkeypatch):
    smtp.send(message(1))
    monkeypatch.setattr(smtp, "KEEP_OPEN_SECONDS", 0.0)
    smtp.send(message(2))
    assert server.connections == 2 and len(server.messages) == 2


def test_email_timeout_bounds_the_whole_message_not_each_reply(server):
    """Regression (issue 16): Django's timeout is per socket read, so a server that answers each
    command just in time held the sender for many times EMAIL_TIMEOUT, past the claim's lease."""
    server.command_delay = 0.3  # each reply well within 1 s; six of them are not
    started = time.monotonic()
    with pytest.raises(smtplib.SMTPServerDisconnected):  # Django's own backend would send it, in 1.8 s
        smtp.send(message(1))
    assert time.monotonic() - started < 1.3
    assert server.messages == []  # gave up before the end of the data
    server.command_delay = 0.0
    smtp.send(message(2))  # the next message opens a new connection, with its own deadline
    assert [m["message_id"] for m in server.messages] == ["<m2@test>"]


def test_other_backends_send_as_django_does(mailoutbox):
    smtp.send(message(1))
    assert [m.subject for m in mailoutbox] == ["m1"]


def test_a_refused_recipient_raises_and_the_connection_sends_the_next_message(server):
    server.refused_recipients = {"someone@example.org"}
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        smtp.send(message(1))
    server.refused_recipients = set()
    smtp.send(message(2))
    assert [m["message_id"] for m in server.messages] == ["<m2@test>"]
