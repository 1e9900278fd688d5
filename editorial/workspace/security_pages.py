"""Pages of the workspace site for the security log's export and the locked accounts.

The log is written once (``accounts.models.SecurityEvent``): exported here for auditors,
never changed. Operators see who is locked now and may lift a lockout before its cool-off
ends; each unlock is itself in the log. (The log's list is ``editorial.workspace.security``.)
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from accounts import lockout, services
from accounts.models import SecurityEvent
from editorial import parsing
from editorial.workflow import permissions
from editorial.workspace import audit_export

COLUMNS = ["time", "kind", "actor", "actor_role", "subject", "address", "detail"]


def _rows(start, end):
    events = SecurityEvent.objects.filter(created_at__gte=start, created_at__lt=end).order_by("created_at", "id")
    for event in events.iterator(chunk_size=2000):
        yield (
            event.created_at,
            event.kind,
            event.actor_name,
            event.actor_role,
            event.subject_name,
            event.address or "",
            event.detail,
        )


def export_response(request):
    """The security log of a date range (``from``, ``to``; default the last 30 days) as CSV or JSON.

    Raises ``BadParameter`` (400) for a format other than csv/json or a date that is not one.
    Written as the audit trail's export is (``audit_export.streamed``).
    """
    fmt = parsing.choice(request.GET.get("format"), name="format", choices={"csv", "json"}, default="csv")
    first, last, start, end = audit_export.requested_days(request)
    return audit_export.streamed(_rows(start, end), columns=COLUMNS, fmt=fmt, name=f"security-log-{first}-to-{last}")


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
