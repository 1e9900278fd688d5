"""What the beat checks: invitations nobody answered, reviews due or late, re-reviews due.

Each reminder is an outbox event with a key made of what it is about and the due date, so
running the schedule again never sends the same reminder twice for the same date.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from articles.models import Article, ArticleStatus
from editorial.models import EventKind
from editorial.workflow import board
from editorial.workflow.events import record_once
from editorial.workflow.exceptions import EditorialError
from editorial.workflow.permissions import Role
from editorial.workflow.system import system_user
from reviewers.models import Invitation, InvitationStatus

User = get_user_model()


def live_invitations(status: str) -> QuerySet:
    """Invitations in ``status`` that still oblige someone: the rule every reminder and expiry obeys.

    Only an invitation of its article's current round, on an article in review (submitted or
    under review), whose reviewer is still an active member of the board (issue 12's rule:
    an obligation ends when its reason ends). One query, whatever the joins.
    """
    member = User.groups.through.objects.filter(user_id=OuterRef("reviewer_id"), group__name=Role.BOARD)
    return Invitation.objects.filter(
        Exists(member),
        status=status,
        review_round=F("article__review_round"),
        article__status__in=[ArticleStatus.SUBMITTED, ArticleStatus.UNDER_REVIEW],
        reviewer__is_active=True,
    )


def expire_unanswered() -> int:
    """Invitations past their respond-by date expire; the editors are told (by the service)."""
    expired = 0
    late = live_invitations(InvitationStatus.INVITED).filter(respond_by__lt=timezone.now())
    for invitation in late.order_by("respond_by")[:500]:
        try:
            board.invitation_expire(invitation=invitation)
        except EditorialError:
            continue  # answered or changed meanwhile: nothing to expire
        expired += 1
    return expired


def remind_reviews() -> int:
    """Due within the warning window: remind the reviewer. Late: remind; later still: escalate."""
    now = timezone.now()
    actor = system_user()
    sent = 0
    open_reviews = (
        live_invitations(InvitationStatus.ACCEPTED)
        .filter(article__status=ArticleStatus.UNDER_REVIEW)
        .select_related("article")
    )
    soon = now + timedelta(hours=settings.EDITORIAL_DUE_SOON_HOURS)
    grace = timedelta(days=settings.EDITORIAL_ESCALATION_GRACE_DAYS)
    for invitation in open_reviews.filter(due_at__lte=soon).order_by("due_at")[:2000]:
        due = invitation.due_at.isoformat()
        payload = {"invitation": invitation.pk, "round": invitation.review_round, "due_at": due}
        if invitation.due_at > now:
            kinds = [EventKind.REVIEW_DUE_SOON]
        else:
            kinds = [EventKind.REVIEW_OVERDUE]
            if invitation.due_at + grace <= now:
                kinds.append(EventKind.REVIEW_ESCALATED)
        for kind in kinds:
            event = record_once(
                dedupe_key=f"{kind}:{invitation.pk}:{due}",
                kind=kind,
                actor=actor,
                article=invitation.article,
                payload=payload,
            )
            sent += event is not None
    return sent


def rereviews_due() -> int:
    """Approved articles whose re-review date has come: the editors are told, once per date."""
    actor = system_user()
    sent = 0
    due = Article.objects.filter(status=ArticleStatus.APPROVED, review_due_at__lte=timezone.now())
    for article in due.order_by("review_due_at")[:2000]:
        when = article.review_due_at.isoformat()
        event = record_once(
            dedupe_key=f"{EventKind.REREVIEW_DUE}:{article.pk}:{when}",
            kind=EventKind.REREVIEW_DUE,
            actor=actor,
            article=article,
            payload={"review_due_at": when, "last_reviewed": article.last_approved_at.isoformat()},
        )
        sent += event is not None
    return sent
