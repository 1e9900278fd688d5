"""Closing a review round: every obligation the round created ends with it.

A round closes with the decision on it (approve, request changes, reject), a withdrawal, a
discarded revision or a retraction. In the transaction that closes it, every invitation still
``invited`` becomes ``cancelled`` and every ``accepted`` one without a review becomes ``closed``,
both with the reason "round closed"; their reviewers are told once, by one event. Nothing of
a closed round can be accepted, reviewed or reminded again (the product's rule "Reviews").
"""

from articles.models import Article
from editorial.models import EventKind
from editorial.workflow import writes
from editorial.workflow.audit import set_audit_context
from editorial.workflow.events import build_event
from reviewers.models import OPEN, ROUND_CLOSED, Invitation, InvitationStatus

#: The article transitions that close the round in progress.
ROUND_CLOSERS = frozenset({"approve", "request_changes", "reject", "withdraw", "retract", "discard_revision"})

#: How each closing transition is named to the reviewers it releases.
CAUSES = {
    "approve": "the editor approved the article",
    "request_changes": "the editor requested changes",
    "reject": "the editor rejected the article",
    "withdraw": "the article was withdrawn",
    "retract": "the article was retracted",
    "discard_revision": "the revision was discarded",
}


def close_round(article: Article, *, actor, transition: str, none_open: bool = False) -> list[int]:
    """End every open invitation of the (locked) ``article``: invited -> cancelled, accepted -> closed.

    Runs inside the caller's transaction, after ``transition`` (one of ``ROUND_CLOSERS``) has
    fired. Each invitation gets its history row (by ``actor``, reason "Round closed: <cause>")
    and ``end_reason`` "round closed"; one ``round.closed`` event names them all, so each
    reviewer is told once. Returns the ids of the invitations ended (an empty list, and no
    event, when none was open). Invitations of earlier rounds still open (data from before
    this rule) are ended too. ``none_open``: the caller has read, after taking the article's
    lock, that no invitation is open (``approval.ApprovalStatus.open_invitations``), and no
    query is needed. A read in the locking statement itself would not do: under READ COMMITTED
    it sees the rows committed before it waited for the lock, not an invitation written by the
    transaction it waited for.
    """
    if none_open:
        return []
    cause = CAUSES.get(transition, transition.replace("_", " "))
    ended, rounds, updates = [], set(), []
    for invitation in (
        Invitation.objects.select_for_update(of=("self",)).filter(article=article, status__in=OPEN).order_by("pk")
    ):
        before = writes.values_of(invitation)
        if invitation.status == InvitationStatus.INVITED:
            invitation.cancel(reason=ROUND_CLOSED)
        else:
            invitation.close(reason=ROUND_CLOSED)
        invitation.row_version += 1
        set_audit_context(invitation, actor=actor, reason=f"Round closed: {cause}")
        updates.append(writes.Update(invitation, writes.changed_fields(invitation, before), "status", before["status"]))
        ended.append(invitation.pk)
        rounds.add(invitation.review_round)
    if ended:  # each invitation's change and history row, and the one event: one statement (writes)
        event = build_event(
            kind=EventKind.ROUND_CLOSED,
            actor=actor,
            article=article,
            payload={
                "invitations": ended,
                "round": max(rounds),
                "cause": cause,
                "reason": ROUND_CLOSED,
            },
        )
        writes.write_together(updates, [event])
    return ended
