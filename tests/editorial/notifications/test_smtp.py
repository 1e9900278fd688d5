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


def test_a_deadline_passed_on_a_kept_connection_is_not_taken_for_a_dropped_one(server):
    """The message gets one EMAIL_TIMEOUT, not a second one on a new connection (the lease outlasts one)."""
    smtp.send(message(1))
    server.command_delay = 0.45  # the pipelined replies come too late for the deadline
    started = time.monotonic()
    with pytest.raises(smtplib.SMTPServerDisconnected):
        smtp.send(message(2))
    assert time.monotonic() - started < 1.3
    assert server.connections == 1


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


def writes_per_message(monkeypatch) -> list:
    """The client's writes to the server (``smtplib.SMTP.send``), as (count so far) after each message."""
    writes = []
    send = smtplib.SMTP.send
    monkeypatch.setattr(smtplib.SMTP, "send", lambda self, data: writes.append(data) or send(self, data))
    return writes


@pytest.mark.parametrize(("pipelining", "writes"), [(True, 2), (False, 4)])
def test_a_server_that_offers_pipelining_gets_the_commands_in_one_write(server, monkeypatch, pipelining, writes):
    """RFC 2920: MAIL, RCPT and DATA in one write, the message after the 354; else one command at a time."""
    server.pipelining = pipelining
    smtp.send(message(0))  # the connection opened (greeting, EHLO), then kept
    sent = writes_per_message(monkeypatch)
    smtp.send(message(1))
    assert len(sent) == writes
    assert [m["message_id"] for m in server.messages] == ["<m0@test>", "<m1@test>"]


def test_the_pipelined_message_is_the_bytes_smtplib_sends(server, monkeypatch):
    """Dots at the start of a line doubled, bare line ends made CRLF, the lone dot after (RFC 5321 §4.5.2)."""
    body = "first\n.leading dot\r\n..two\rlast"
    sent = writes_per_message(monkeypatch)
    for pipelining in (True, False):
        server.pipelining = pipelining
        if getattr(smtp._kept, "backend", None):
            smtp._close(smtp._kept.backend)
        smtp.send(
            EmailMessage(subject="dots", body=body, to=["someone@example.org"], headers={"Message-ID": "<d@test>"})
        )
    data = [chunk for chunk in sent if isinstance(chunk, bytes) and b"Message-ID" in chunk]
    assert len(data) == 2
    strip_date = [
        b"\r\n".join(line for line in chunk.split(b"\r\n") if not line.startswith(b"Date:")) for chunk in data
    ]
    assert strip_date[0] == strip_date[1]
    assert b"\r\n..leading dot\r\n" in data[0] and data[0].endswith(b"\r\n.\r\n")


def test_a_354_after_every_recipient_was_refused_ends_the_message_empty_and_raises(server):
    server.refused_recipients = {"someone@example.org"}
    server.data_despite_refusals = True
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        smtp.send(message(1))
    assert server.messages == []
    server.refused_recipients = set()
    smtp.send(message(2))
    assert [m["message_id"] for m in server.messages] == ["<m2@test>"]
