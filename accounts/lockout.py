"""Lockout after failed attempts (django-axes): per user name, and per client address.

A user name locks after ``ACCOUNTS_LOCKOUT_USERNAME_FAILURES`` failures (5) from any
address; an address after ``ACCOUNTS_LOCKOUT_ADDRESS_FAILURES`` (20) across user names.
Failures are the login form's, the signing password's, the second factor's and the API's
(a wrong token counts against its address only). Both last ``AXES_COOLOFF_TIME`` after the
latest failure, unless an operator unlocks them first (OWASP ASVS 5.0 §6.3).

Axes deletes a failed attempt once past the cool-off, but only when someone next signs in or
fails; its logs (of logins, of failures), off in these settings, are never deleted by it.
``purge_access_records`` (the beat's, daily) deletes all three past
``ACCOUNTS_ACCESS_RECORD_DAYS``. What an operator must keep of a lockout is in the security log.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from operator import or_

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db.models import Max, Q, Sum
from django.http import HttpRequest
from django.utils import timezone


def _limits() -> tuple[int, int]:
    return settings.ACCOUNTS_LOCKOUT_USERNAME_FAILURES, settings.ACCOUNTS_LOCKOUT_ADDRESS_FAILURES


def _recent(request=None):
    """Failed attempts within the cool-off time (of the request's moment, or of now)."""
    attempts = AccessAttempt.objects.all()
    if settings.AXES_COOLOFF_TIME is not None:
        now = timezone.now() if request is None else None
        threshold = now - settings.AXES_COOLOFF_TIME if now else get_cool_off_threshold(request)
        attempts = attempts.filter(attempt_time__gte=threshold)
    return attempts


def _sum(attempts) -> int:
    return attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0


class LockoutHandler(AxesDatabaseHandler):
    """django-axes' database handler with two limits: one per user name, one per address.

    Axes compares one failure count with one limit (``AXES_FAILURE_LIMIT``, set to the user
    name's). ``get_failures`` therefore returns the failures on the user name's scale: the
    user name's own, or the address's scaled down (20 failures from an address count as 5),
    whichever is higher. ``floor(n × 5 / 20) >= 5`` exactly when ``n >= 20``.
    """

    def failures_by(self, request, credentials: dict | None = None) -> tuple[int, int]:
        """(failures of the user name, failures from the address) within the cool-off time: one query."""
        username = get_client_username(request, credentials)
        address = getattr(request, "axes_ip_address", None)
        wanted = {}
        if username:
            wanted["username"] = Q(username=username)
        if address:
            wanted["address"] = Q(ip_address=address)
        if not wanted:
            return 0, 0
        totals = (
            _recent(request)
            .filter(reduce(or_, wanted.values()))
            .aggregate(**{key: Sum("failures_since_start", filter=rule) for key, rule in wanted.items()})
        )
        return totals.get("username") or 0, totals.get("address") or 0

    def get_failures(self, request, credentials: dict | None = None) -> int:
        by_username, by_address = self.failures_by(request, credentials)
        username_limit, address_limit = _limits()
        return max(by_username, by_address * username_limit // address_limit)


def _handler() -> LockoutHandler:
    return AxesProxyHandler.get_implementation()


def may_try(request, username: str | None) -> bool:
    """Whether ``username`` (None: no user name, e.g. a token) may try a password from this request."""
    return AxesProxyHandler.is_allowed(request, {"username": username})


def count_failure(request, username: str | None) -> None:
    """Count one failed attempt that did not go through ``authenticate()`` (a code, a token)."""
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)


def crossed_limit(request, credentials: dict | None) -> str | None:
    """Which limit this failure has just reached ("user name" / "address"), if one exactly."""
    by_username, by_address = _handler().failures_by(request, credentials)
    username_limit, address_limit = _limits()
    if by_username == username_limit:
        return "user name"
    if by_address == address_limit:
        return "address"
    return None


@dataclass(frozen=True)
class Lock:
    """A user name or an address locked now."""

    kind: str  # "username" or "address"
    value: str
    failures: int
    last_failure: datetime


def locks_now() -> list[Lock]:
    """Every user name and address locked now, the most recent first (for the operators' page)."""
    username_limit, address_limit = _limits()
    recent = _recent()
    found = []
    for kind, field, limit in (("username", "username", username_limit), ("address", "ip_address", address_limit)):
        rows = (
            recent.exclude(**{f"{field}__isnull": True})
            .values(field)
            .annotate(n=Sum("failures_since_start"), last=Max("attempt_time"))
            .filter(n__gte=limit)
            .order_by()
        )
        found += [Lock(kind, row[field], row["n"], row["last"]) for row in rows]
    return sorted(found, key=lambda lock: lock.last_failure, reverse=True)


def is_locked(*, username: str | None = None, address: str | None = None) -> bool:
    """Whether this user name or this address is locked now (outside any request)."""
    username_limit, address_limit = _limits()
    recent = _recent()
    if username and _sum(recent.filter(username=username)) >= username_limit:
        return True
    return bool(address) and _sum(recent.filter(ip_address=address)) >= address_limit


def reset(*, username: str | None = None, address: str | None = None) -> int:
    """Forget the failures of a user name or an address (an operator's unlock); returns rows removed."""
    if username:
        return AxesProxyHandler.reset_attempts(username=username)
    if address:
        return AxesProxyHandler.reset_attempts(ip_address=address)
    return 0


def purge_access_records() -> dict[str, int]:
    """Delete axes' records older than ``ACCOUNTS_ACCESS_RECORD_DAYS`` (90); returns the counts.

    The access and failure logs through axes' own handler API (``reset_logs``,
    ``reset_failure_logs`` with ``age_days``: what ``manage.py axes_reset_logs`` does). Failed
    attempts as old, unless they still count: never one within the cool-off, and none when
    there is no cool-off (``AXES_COOLOFF_TIME`` None: a lock lasts until an operator lifts it).
    """
    days = settings.ACCOUNTS_ACCESS_RECORD_DAYS
    attempts = 0
    if settings.AXES_COOLOFF_TIME is not None:
        before = timezone.now() - max(timedelta(days=days), settings.AXES_COOLOFF_TIME)
        attempts = AccessAttempt.objects.filter(attempt_time__lt=before).delete()[0]
    return {
        "attempts": attempts,
        "logs": AxesProxyHandler.reset_logs(age_days=days),
        "failure_logs": AxesProxyHandler.reset_failure_logs(age_days=days),
    }


def command_request(command: str) -> HttpRequest:
    """A request standing for a management command that checks passwords (``seed_demo`` signs).

    The lockout counts a command's failures like anyone's, at the local address.
    """
    request = HttpRequest()
    request.META.update({"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": f"manage.py {command}"})
    request.path = request.path_info = f"/manage.py/{command}"
    return request
