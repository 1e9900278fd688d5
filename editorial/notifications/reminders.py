"""What the beat checks: invitations nobody answered, reviews due or late, re-reviews due.

Each reminder is an outbox event with a key made of what it is about and the due date, so
running the schedule again never sends the same reminder twice for the same date.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from articles.models import Article, ArticleStatus
from editorial.models import EventKind
from editorial.workflow import board
from editorial.workflow.events import record_once
from editorial.workflow.exceptions import EditorialError
from editorial.workflow.system import system_user
from reviewers.models import Invitation, InvitationStatus


def expire_unanswered() -> int:
    """Invitations past their respond-by date expire; the editors are told (by the service)."""
    expired = 0
    late = Invitation.objects.filter(status=InvitationStatus.INVITED, respond_by__lt=timezone.now())
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
    open_reviews = Invitation.objects.filter(status=InvitationStatus.ACCEPTED).select_related("article")
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
