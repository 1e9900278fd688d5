"""Django's SMTP backend, with ``EMAIL_TIMEOUT`` bounding the whole conversation of a connection.

Django passes ``EMAIL_TIMEOUT`` to each socket operation, so a server that answers every
command just before the timeout can hold a worker for many times it. Delivery claims each
e-mail with a lease (``EDITORIAL_CLAIM_TIMEOUT``) that must outlast its sending, or a second
worker would take it and send it again; so here the timeout is a deadline for everything a
connection does, from connecting to QUIT: each read and write gets what is left of it.

``config/settings/base.py`` puts this backend in place of Django's whenever SMTP is chosen.
"""

import smtplib
import time

from django.core.mail.backends import smtp


class _Deadline:
    """Each command and reply gets what is left of ``timeout`` since the connection began."""

    def __init__(self, *args, timeout: float | None = None, **kwargs) -> None:
        self.deadline = time.monotonic() + timeout if timeout else None
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


class _SMTP(_Deadline, smtplib.SMTP):
    pass


class _SMTPSSL(_Deadline, smtplib.SMTP_SSL):
    pass


class EmailBackend(smtp.EmailBackend):
    """SMTP, where ``EMAIL_TIMEOUT`` is the most one connection (one message, as delivery sends) may take.

    Raises what Django's backend raises; a deadline that passes raises
    ``smtplib.SMTPServerDisconnected`` and closes the connection. If it passed while waiting
    for the reply to the message's final dot, the server may have taken the message all the
    same (RFC 5321 §4.1.1.4 has no way to ask): the delivery is marked failed and retried,
    so such a message may arrive twice, with the same Message-ID.
    """

    @property
    def connection_class(self):
        return _SMTPSSL if self.use_ssl else _SMTP
