"""Sending by SMTP: a deadline for each message, and one connection kept open between messages.

Django passes ``EMAIL_TIMEOUT`` to each socket operation, so a server that answers every
command just before the timeout can hold a worker for many times it. Delivery claims each
e-mail with a lease (``EDITORIAL_CLAIM_TIMEOUT``) that must outlast its sending, or a second
worker would take it and send it again; so here the timeout is a deadline for everything one
message takes (opening the connection, if needed, included): each read and write gets what is
left of it.

Django also opens a connection for every message (connect, greeting, EHLO, and QUIT before
the message can be marked sent): most of a delivery's time on a fast network. ``send`` keeps
each worker thread's connection open between messages instead, for ``KEEP_OPEN_SECONDS``.

And smtplib waits for each reply before the next command: MAIL, RCPT, DATA and the message
are four round trips. A server that offers PIPELINING (RFC 2920, as mail servers commonly
do) gets MAIL, RCPT and DATA in one write, then the message after its 354: two
(``_Deadline.sendmail``). No maintained Python client pipelines a synchronous send; this is
smtplib's own ``sendmail`` with its commands grouped, its replies read in order and its
errors raised as it raises them.

``config/settings/base.py`` puts this backend in place of Django's whenever SMTP is chosen.
"""

import contextlib
import re
import smtplib
import threading
import time

from django.core.mail import get_connection
from django.core.mail.backends import smtp

#: A line break that is not CRLF (smtplib's ``_fix_eols``), and a line that starts with a dot.
_LONE_EOL = re.compile(rb"(?:\r\n|\n|\r(?!\n))")
_LEADING_DOT = re.compile(rb"(?m)^\.")

#: A connection idle longer than this is closed and opened again rather than reused (servers
#: may drop idle clients after a few minutes: RFC 5321 §4.5.3.2.7 asks them to wait five).
KEEP_OPEN_SECONDS = 30.0


class _Deadline:
    """Each command and reply gets what is left of the current message's deadline."""

    def __init__(self, *args, timeout: float | None = None, **kwargs) -> None:
        self.deadline = time.monotonic() + timeout if timeout else None
        self.data_started = False
        super().__init__(*args, timeout=timeout, **kwargs)

    def _bound(self) -> None:
        if self.deadline is None or self.sock is None:
            return
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.close()
            raise smtplib.SMTPServerDisconnected("EMAIL_TIMEOUT passed before the server finished")
        self.sock.settimeout(left)

    @property
    def expired(self) -> bool:
        """Whether the message's deadline has passed (a socket timed out on what was left, or ``_bound`` refused)."""
        return self.deadline is not None and time.monotonic() >= self.deadline - 0.01

    def send(self, s) -> None:
        self._bound()
        super().send(s)

    def getreply(self):
        self._bound()
        return super().getreply()

    def data(self, msg):
        self.data_started = True  # from here on, a failure may leave the message taken
        return super().data(msg)

    def sendmail(self, from_addr, to_addrs, msg, mail_options=(), rcpt_options=()):
        """smtplib's ``sendmail``, pipelined when the server offers it (RFC 2920 §3.1).

        MAIL, each RCPT and DATA go in one write and their replies are read in order; after
        a 354 the message follows. Returns the refused recipients, as smtplib does (address ->
        (code, reply)); raises ``SMTPSenderRefused``, ``SMTPRecipientsRefused`` (all refused,
        or one answered 421) or ``SMTPDataError`` as smtplib does, after a RSET (or closing on
        a 421). A DATA that got 354 although nothing before it was accepted is ended at once
        with a lone ".".
        Without PIPELINING, or with ESMTP options, smtplib's own ``sendmail``.
        """
        self.ehlo_or_helo_if_needed()
        if mail_options or rcpt_options or not self.has_extn("pipelining"):
            return super().sendmail(from_addr, to_addrs, msg, mail_options, rcpt_options)
        if isinstance(msg, str):
            msg = _LONE_EOL.sub(b"\r\n", msg.encode("ascii"))
        to_addrs = [to_addrs] if isinstance(to_addrs, str) else list(to_addrs)
        size = f" SIZE={len(msg)}" if self.has_extn("size") else ""
        commands = [f"MAIL FROM:{smtplib.quoteaddr(from_addr)}{size}"]
        commands += [f"RCPT TO:{smtplib.quoteaddr(address)}" for address in to_addrs]
        self.send("".join(f"{command}\r\n" for command in [*commands, "DATA"]))
        mail = self.getreply()
        replies = [self.getreply() for _ in to_addrs]
        data = self.getreply()
        refused = {a: reply for a, reply in zip(to_addrs, replies, strict=True) if reply[0] not in (250, 251)}
        closing = 421 in (mail[0], data[0], *(code for code, _ in replies))  # the server is going away
        if mail[0] != 250 or len(refused) == len(to_addrs) or data[0] != 354 or closing:
            if data[0] == 354 and not closing:
                self.send(b".\r\n")  # the server waits for a message: end it empty
                self.getreply()
            self._end_failed(closing)
            if mail[0] != 250:
                raise smtplib.SMTPSenderRefused(mail[0], mail[1], from_addr)
            if refused and (closing or len(refused) == len(to_addrs)):
                raise smtplib.SMTPRecipientsRefused(refused)
            raise smtplib.SMTPDataError(*data)
        self.data_started = True
        body = _LEADING_DOT.sub(b"..", msg)  # RFC 5321 §4.5.2, as smtplib's data() does
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        self.send(body + b".\r\n")
        code, reply = self.getreply()
        if code != 250:
            self._end_failed(code == 421)
            raise smtplib.SMTPDataError(code, reply)
        return refused

    def _end_failed(self, closing: bool) -> None:
        """After a refusal: close on a 421 (the server is going away), else RSET, as smtplib does."""
        if closing:
            self.close()
        else:
            self._rset()


