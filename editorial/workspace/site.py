"""The editorial board's workspace: its own admin site, with a dashboard per role."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from editorial import parsing
from editorial.models import Delivery
from editorial.notifications import emails, inbox
from editorial.workflow import permissions
from editorial.workflow.permissions import Role
from editorial.workspace import audit_export, dashboard, diagram, metrics
from editorial.workspace.account_pages import AccountPagesMixin
from editorial.workspace.security_pages import SecurityPagesMixin
from editorial.workspace.sign_in import SignInMixin


class WorkspaceSite(SignInMixin, AccountPagesMixin, SecurityPagesMixin, admin.AdminSite):
    site_header = "Medical Advisory Board · Editorial workspace"
    site_title = "Editorial workspace"
    index_title = "Your work"
    index_template = "editorial/admin/dashboard.html"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.disable_action("delete_selected")

    def each_context(self, request):
        context = super().each_context(request)
        context["editorial_roles"] = sorted(permissions.roles(request.user))
        context["operator"] = permissions.may_operate_accounts(request.user)
        context["reads_security_log"] = permissions.may_read_security_log(request.user)
        if request.user.is_authenticated and context.get("has_permission"):
            context["inbox_unread"] = inbox.unread_count(request.user)
        return context

    def index(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "sections": dashboard.panels(request.user),
            "can_create": permissions.may_create_article(request.user),
        }
        return super().index(request, extra_context)

    def get_urls(self):
        return [
            path("inbox/", self.admin_view(self.inbox_view), name="inbox"),
            path("inbox/preferences/", self.admin_view(self.preferences_view), name="notification_preferences"),
            path("metrics/", self.admin_view(self.metrics_view), name="metrics"),
            path("workflow/", self.admin_view(self.workflow_view), name="workflow_help"),
            path("audit/export/", self.admin_view(self.export_view), name="audit_export"),
            *self.sign_in_urls(),
            *self.account_urls(),
            *self.security_urls(),
            *super().get_urls(),
        ]

    def inbox_view(self, request):
        """The person's notifications, newest first; reading is marked per person."""
        if request.method == "POST":
            ids = parsing.identifiers(request.POST.getlist("notification"), name="notification")
            marked = inbox.mark_read(request.user, None if "all" in request.POST else ids)
            messages.success(request, f"{marked} marked as read.")
            return HttpResponseRedirect(reverse("admin:inbox"))
        page = Paginator(inbox.inbox(request.user).order_by("-created_at", "-id"), 50).get_page(request.GET.get("p"))
        entries = [
            {
                "notification": item,
                "subject": emails.subject_for(item.event, request.user),
                "url": emails.action_url(item.event, request.user.pk),
            }
            for item in page.object_list
        ]
        context = {**self.each_context(request), "title": "Inbox", "entries": entries, "page": page}
        return TemplateResponse(request, "editorial/admin/inbox.html", context)

    def preferences_view(self, request):
        """Per kind of event: an e-mail at once or in a daily digest; and receipts of own actions."""
        user = request.user
        kinds = inbox.kinds_for(user)
        if request.method == "POST":
            inbox.save_preferences(
                user,
                {kind: request.POST.get(f"kind-{kind}", Delivery.IMMEDIATE) for kind, _ in kinds},
                copy_own_actions=request.POST.get("copy_own_actions") == "on",
            )
            messages.success(request, "Your notification choices are saved.")
            return HttpResponseRedirect(reverse("admin:notification_preferences"))
        chosen, copy_own = inbox.preferences(user)
        context = {
            **self.each_context(request),
            "title": "Notification choices",
            "kinds": [(kind, label, chosen.get(kind, Delivery.IMMEDIATE)) for kind, label in kinds],
            "deliveries": Delivery.choices,
            "copy_own_actions": copy_own,
        }
        return TemplateResponse(request, "editorial/admin/preferences.html", context)

    def metrics_view(self, request):
        """Editorial metrics for editors (and auditors): how fast, how many, who is late."""
        if not permissions.has_role(request.user, Role.EDITOR, Role.AUDITOR):
            raise PermissionDenied
        days = parsing.integer(request.GET.get("days"), name="days", minimum=1, maximum=3660, default=180)
        context = {**self.each_context(request), "title": "Editorial metrics", **metrics.summary(days=days)}
        return TemplateResponse(request, "editorial/admin/metrics.html", context)

    def workflow_view(self, request):
        """The review workflow as a diagram, drawn from the state machine itself."""
        context = {**self.each_context(request), "title": "How review works", "diagram": diagram.svg()}
        return TemplateResponse(request, "editorial/admin/workflow.html", context)

    def export_view(self, request):
        """The audit trail of one article or of a date range, as CSV or JSON (editors, auditors)."""
        if not permissions.may_export_audit(request.user):
            raise PermissionDenied
        return audit_export.response(request)
