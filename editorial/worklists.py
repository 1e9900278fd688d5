"""The workspace's worklists: which articles and invitations wait for whom.

Each is a queryset builder, shared by the dashboard panels and the article list's filters,
so a panel's count and the list it links to always agree.
"""

from django.conf import settings
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from articles.models import ArticleStatus
from reviewers.models import Invitation, InvitationStatus, Signature, SignatureMeaning

S = ArticleStatus


def _valid_signatures():
    """Board signatures that count toward the quorum on each article's current version."""
    signatures = (
        Signature.objects.filter(
            article=OuterRef("pk"),
            version=OuterRef("current_version"),
            meaning=SignatureMeaning.MEDICALLY_ACCURATE,
            review__invitation__status=InvitationStatus.COMPLETED,
            review__invitation__conflict_disqualifying=False,
        )
        .exclude(signer=OuterRef("author"))
        .order_by()
        .values("article")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(signatures, output_field=IntegerField()), 0)


def waiting_for_reviewers(articles: QuerySet) -> QuerySet:
    """Submitted: no reviewer has accepted yet (the first acceptance starts the review)."""
    return articles.filter(status=S.SUBMITTED)


def in_review(articles: QuerySet) -> QuerySet:
    return articles.filter(status=S.UNDER_REVIEW)


def in_progress(articles: QuerySet) -> QuerySet:
    """Submitted or under review: with the board, waiting for its decision."""
    return articles.filter(status__in=[S.SUBMITTED, S.UNDER_REVIEW])


def ready_for_decision(articles: QuerySet) -> QuerySet:
    """Under review with the quorum of valid signatures on the current version."""
    return (
        articles.filter(status=S.UNDER_REVIEW)
        .annotate(valid_signatures=_valid_signatures())
        .filter(valid_signatures__gte=settings.EDITORIAL_APPROVAL_QUORUM)
    )


def overdue_reviews(invitations: QuerySet | None = None) -> QuerySet:
    invitations = Invitation.objects.all() if invitations is None else invitations
    return invitations.filter(status=InvitationStatus.ACCEPTED, due_at__lt=timezone.now())


def with_overdue_reviews(articles: QuerySet) -> QuerySet:
    return articles.filter(Exists(overdue_reviews().filter(article=OuterRef("pk"))))


def rereview_due(articles: QuerySet) -> QuerySet:
    return articles.filter(status=S.APPROVED, review_due_at__lte=timezone.now())


def with_round_progress(articles: QuerySet) -> QuerySet:
    """Each article's current round: invited, accepted, completed and signed counts."""
    current = Q(invitations__review_round=F("review_round"))
    return articles.annotate(
        n_invited=Count("invitations", filter=current & ~Q(invitations__status=InvitationStatus.CANCELLED)),
        n_accepted=Count(
            "invitations",
            filter=current & Q(invitations__status__in=[InvitationStatus.ACCEPTED, InvitationStatus.COMPLETED]),
        ),
        n_completed=Count("invitations", filter=current & Q(invitations__status=InvitationStatus.COMPLETED)),
        n_signed=_valid_signatures(),
    )


#: Stage filters of the article list: (value in the URL, label, queryset builder).
STAGES = [
    ("waiting", "Waiting for reviewers", waiting_for_reviewers),
    ("in_review", "Under review", in_review),
    ("in_progress", "With the board (submitted or under review)", in_progress),
    ("ready", "Ready for decision (quorum reached)", ready_for_decision),
    ("overdue", "With an overdue review", with_overdue_reviews),
    ("rereview", "Re-review due", rereview_due),
]
STAGE_BUILDERS = {value: build for value, _, build in STAGES}
