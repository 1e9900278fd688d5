"""What the workspace shows of the board's work: suggestions, rounds, letters, its history."""

from dataclasses import dataclass

from django.db.models import Count, Exists, F, OuterRef, Q, Subquery

from articles.models import Article
from editorial.models import Event, EventKind
from editorial.workflow import permissions
from editorial.workflow.permissions import Role
from reviewers.models import OPEN_OR_DONE, Conflict, Invitation, InvitationStatus, ReviewerProfile, Signature


@dataclass
class Suggestion:
    profile: ReviewerProfile
    specialty_match: bool
    load: int
    #: The member's earlier declaration of competing interests on this article: (round, text).
    declared: tuple[int, str] | None = None

    @property
    def at_capacity(self) -> bool:
        return self.load >= self.profile.max_active_reviews


def suggest_reviewers(article: Article) -> list[Suggestion]:
    """Active board members who may review this round: specialty match first, then the least busy.

    Leaves out the author and anyone already invited to this round. A member who declared
    competing interests on this article in an earlier round is listed last, with the
    declaration (``Suggestion.declared``): the editor may invite them after confirming, with a
    reason (``board.invitation_create``'s ``conflict_override``). Two queries, whatever the size
    of the board.
    """
    declared = Invitation.objects.filter(
        article=article, reviewer_id=OuterRef("user_id"), conflict=Conflict.DECLARED
    ).order_by("review_round", "pk")
    in_round = Invitation.objects.filter(
        article=article, review_round=article.review_round, status__in=OPEN_OR_DONE
    ).values("reviewer_id")
    matches = ReviewerProfile.specialties.through.objects.filter(
        reviewerprofile_id=OuterRef("pk"), specialty_id=article.specialty_id
    )
    profiles = (
        ReviewerProfile.objects.filter(is_active=True, user__is_active=True, user__groups__name=Role.BOARD)
        .exclude(user_id=article.author_id)
        .exclude(user_id__in=in_round)
        .select_related("user")
        .prefetch_related("specialties")
        .annotate(
            declared_round=Subquery(declared.values("review_round")[:1]),
            declared_text=Subquery(declared.values("conflict_description")[:1]),
            match=Exists(matches),
            load=Count(
                "user__review_invitations",
                filter=Q(user__review_invitations__status__in=[InvitationStatus.INVITED, InvitationStatus.ACCEPTED]),
                distinct=True,
            ),
        )
        .order_by(F("declared_round").asc(nulls_first=True), "-match", "load", "printed_name")
    )
    return [
        Suggestion(
            profile=p,
            specialty_match=p.match,
            load=p.load,
            declared=(p.declared_round, p.declared_text) if p.declared_round is not None else None,
        )
        for p in profiles
    ]


def round_invitations(article: Article, review_round: int | None = None) -> list[Invitation]:
    """One round's invitations with their reviews and signatures, in one query."""
    return list(
        Invitation.objects.filter(article=article, review_round=review_round or article.review_round)
        .select_related("reviewer__reviewer_profile", "review__signature", "review__version")
        .order_by("invited_at", "id")
    )


def decision_letters(article: Article) -> list[Event]:
    """The decision letters sent to the author, newest first (as sent: kept in the event)."""
    return list(Event.objects.filter(article=article, kind=EventKind.DECISION).order_by("-created_at", "-id"))


def board_history(user, article: Article) -> dict:
    """The board's steps on an article, as far as this user may see them.

    Editors and auditors see every invitation's history and every signature; a board member
    sees their own; the author sees none of it (reviewers stay anonymous to authors).
    """
    steps = Invitation.history.filter(article_id=article.pk).select_related("reviewer__reviewer_profile")
    signatures = Signature.objects.filter(article=article).select_related("version")
    if not permissions.sees_every_article(user):
        if not permissions.has_role(user, Role.BOARD):
            return {"board_steps": [], "signatures": [], "shows_board": False}
        steps = steps.filter(reviewer_id=user.pk)
        signatures = signatures.filter(signer=user)
    return {
        "board_steps": list(steps.order_by("history_date", "history_id")[:500]),
        "signatures": list(signatures.order_by("signed_at", "id")),
        "shows_board": True,
    }
