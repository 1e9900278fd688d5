"""Writing invitations: shared by the editor's invite service and by resubmission."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from articles.models import Article
from editorial.models import EventKind
from editorial.workflow import writes
from editorial.workflow.audit import set_audit_context
from editorial.workflow.events import build_event
from editorial.workflow.system import system_user
from reviewers.models import Invitation, InvitationStatus


def board_zone() -> ZoneInfo:
    """The board's time zone: ``EDITORIAL_BOARD_TIME_ZONE`` (an IANA name), default ``TIME_ZONE``."""
    return ZoneInfo(getattr(settings, "EDITORIAL_BOARD_TIME_ZONE", "") or settings.TIME_ZONE)


def end_of_day(day: date) -> datetime:
    """The last moment of ``day`` in the board's time zone, as an aware datetime.

    A deadline picked as a date means "by the end of that day where the board works": never
    midnight UTC, so a review is overdue only after this moment and an invitation can be
    answered all through its respond-by day (the product's rule on deadlines, issue 12).
    """
    return datetime.combine(day, time.max, tzinfo=board_zone())


def board_date(moment: datetime) -> date:
    """The calendar day ``moment`` falls on in the board's time zone (what a date input shows)."""
    return timezone.localtime(moment, board_zone()).date()


def default_dates(now=None) -> tuple[datetime, datetime]:
    """The default respond-by and review-due deadlines for an invitation sent at ``now``.

    Each is the end of a day in the board's time zone: ``EDITORIAL_INVITATION_RESPONSE_DAYS``
    after today, then ``EDITORIAL_REVIEW_DAYS`` after that.
    """
    today = timezone.localtime(now or timezone.now(), board_zone()).date()
    respond_day = today + timedelta(days=settings.EDITORIAL_INVITATION_RESPONSE_DAYS)
    return end_of_day(respond_day), end_of_day(respond_day + timedelta(days=settings.EDITORIAL_REVIEW_DAYS))


def create_invitations(
    *, article: Article, reviewers, invited_by, actor, respond_by, due_at, reason: str, note: str = ""
) -> list:
    """Invite ``reviewers`` to the article's current round: rows, history and one event."""
    now = timezone.now()
    invitations = [
        Invitation(
            article=article,
            review_round=article.review_round,
            reviewer=reviewer,
            invited_by=invited_by,
            invited_at=now,
            respond_by=respond_by,
            due_at=due_at,
        )
        for reviewer in reviewers
    ]
    if not invitations:
        return []
    Invitation.objects.bulk_create(invitations)
    for invitation in invitations:
        set_audit_context(invitation, actor=actor, reason=reason)
    # The history rows and the event: one statement on PostgreSQL (editorial.workflow.writes).
    history = [writes.history_row(invitation, "+") for invitation in invitations]
    event = build_event(
        kind=EventKind.INVITED,
        actor=actor,
        article=article,
        payload={
            "invitations": [invitation.pk for invitation in invitations],
            "round": article.review_round,
            "respond_by": respond_by.isoformat(),
            "due_at": due_at.isoformat(),
            "reason": note,  # the editor's own words, if any, for the e-mail
        },
    )
    writes.write_together([], [*history, event])
    return invitations


def reinvite_previous_round(article: Article) -> dict:
    """After a resubmission, invite again everyone who completed a review of the last round."""
    previous = Invitation.objects.filter(
        article=article,
        review_round=article.review_round - 1,
        status=InvitationStatus.COMPLETED,
        conflict_disqualifying=False,
    ).select_related("reviewer")
    reviewers = [invitation.reviewer for invitation in previous if invitation.reviewer.is_active]
    respond_by, due_at = default_dates()
    invitations = create_invitations(
        article=article,
        reviewers=reviewers,
        invited_by=system_user(),
        actor=system_user(),
        respond_by=respond_by,
        due_at=due_at,
        reason=f"Invited again for round {article.review_round}: reviewed round {article.review_round - 1}",
        note=(
            f"You reviewed round {article.review_round - 1}; the author has revised the article. "
            "The invitation page shows what changed since the version you reviewed."
        ),
    )
    return {"reinvited": [invitation.pk for invitation in invitations]}
