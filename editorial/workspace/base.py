"""Base classes of the workspace's pages: records that are only read, history never written."""

from datetime import datetime

from django.contrib import admin
from django.http import Http404, HttpResponseNotAllowed
from django.utils import timezone
from django.utils.formats import date_format
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper


def local_minute(value: datetime) -> str:
    """A moment as the workspace writes it: "29 Nov 2026 22:05", in the site's time zone."""
    return date_format(timezone.localtime(value), "j M Y H:i")


class _ContextHelper(HistoricalRecordContextHelper):
    def prepare_delta_change_value(self, change, value):
        """Values as people read them: labels for choices, local dates, names for a list
        (specialties), Yes/No, "—" for nothing."""
        if value is None or (not isinstance(value, str | int) and getattr(value, "pk", 0) is None):
            return "—"  # not "Deleted ... (pk=None)" for an empty foreign key
        field = self.model._meta.get_field(change.field)
        if field.many_to_many:
            names = sorted(str(item) for item in super().prepare_delta_change_value(change, value))
            return ", ".join(names) or "—"
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if field.choices:
            return dict(field.flatchoices).get(value, value)
        if isinstance(value, datetime):
            return local_minute(value)
        return super().prepare_delta_change_value(change, value)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records of what happened: listed and opened, never added, changed or deleted here."""

    actions = []

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyHistoryAdmin(SimpleHistoryAdmin):
    """django-simple-history's pages, read-only for everyone, superusers included.

    Its "revert" form is a write path past every service: only GET is
    served, and only for objects this person may see at all.
    """

    object_history_list_template = "editorial/admin/history_list.html"

    def history_view(self, request, object_id, extra_context=None):
        if self.get_object(request, object_id) is None:
            raise Http404("Nothing to show here.")
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET"], "History is read-only: nothing can be reverted.")
        if self.get_object(request, object_id) is None:
            raise Http404("Nothing to show here.")
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_historical_record_context_helper(self, request, historical_record):
        return _ContextHelper(self.model, historical_record)

    def revert_disabled(self, request, obj=None):
        return True

    def has_change_history_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
