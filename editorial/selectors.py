"""Reads shared by the public pages and the API."""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from articles.diff import reference_lines, word_diff
from articles.models import Article, ArticleStatus, Reference
from editorial import permissions
from editorial.models import Event, EventKind
from editorial.permissions import Role
from reviewers.models import OPEN_OR_DONE, Conflict, Invitation, InvitationStatus, ReviewerProfile, Signature

S = ArticleStatus

#: Statuses in which readers see the article itself, by the EDITORIAL_PUBLIC_FROM setting.
PUBLIC_STATUSES = {
    "submitted": {S.SUBMITTED, S.UNDER_REVIEW, S.CHANGES_REQUESTED, S.APPROVED, S.RETRACTED},
    "approved": {S.APPROVED, S.RETRACTED},
}


def public_articles() -> QuerySet:
    """Articles readers may open: by status, or because an approved version exists."""
    statuses = PUBLIC_STATUSES.get(settings.EDITORIAL_PUBLIC_FROM, PUBLIC_STATUSES["approved"])
    never = {S.WITHDRAWN, S.REJECTED}
    return Article.objects.filter(Q(status__in=statuses) | (Q(published_version__isnull=False) & ~Q(status__in=never)))


# --- The board --------------------------------------------------------------------------------


@dataclass
class Suggestion:
    profile: ReviewerProfile
    specialty_match: bool
    load: int

    @property
    def at_capacity(self) -> bool:
        return self.load >= self.profile.max_active_reviews


def suggest_reviewers(article: Article) -> list[Suggestion]:
    """Active board members who may review this round: specialty match first, then the least busy.

    Leaves out the author, anyone who declared competing interests on this article and anyone
    already invited to this round. Two queries, whatever the size of the board.
    """
    declared = Invitation.objects.filter(article=article, conflict=Conflict.DECLARED).values("reviewer_id")
    in_round = Invitation.objects.filter(
        article=article, review_round=article.review_round, status__in=OPEN_OR_DONE
    ).values("reviewer_id")
    matches = ReviewerProfile.specialties.through.objects.filter(
        reviewerprofile_id=OuterRef("pk"), specialty_id=article.specialty_id
    )
    profiles = (
        ReviewerProfile.objects.filter(is_active=True, user__is_active=True, user__groups__name=Role.BOARD)
        .exclude(user_id=article.author_id)
        .exclude(user_id__in=declared)
        .exclude(user_id__in=in_round)
        .select_related("user")
        .prefetch_related("specialties")
        .annotate(
            match=Exists(matches),
            load=Count(
                "user__review_invitations",
                filter=Q(user__review_invitations__status__in=[InvitationStatus.INVITED, InvitationStatus.ACCEPTED]),
                distinct=True,
            ),
        )
        .order_by("-match", "load", "printed_name")
    )
    return [Suggestion(profile=p, specialty_match=p.match, load=p.load) for p in profiles]


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
    steps = Invitation.history.filter(article_id=article.pk).select_related("history_user", "reviewer")
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


#: Fields of an article's history compared field by field, with the long ones diffed by word.
COMPARED = [
    ("title", "Clinical question"), ("slug", "Slug"), ("specialty", "Specialty"), ("summary", "Summary"),
    ("body", "Text for clinicians"), ("patient_body", "Text for patients"), ("status", "Status"),
    ("review_round", "Review round"), ("last_approved_at", "Last reviewed"), ("review_due_at", "Next review due"),
]  # fmt: skip
WORD_DIFFED = {"title", "summary", "body", "patient_body"}


def references_as_of(article_id: int, before=None) -> list[dict]:
    """The article's reference list as it stood just before ``before`` (now, if None)."""
    rows = Reference.history.filter(article_id=article_id)
    if before is not None:
        rows = rows.filter(history_date__lt=before)
    latest = {}
    for row in rows.order_by("history_date", "history_id"):
        latest[row.id] = row
    alive = [row for row in latest.values() if row.history_type != "-"]
    return [
        {field: getattr(row, field) for field in ("authors", "title", "source", "year", "doi", "pmid", "url")}
        for row in sorted(alive, key=lambda row: (row.position, row.id))
    ]


def compare_history(article: Article, older, newer) -> list[dict]:
    """Each field that differs between two history rows, with a word diff for the texts."""
    changes = []
    for field, label in COMPARED:
        attname = "specialty_id" if field == "specialty" else field
        before, after = getattr(older, attname), getattr(newer, attname)
        if before == after:
            continue
        if field in WORD_DIFFED:
            changes.append({"label": label, "html": word_diff(before or "", after or "")})
        else:
            changes.append({"label": label, "before": before, "after": after})
    # A version owns the reference edits saved with it or after it, up to the next version.
    old_refs = reference_lines(references_as_of(article.pk, _next_version_date(article, older)))
    new_refs = reference_lines(references_as_of(article.pk, _next_version_date(article, newer)))
    if old_refs != new_refs:
        changes.append({"label": "References", "html": word_diff(old_refs, new_refs)})
    return changes


def _next_version_date(article: Article, row):
    following = (
        article.history.filter(history_date__gt=row.history_date)
        .order_by("history_date", "history_id")
        .values_list("history_date", flat=True)
        .first()
    )
    return following
