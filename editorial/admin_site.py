"""The editorial board's workspace: its own admin site."""

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from articles.models import ArticleStatus
from editorial import notifications, permissions
from editorial.models import Delivery
from editorial.permissions import Role


class WorkspaceSite(admin.AdminSite):
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
        if request.user.is_authenticated:
            context["inbox_unread"] = notifications.unread_count(request.user)
        return context

    def get_urls(self):
        return [
            path("inbox/", self.admin_view(self.inbox_view), name="inbox"),
            path("inbox/preferences/", self.admin_view(self.preferences_view), name="notification_preferences"),
            *super().get_urls(),
        ]

    def inbox_view(self, request):
        """The person's notifications, newest first; reading is marked per person."""
        if request.method == "POST":
            ids = [int(pk) for pk in request.POST.getlist("notification") if pk.isdigit()]
            marked = notifications.mark_read(request.user, None if "all" in request.POST else ids)
            messages.success(request, f"{marked} marked as read.")
            return HttpResponseRedirect(reverse("admin:inbox"))
        page = Paginator(notifications.inbox(request.user).order_by("-created_at", "-id"), 50).get_page(
            request.GET.get("p")
        )
        entries = [
            {
                "notification": item,
                "subject": notifications.subject_for(item.event, request.user),
                "url": notifications.action_url(item.event, request.user.pk),
            }
            for item in page.object_list
        ]
        context = {**self.each_context(request), "title": "Inbox", "entries": entries, "page": page}
        return TemplateResponse(request, "editorial/admin/inbox.html", context)

    def preferences_view(self, request):
        """Per kind of event: an e-mail at once or in a daily digest; and receipts of own actions."""
        user = request.user
        kinds = notifications.kinds_for(user)
        if request.method == "POST":
            notifications.save_preferences(
                user,
                {kind: request.POST.get(f"kind-{kind}", Delivery.IMMEDIATE) for kind, _ in kinds},
                copy_own_actions=request.POST.get("copy_own_actions") == "on",
            )
            messages.success(request, "Your notification choices are saved.")
            return HttpResponseRedirect(reverse("admin:notification_preferences"))
        chosen, copy_own = notifications.preferences(user)
        context = {
            **self.each_context(request),
            "title": "Notification choices",
            "kinds": [(kind, label, chosen.get(kind, Delivery.IMMEDIATE)) for kind, label in kinds],
            "deliveries": Delivery.choices,
            "copy_own_actions": copy_own,
        }
        return TemplateResponse(request, "editorial/admin/preferences.html", context)

    def index(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "panels": dashboard_panels(request.user)}
        return super().index(request, extra_context)


#: For each role, the statuses whose articles wait for that role, with what to do about them.
PANELS = {
    Role.AUTHOR: [
        (ArticleStatus.CHANGES_REQUESTED, "Returned to you for changes"),
        (ArticleStatus.DRAFT, "Your drafts"),
        (ArticleStatus.SUBMITTED, "Submitted, waiting for reviewers"),
        (ArticleStatus.UNDER_REVIEW, "Under review"),
    ],
    Role.EDITOR: [
        (ArticleStatus.SUBMITTED, "Submitted: waiting for review to start"),
        (ArticleStatus.UNDER_REVIEW, "Under review: waiting for a decision"),
        (ArticleStatus.CHANGES_REQUESTED, "Returned to authors"),
        (ArticleStatus.APPROVED, "Approved"),
    ],
    Role.AUDITOR: [
        (ArticleStatus.APPROVED, "Approved"),
        (ArticleStatus.UNDER_REVIEW, "Under review"),
        (ArticleStatus.RETRACTED, "Retracted"),
    ],
}


def dashboard_panels(user) -> list[dict]:
    """Per role, counts of the articles that wait for this user, each linking to the list."""
    held = permissions.roles(user)
    wanted = [(role, status, title) for role in PANELS if role in held for status, title in PANELS[role]]
    if not wanted:
        return []
    visible = permissions.visible_articles(user)
    statuses = {status for _, status, _ in wanted}
    # Counting the (never null) status, not the id: the counts then need only (author, status),
    # which an index holds, so PostgreSQL answers from the index instead of every article's row.
    counts = visible.aggregate(
        **{f"all_{s}": Count("status", filter=Q(status=s)) for s in statuses},
        **{f"mine_{s}": Count("status", filter=Q(status=s, author=user)) for s in statuses},
    )
    panels = []
    for role, status, title in wanted:
        scope = "mine" if role == Role.AUTHOR else "all"
        query = f"status__exact={status}" + (f"&author__id__exact={user.pk}" if scope == "mine" else "")
        panels.append({"role": role, "title": title, "count": counts[f"{scope}_{status}"], "query": query})
    return panels
