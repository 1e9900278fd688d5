"""The editorial board's workspace: its own admin site."""

from django.contrib import admin
from django.db.models import Count, Q

from articles.models import ArticleStatus
from editorial import permissions
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
        return context

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
    counts = visible.aggregate(
        **{f"all_{s}": Count("pk", filter=Q(status=s)) for s in statuses},
        **{f"mine_{s}": Count("pk", filter=Q(status=s, author=user)) for s in statuses},
    )
    panels = []
    for role, status, title in wanted:
        scope = "mine" if role == Role.AUTHOR else "all"
        query = f"status__exact={status}" + (f"&author__id__exact={user.pk}" if scope == "mine" else "")
        panels.append({"role": role, "title": title, "count": counts[f"{scope}_{status}"], "query": query})
    return panels
