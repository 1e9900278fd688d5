"""The approval rule (README, "The review status"): what must hold before an editor may approve an article.

A quorum of board signatures on the current version, from members who are not the author
and whose declared competing interests were not ruled disqualifying. An open "reject"
recommendation blocks approval unless the editor overrides it with a written reason; that
override is an input of the decision, so it is checked by the approve service, not here.

``Article.valid_signatures`` keeps the count of this rule for the worklists (the editor's
"ready for decision" at 100,000 articles): the services update it under the article's lock
when a signature is added, a new version submitted or a competing interest ruled on.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q

from articles.models import Article
from editorial.workflow import writes
from reviewers.models import OPEN, Invitation, InvitationStatus, Recommendation, Review, Signature, SignatureMeaning


@dataclass
class ApprovalStatus:
    needed: int
    valid: list = field(default_factory=list)
    not_counted: list = field(default_factory=list)  # (signature, why it does not count)
    open_rejects: list = field(default_factory=list)
    #: The round's completed reviews, in the order the reviewers were invited (the decision
    #: letter quotes them: ``signing.decision_letter(..., reviews=...)`` reads them from here).
    round_reviews: list = field(default_factory=list)
    #: Whether any invitation of the article is still invited or accepted, as read with the
    #: reviews (after the transition's lock: a round closing asks it, ``rounds.close_round``).
    open_invitations: bool = False

    @property
    def quorum_reached(self) -> bool:
        return len(self.valid) >= self.needed

    def explain(self) -> str:
        text = f"{len(self.valid)} of the {self.needed} board signatures needed on the current version."
        if self.not_counted:
            text += " Not counted: " + "; ".join(f"{s.signed_name} ({why})" for s, why in self.not_counted) + "."
        return text


def _key(article: Article) -> tuple:
    """What an approval status read for ``article`` depends on: its round, version and the quorum."""
    return (article.review_round, article.current_version_id, settings.EDITORIAL_APPROVAL_QUORUM)


def known_status(article: Article) -> ApprovalStatus | None:
    """The approval status already read for the article object as it is now, else None (no query)."""
    cached = article.__dict__.get("_approval_status")
    return cached[1] if cached and cached[0] == _key(article) else None


def approval_status(article: Article) -> ApprovalStatus:
    """Count the signatures that hold on the article's current version (two queries).

    Remembered on the article object for its current round and version: the state
    machine's condition, the approve service and the page all ask within one request.
    """
    known = known_status(article)
    if known is not None:
        return known
    status = _count(article)
    article.__dict__["_approval_status"] = (_key(article), status)
    return status


def _count(article: Article) -> ApprovalStatus:
    status = ApprovalStatus(needed=settings.EDITORIAL_APPROVAL_QUORUM)
    if article.current_version_id is None:
        return status
    signatures = Signature.objects.filter(
        article=article, version_id=article.current_version_id, meaning=SignatureMeaning.MEDICALLY_ACCURATE
    ).select_related("review__invitation")
    for signature in signatures:
        invitation = signature.review.invitation if signature.review_id else None
        if signature.signer_id == article.author_id:
            status.not_counted.append((signature, "the author"))
        elif invitation is None or invitation.status != InvitationStatus.COMPLETED:
            status.not_counted.append((signature, "invitation no longer stands"))
        elif invitation.conflict_disqualifying:
            status.not_counted.append((signature, "disqualifying competing interest"))
        else:
            status.valid.append(signature)
    # The round's invitations with their reviews, and any invitation still open: one read.
    invitations = (
        Invitation.objects.filter(article=article)
        .filter(Q(review_round=article.review_round, status=InvitationStatus.COMPLETED) | Q(status__in=OPEN))
        .select_related("review", "reviewer__reviewer_profile")
        .order_by("invited_at", "pk")
    )
    for invitation in invitations:
        if invitation.status in OPEN:
            status.open_invitations = True
        elif hasattr(invitation, "review"):
            status.round_reviews.append(invitation.review)
    status.open_rejects = [
        review
        for review in status.round_reviews
        if review.recommendation == Recommendation.REJECT and not review.invitation.conflict_disqualifying
    ]
    return status


def completed_reviews(article: Article, review_round: int) -> list[Review]:
    """The completed reviews of one round of ``article``, in the order the reviewers were invited
    (one query, with each invitation, reviewer and reviewer profile)."""
    return list(
        Review.objects.filter(
            invitation__article=article,
            invitation__review_round=review_round,
            invitation__status=InvitationStatus.COMPLETED,
        )
        .select_related("invitation__reviewer__reviewer_profile")
        .order_by("invitation__invited_at", "invitation_id")
    )


def count_signature(article: Article, invitation) -> list:
    """A board member of ``invitation`` signed the locked article's current version.

    Counted for the worklists when the rule counts it: not the author, no disqualifying
    competing interest (the invitation is being completed with the review). Adds it to
    ``article.valid_signatures`` and returns the UPDATE to write with the review's other rows
    (``[writes.Update]``, a counter's: no history), or ``[]`` when it does not count.
    """
    if invitation.conflict_disqualifying or invitation.reviewer_id == article.author_id:
        return []
    article.valid_signatures += 1  # the article is locked: the count read with it is current
    return [writes.Update(article, [Article._meta.get_field("valid_signatures")], history=False)]


def recount_signatures(article: Article) -> None:
    """Count the locked article's valid signatures again (after a competing-interest ruling)."""
    article.__dict__.pop("_approval_status", None)
    article.valid_signatures = len(approval_status(article).valid)
    Article.objects.filter(pk=article.pk).update(valid_signatures=article.valid_signatures)


def quorum_reached(article: Article) -> bool:
    """The approve transition's condition, as the state machine asks it."""
    return approval_status(article).quorum_reached


def install_approval_rule(model) -> None:
    """Declare the quorum as a condition of the machine's ``approve`` transition."""
    for transition in model._meta.get_field("status").get_all_transitions(model):
        if transition.name == "approve" and quorum_reached not in transition.conditions:
            transition.conditions.append(quorum_reached)
