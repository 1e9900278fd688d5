"""Who hears about an event: the people it concerns, each with their e-mail choice.

The product's notification rules: editors hear of submissions, declines,
expiries, complete rounds, escalations and retracted sources; the author of decisions; the reviewer of their
invitation's news; the auditors of a failed check of the audit trail. The person who caused
an event hears of it only if they asked for receipts.
"""

from django.contrib.auth import get_user_model
from django.db import connection

from editorial.models import Delivery, Event, EventKind, NotificationPreference, NotificationSettings
from editorial.workflow.permissions import Role
from reviewers.models import Invitation, InvitationStatus

User = get_user_model()

#: Kinds told to the editors of the board (never to an editor who wrote the article).
FOR_EDITORS = {
    EventKind.SUBMITTED,
    EventKind.WITHDRAWN,
    EventKind.DECLINED,
    EventKind.EXPIRED,
    EventKind.REVIEWS_COMPLETE,
    EventKind.REVIEW_ESCALATED,
    EventKind.REREVIEW_DUE,
    EventKind.SOURCE_RETRACTED,
    EventKind.BOARD_MEMBER_LEFT,
}
#: Kinds told to the reviewer of the invitation the event names.
FOR_THE_REVIEWER = {EventKind.CANCELLED, EventKind.REVIEW_DUE_SOON, EventKind.REVIEW_OVERDUE}


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _concerned(event: Event) -> set[int]:
    """The ids of the people an event concerns (before the actor's own choice)."""
    article = event.article
    kind = event.kind
    if kind == EventKind.DIGEST:
        return {event.payload.get("recipient")}
    if kind == EventKind.WITHDRAWN and event.payload.get("from") == "draft":
        return set()  # nobody but the author knew of a draft
    if kind in FOR_EDITORS:
        editors = User.objects.filter(groups__name=Role.EDITOR).values_list("pk", flat=True)
        return set(editors) - {article.author_id}
    if kind == EventKind.DECISION:
        return {article.author_id}
    if kind == EventKind.RETRACTED:
        reviewed = Invitation.objects.filter(article_id=article.pk, status=InvitationStatus.COMPLETED)
        return {article.author_id, *reviewed.values_list("reviewer_id", flat=True)}
    if kind in (EventKind.INVITED, EventKind.ROUND_CLOSED):
        invited = Invitation.objects.filter(pk__in=event.payload.get("invitations", []))
        return set(invited.values_list("reviewer_id", flat=True))
    if kind == EventKind.AUDIT_CHAIN_BROKEN:
        return set(User.objects.filter(groups__name=Role.AUDITOR, is_active=True).values_list("pk", flat=True))
    if kind in FOR_THE_REVIEWER:
        return set(Invitation.objects.filter(pk=event.payload.get("invitation")).values_list("reviewer_id", flat=True))
    return set()


def people_query(event: Event) -> tuple[str, list] | None:
    """The SELECT of ``recipients_for`` and its parameters, for a statement that goes on with them.

    Columns: id, username, email, first_name, last_name, wants_digest (the person's e-mail
    choice for this kind), wants_receipts; no ORDER BY. None when the event concerns nobody.
    """
    candidates = _concerned(event) | ({event.actor_id} if event.actor_id else set())
    candidates.discard(None)
    if not candidates:
        return None
    own = " AND (u.id <> %s OR COALESCE(s.copy_own_actions, FALSE))" if event.actor_id else ""
    return (
        f"SELECT u.id, u.username, u.email, u.first_name, u.last_name, "  # noqa: S608 - names from the models
        f"EXISTS (SELECT 1 FROM {_table(NotificationPreference)} p "
        "WHERE p.user_id = u.id AND p.kind = %s AND p.delivery = %s) AS wants_digest, "
        "s.copy_own_actions AS wants_receipts "
        f"FROM {_table(User)} u LEFT JOIN {_table(NotificationSettings)} s ON s.user_id = u.id "
        f"WHERE u.is_active AND u.id IN ({', '.join(['%s'] * len(candidates))}){own}",
        [event.kind, Delivery.DIGEST, *sorted(candidates), *([event.actor_id] if event.actor_id else [])],
    )


def recipients_for(event: Event) -> list:
    """The people an event concerns; the person who caused it only if they asked for receipts.

    Each comes with their e-mail choice for this kind of event (``wants_digest``), in id order.
    """
    query = people_query(event)
    if query is None:
        return []
    statement, params = query
    return list(User.objects.raw(f"{statement} ORDER BY u.id", params))