class _SMTP(_Deadline, smtplib.SMTP):
    pass


class _SMTPSSL(_Deadline, smtplib.SMTP_SSL):
    pass


class EmailBackend(smtp.EmailBackend):
    """Django's SMTP backend, where ``EMAIL_TIMEOUT`` is the most one message may take in all.

    Raises what Django's backend raises; a deadline that passes raises
    ``smtplib.SMTPServerDisconnected`` and closes the connection. If it passed while waiting
    for the reply to the message's final dot, the server may have taken the message all the
    same (RFC 5321 §4.1.1.4 has no way to ask): the delivery is marked failed and retried,
    so such a message may arrive twice, with the same Message-ID.
    """

    @property
    def connection_class(self):
        return _SMTPSSL if self.use_ssl else _SMTP

    def next_message(self) -> None:
        """A kept connection starts a new message: a new deadline, no data sent yet."""
        if self.connection is not None:
            self.connection.deadline = time.monotonic() + self.timeout if self.timeout else None
            self.connection.data_started = False


_kept = threading.local()


def send(message) -> None:
    """Send one e-mail; over SMTP, on this thread's connection, kept open between messages.

    Other backends (files, memory) send as Django does. A kept connection the server dropped
    while it was idle fails at the first command, before any of the message was sent: it is
    opened again and the message sent once more, once. Any other failure closes the
    connection and is raised.
    """
    backend = getattr(_kept, "backend", None)
    if backend is None:
        backend = get_connection(fail_silently=False)
        if not isinstance(backend, EmailBackend):
            message.connection = backend
            message.send()
            return
        _kept.backend, _kept.used = backend, 0.0
    if backend.connection is not None and time.monotonic() - _kept.used > KEEP_OPEN_SECONDS:
        _close(backend)
    reused = backend.connection is not None
    backend.next_message()
    try:
        try:
            backend.open()  # opened here, so that send_messages leaves it open
            backend.send_messages([message])
        except (smtplib.SMTPServerDisconnected, OSError):
            kept = backend.connection
            dropped = reused and not getattr(kept, "data_started", True) and not getattr(kept, "expired", True)
            _close(backend)
            if not dropped:
                raise
            backend.open()
            backend.send_messages([message])
    except Exception:
        _close(backend)
        raise
    finally:
        _kept.used = time.monotonic()


def _close(backend: EmailBackend) -> None:
    with contextlib.suppress(OSError, smtplib.SMTPException):
        backend.close()
    backend.connection = None
