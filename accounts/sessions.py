"""Sessions: they end after ``ACCOUNTS_IDLE_TIMEOUT_MINUTES`` without a request.

The session's own expiry (``SESSION_COOKIE_AGE``, set to the idle timeout) does the ending;
this middleware moves it forward at most once a minute, so an ordinary page costs no session
write. A new session key is issued at login (Django) and at each re-authentication: the
second factor, a signature, a new API token (OWASP ASVS 5.0 §7.2, §7.3).
"""

import time

from django.conf import settings

#: When this session's expiry was last moved forward (seconds since the epoch).
STAMP_KEY = "accounts_active_at"
REFRESH_EVERY = 60


def stamp(request) -> None:
    """Record activity now: the session (and its cookie) expire one idle timeout from now."""
    request.session[STAMP_KEY] = int(time.time())


def rotate(request) -> None:
    """A new session key for the same session: after a re-authentication."""
    session = getattr(request, "session", None)
    if session is not None and not session.is_empty():
        session.cycle_key()


class IdleTimeoutMiddleware:
    """Keep a signed-in session alive while it is used; it expires when it is not."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Without a session cookie there is nobody to keep alive, and touching request.user
        # would make every anonymous page vary on the cookie (see editorial.public.cache).
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and request.user.is_authenticated:
            last = session.get(STAMP_KEY, 0)
            if time.time() - last >= REFRESH_EVERY:
                stamp(request)
        return self.get_response(request)
