"""Who hears about an event: the people it concerns, each with their e-mail choice.

The product's notification rules: editors hear of submissions, declines,
expiries, complete rounds, escalations and retracted sources; the author of decisions; the reviewer of their
invitation's news; the auditors of a failed check of the audit trail. The person who caused
an event hears of it only if they asked for receipts.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet

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


def _concerned(event: Event) -> tuple[set[int], QuerySet | None]:
    """The people an event concerns (before the actor's own choice): ids known from the event,
    and a query of one column of more ids (None when the event names them all).

    A query is left for ``people_query`` to run inside its own statement: reading the editors
    (or the reviewers) is then no round trip of its own.
    """
    article = event.article
    kind = event.kind
    if kind == EventKind.DIGEST:
        return {event.payload.get("recipient")}, None
    if kind == EventKind.WITHDRAWN and event.payload.get("from") == "draft":
        return set(), None  # nobody but the author knew of a draft
    if kind in FOR_EDITORS:
        return set(), User.objects.filter(groups__name=Role.EDITOR).exclude(pk=article.author_id).values("pk")
    if kind == EventKind.DECISION:
        return {article.author_id}, None
    if kind == EventKind.RETRACTED:
        reviewed = Invitation.objects.filter(article_id=article.pk, status=InvitationStatus.COMPLETED)
        return {article.author_id}, reviewed.values("reviewer_id")
    if kind in (EventKind.INVITED, EventKind.ROUND_CLOSED):
        return set(), Invitation.objects.filter(pk__in=event.payload.get("invitations", [])).values("reviewer_id")
    if kind == EventKind.AUDIT_CHAIN_BROKEN:
        return set(), User.objects.filter(groups__name=Role.AUDITOR, is_active=True).values("pk")
    if kind in FOR_THE_REVIEWER:
        return set(), Invitation.objects.filter(pk=event.payload.get("invitation")).values("reviewer_id")
    return set(), None


def people_query(event: Event) -> tuple[str, list] | None:
    """The SELECT of ``recipients_for`` and its parameters, for a statement that goes on with them.

    Columns: id, username, email, first_name, last_name, wants_digest (the person's e-mail
    choice for this kind), wants_receipts; no ORDER BY. None when the event concerns nobody.
    """
    known, query = _concerned(event)
    known = (known | {event.actor_id}) - {None}
    chosen, params = [], []
    if known:
        chosen.append(f"u.id IN ({', '.join(['%s'] * len(known))})")
        params += sorted(known)
    if query is not None:
        try:
            subquery, subparams = query.query.sql_with_params()
        except EmptyResultSet:  # e.g. no invitation named: nobody more
            subquery = None
        if subquery:
            chosen.append(f"u.id IN ({subquery})")
            params += subparams
    if not chosen:
        return None
    own = " AND (u.id <> %s OR COALESCE(s.copy_own_actions, FALSE))" if event.actor_id else ""
    return (
        f"SELECT u.id, u.username, u.email, u.first_name, u.last_name, "  # noqa: S608 - names from the models
        f"EXISTS (SELECT 1 FROM {_table(NotificationPreference)} p "
        "WHERE p.user_id = u.id AND p.kind = %s AND p.delivery = %s) AS wants_digest, "
        "s.copy_own_actions AS wants_receipts "
        f"FROM {_table(User)} u LEFT JOIN {_table(NotificationSettings)} s ON s.user_id = u.id "
        f"WHERE u.is_active AND ({' OR '.join(chosen)}){own}",
        [event.kind, Delivery.DIGEST, *params, *([event.actor_id] if event.actor_id else [])],
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
