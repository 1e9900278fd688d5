"""Pages of the workspace site for the security log's export and the locked accounts.

The log is written once (``accounts.models.SecurityEvent``): exported here for auditors,
never changed. Operators see who is locked now and may lift a lockout before its cool-off
ends; each unlock is itself in the log. (The log's list is ``editorial.workspace.security``.)
"""

import csv
import json
from datetime import datetime, time, timedelta
from itertools import chain

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest, HttpResponseNotAllowed, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from accounts import lockout, services
from accounts.models import SecurityEvent
from editorial import parsing
from editorial.workflow import permissions
from editorial.workspace.audit_export import BOM, inert

COLUMNS = ["time", "kind", "actor", "actor_role", "subject", "address", "detail"]


def _rows(start, end):
    events = SecurityEvent.objects.filter(created_at__gte=start, created_at__lt=end).order_by("created_at", "id")
    for event in events.iterator(chunk_size=2000):
        yield [
            event.created_at.isoformat(),
            event.kind,
            event.actor_name,
            event.actor_role,
            event.subject_name,
            event.address or "",
            event.detail,
        ]


class _Echo:
    def write(self, value):
        return value


def export_response(request):
    """The security log of a date range (``from``, ``to``; default the last 30 days) as CSV or JSON.

    Raises ``BadParameter`` (400) for a format other than csv/json or a date that is not one.
    CSV cells are kept inert for spreadsheets, as the audit trail's are (``audit_export``).
    """
    fmt = parsing.choice(request.GET.get("format"), name="format", choices={"csv", "json"}, default="csv")
    today = timezone.localdate()
    first = parsing.calendar_date(request.GET.get("from"), name="from", default=today - timedelta(days=30))
    last = parsing.calendar_date(request.GET.get("to"), name="to", default=today)
    if last < first:
        raise parsing.BadParameter("to", "must not be before 'from'.")
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(first, time.min), tz)
    end = timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min), tz)
    rows = _rows(start, end)
    if fmt == "csv":
        writer = csv.writer(_Echo())
        lines = (writer.writerow([row[0], *(inert(value) for value in row[1:])]) for row in rows)
        body = chain([BOM + writer.writerow(COLUMNS)], lines)
        content_type = "text/csv; charset=utf-8"
    else:
        body = _json(rows)
        content_type = "application/json"
    response = StreamingHttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="security-log-{first}-to-{last}.{fmt}"'
    return response


def _json(rows):
    yield "[\n"
    for number, row in enumerate(rows):
        yield ("" if number == 0 else ",\n") + json.dumps(dict(zip(COLUMNS, row, strict=True)), ensure_ascii=False)
    yield "\n]\n"


class SecurityPagesMixin:
    """Views of ``WorkspaceSite``: the security log's export, and the locked accounts."""

    def security_urls(self) -> list:
        return [
            path("security/log/export/", self.admin_view(self.security_log_export_view), name="security_log_export"),
            path("security/locks/", self.admin_view(self.locks_view), name="locks"),
        ]

    def security_log_export_view(self, request):
        if not permissions.may_read_security_log(request.user):
            raise PermissionDenied
        return export_response(request)

    def locks_view(self, request):
        """User names and addresses locked now; an operator lifts a lockout with a reason logged."""
        if not permissions.may_operate_accounts(request.user):
            raise PermissionDenied
        if request.method == "POST":
            username, address = request.POST.get("username", ""), request.POST.get("address", "")
            if not (username or address):
                return HttpResponseBadRequest("Name a user name or an address to unlock.")
            services.unlock(actor=request.user, request=request, username=username, address=address)
            messages.success(request, f"Unlocked {username or 'address ' + address}.")
            return HttpResponseRedirect(reverse("admin:locks"))
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "POST"])
        context = {
            **self.each_context(request),
            "title": "Locked accounts",
            "locks": lockout.locks_now(),
            "username_limit": settings.ACCOUNTS_LOCKOUT_USERNAME_FAILURES,
            "address_limit": settings.ACCOUNTS_LOCKOUT_ADDRESS_FAILURES,
            "cooloff": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        }
        return TemplateResponse(request, "editorial/admin/locks.html", context)
