"""The workspace inbox and each person's notification choices."""

from django.db import transaction
from django.utils import timezone

from editorial.models import Delivery, EventKind, Notification, NotificationPreference, NotificationSettings
from editorial.notifications.recipients import FOR_EDITORS
from editorial.workflow.permissions import Role, roles

INBOX = Notification.Channel.INBOX


def inbox(user):
    return Notification.objects.filter(recipient=user, channel=INBOX).select_related("event__article", "event__actor")


def unread_count(user) -> int:
    return Notification.objects.filter(recipient=user, channel=INBOX, read_at__isnull=True).count()


def mark_read(user, notification_ids=None) -> int:
    """Mark the user's own inbox entries read (all of them when no ids are given)."""
    unread = Notification.objects.filter(recipient=user, channel=INBOX, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=list(notification_ids))
    return unread.update(read_at=timezone.now())


def mark_read_about(user, article_id: int) -> int:
    """Opening an article's or an invitation's page reads the user's entries about that article."""
    unread = Notification.objects.filter(recipient=user, channel=INBOX, read_at__isnull=True)
    return unread.filter(event__article_id=article_id).update(read_at=timezone.now())


# --- Preferences ---------------------------------------------------------------------------------

#: The kinds of event each role hears about (the preferences page offers these).
KINDS_BY_ROLE = {
    Role.AUTHOR: [EventKind.DECISION, EventKind.RETRACTED],
    Role.BOARD: [
        EventKind.INVITED,
        EventKind.CANCELLED,
        EventKind.ROUND_CLOSED,
        EventKind.REVIEW_DUE_SOON,
        EventKind.REVIEW_OVERDUE,
        EventKind.RETRACTED,
    ],
    Role.EDITOR: sorted(FOR_EDITORS),
    Role.AUDITOR: [EventKind.AUDIT_CHAIN_BROKEN],
}


def kinds_for(user) -> list[tuple[str, str]]:
    held = roles(user)
    kinds = {kind for role, role_kinds in KINDS_BY_ROLE.items() if role in held for kind in role_kinds}
    return [(kind.value, kind.label) for kind in EventKind if kind in kinds]


def preferences(user) -> tuple[dict, bool]:
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "delivery"))
    copy_own = NotificationSettings.objects.filter(user=user, copy_own_actions=True).exists()
    return chosen, copy_own


def save_preferences(user, choices: dict, *, copy_own_actions: bool) -> None:
    with transaction.atomic():
        for kind, delivery in choices.items():
            if kind in EventKind.values and delivery in Delivery.values:
                NotificationPreference.objects.update_or_create(user=user, kind=kind, defaults={"delivery": delivery})
        NotificationSettings.objects.update_or_create(user=user, defaults={"copy_own_actions": copy_own_actions})
