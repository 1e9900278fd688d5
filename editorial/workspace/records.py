"""The read-only records of what happened: transitions, events and their deliveries (e-mail, inbox, webhooks)."""

from django.contrib import admin, messages

from editorial.models import Event, Notification, TransitionRecord, WebhookDelivery
from editorial.notifications import delivery, webhooks
from editorial.workflow import permissions
from editorial.workspace.base import ReadOnlyAdmin


@admin.register(TransitionRecord)
class TransitionRecordAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "article",
        "transition",
        "from_status",
        "to_status",
        "actor_name",
        "actor_role",
        "reason",
        "review_round",
    )
    list_filter = ("transition", "to_status")
    list_select_related = ("article",)
    search_fields = ("article__title", "reason")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")

    def get_queryset(self, request):
        visible = permissions.visible_articles(request.user)
        return super().get_queryset(request).filter(article__in=visible)

    def has_module_permission(self, request):
        return bool(permissions.roles(request.user))

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return bool(permissions.roles(request.user))
        return permissions.may_view_article(request.user, obj.article)


class NotificationInline(admin.TabularInline):
    model = Notification
    fields = ("recipient", "channel", "status", "attempts", "last_error", "sent_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "article", "actor", "status", "relayed_at", "done_at")
    list_filter = ("kind", "status")
    list_select_related = ("article", "actor")
    inlines = [NotificationInline]
    ordering = ("-created_at", "-id")

    def has_module_permission(self, request):
        return permissions.may_export_audit(request.user) or request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)


class DeliveryLogAdmin(ReadOnlyAdmin):
    """A log of deliveries (e-mails, webhooks): auditors and operators read it; operators retry
    the dead ones (``retry_dead``: their ids -> the events handed over again)."""

    retry_dead = None
    what = "dead deliveries"
    ordering = ("-created_at", "-id")
    actions = ["retry"]

    @admin.display(description="event", ordering="event__kind")
    def event_kind(self, obj):
        return obj.event.get_kind_display()

    @admin.display(description="article")
    def article(self, obj):
        return obj.event.article

    @admin.action(description="Retry the selected dead deliveries", permissions=["retry"])
    def retry(self, request, queryset):
        dead = queryset.filter(status=Notification.Status.DEAD)
        count = dead.count()
        events = self.retry_dead(dead.values_list("pk", flat=True))
        messages.success(request, f"{count} {self.what} queued again ({len(events)} events).")

    def has_retry_permission(self, request):
        return permissions.may_operate_notifications(request.user)

    def has_module_permission(self, request):
        return permissions.may_export_audit(request.user) or request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)


@admin.register(Notification)
class NotificationAdmin(DeliveryLogAdmin):
    """The notification log: every delivery, its attempts and errors; dead letters can be retried."""

    list_display = (
        "created_at",
        "event_kind",
        "article",
        "recipient",
        "channel",
        "status",
        "attempts",
        "last_error",
        "claimed_at",
        "sent_at",
    )
    list_filter = ("status", "channel", "event__kind")
    list_select_related = ("event__article", "recipient")
    search_fields = ("recipient__username", "recipient__email", "event__article__title")

    retry_dead = staticmethod(delivery.retry_dead)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(DeliveryLogAdmin):
    """Each event posted to each webhook: attempts, the receiver's answer, errors; dead ones can be retried."""

    list_display = (
        "created_at",
        "event_kind",
        "article",
        "owner",
        "url",
        "status",
        "attempts",
        "response_status",
        "last_error",
        "sent_at",
    )
    list_filter = ("status", "event__kind")
    list_select_related = ("event__article", "webhook__owner")
    search_fields = ("webhook__url", "webhook__owner__username", "event__article__title")

    @admin.display(description="owner")
    def owner(self, obj):
        return obj.webhook.owner

    @admin.display(description="URL")
    def url(self, obj):
        return obj.webhook.url

    retry_dead = staticmethod(webhooks.retry_dead)
    what = "dead webhook deliveries"
