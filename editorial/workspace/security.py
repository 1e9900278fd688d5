"""The security log in the workspace: auditors read it (and export it, ``security_pages``).

Written once (``accounts.models.SecurityEvent``), so listed here and never changed.
"""

from django.contrib import admin
from django.urls import reverse

from accounts.models import SecurityEvent
from editorial.workflow import permissions
from editorial.workspace.base import ReadOnlyAdmin


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "actor_name", "actor_role", "subject_name", "address", "detail")
    list_filter = ("kind",)
    search_fields = ("subject_name", "actor_name", "detail")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    show_facets = admin.ShowFacets.NEVER
    change_list_template = "editorial/admin/security_log_list.html"

    def has_module_permission(self, request):
        return permissions.may_read_security_log(request.user)

    def has_view_permission(self, request, obj=None):
        return permissions.may_read_security_log(request.user)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "export_url": reverse("admin:security_log_export")}
        return super().changelist_view(request, extra_context)
