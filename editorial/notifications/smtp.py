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

``config/settings/base.py`` puts this backend in place of Django's whenever SMTP is chosen.
"""

import contextlib
import smtplib
import threading
import time

from django.core.mail import get_connection
from django.core.mail.backends import smtp

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

    def send(self, s) -> None:
        self._bound()
        super().send(s)

    def getreply(self):
        self._bound()
        return super().getreply()

    def data(self, msg):
        self.data_started = True  # from here on, a failure may leave the message taken
        return super().data(msg)


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
            dropped = reused and not getattr(backend.connection, "data_started", True)
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
