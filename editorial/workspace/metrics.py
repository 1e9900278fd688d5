"""Editorial metrics: time to decision, reviewer turnaround, acceptance, lateness, volume."""

import statistics
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from articles.models import Article, ArticleStatus
from editorial.models import QuestionStatus, ReaderQuestion, TransitionRecord
from editorial.reads.worklists import overdue_reviews
from reviewers.models import Invitation, InvitationStatus

BUCKETS = [(0, 7, "under a week"), (7, 14, "1–2 weeks"), (14, 30, "2–4 weeks"), (30, 60, "1–2 months"),
           (60, None, "over 2 months")]  # fmt: skip
DECISIONS = ("approve", "request_changes", "reject")


def _days(delta: timedelta) -> float:
    return delta.total_seconds() / 86400


def _histogram(values: list[float]) -> list[dict]:
    rows = []
    for low, high, label in BUCKETS:
        n = sum(1 for v in values if v >= low and (high is None or v < high))
        rows.append({"label": label, "count": n})
    return _with_widths(rows)


def _with_widths(rows: list[dict]) -> list[dict]:
    top = max((row["count"] for row in rows), default=0) or 1
    for row in rows:
        row["width"] = round(100 * row["count"] / top)
    return rows


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def summary(*, days: int = 180) -> dict:
    """Everything on the metrics page, over the last ``days`` days (a handful of queries)."""
    since = timezone.now() - timedelta(days=days)

    submitted = {
        (article, rnd): when
        for article, rnd, when in TransitionRecord.objects.filter(
            transition__in=["submit", "resubmit"], created_at__gte=since - timedelta(days=365)
        ).values_list("article_id", "review_round", "created_at")
    }
    decision_days = [
        _days(when - submitted[(article, rnd)])
        for article, rnd, when in TransitionRecord.objects.filter(
            transition__in=DECISIONS, created_at__gte=since
        ).values_list("article_id", "review_round", "created_at")
        if (article, rnd) in submitted
    ]

    completed = Invitation.objects.filter(status=InvitationStatus.COMPLETED, completed_at__gte=since)
    turnaround = [
        _days(done - accepted)
        for accepted, done in completed.exclude(responded_at=None).values_list("responded_at", "completed_at")
    ]

    answers = dict(
        Invitation.objects.filter(invited_at__gte=since)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("status", "n")
    )
    yes = answers.get(InvitationStatus.ACCEPTED, 0) + answers.get(InvitationStatus.COMPLETED, 0)
    no = answers.get(InvitationStatus.DECLINED, 0) + answers.get(InvitationStatus.EXPIRED, 0)

    counts = dict(Article.objects.values_list("status").annotate(n=Count("pk")).order_by().values_list("status", "n"))
    by_status = _with_widths(
        [{"label": label, "count": counts.get(value, 0), "status": value} for value, label in ArticleStatus.choices]
    )

    asked = dict(
        ReaderQuestion.objects.filter(asked_at__gte=since)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("status", "n")
    )

    return {
        "days": days,
        # Readers' follow-up questions asked in the period, and how many became (claimed) articles.
        "questions_asked": sum(asked.values()),
        "questions_to_articles": asked.get(QuestionStatus.DRAFTING, 0),
        "questions_by_status": _with_widths(
            [{"label": label, "count": asked.get(value, 0)} for value, label in QuestionStatus.choices]
        ),
        "decisions": len(decision_days),
        "median_decision_days": _median(decision_days),
        "decision_histogram": _histogram(decision_days),
        "reviews": len(turnaround),
        "median_turnaround_days": _median(turnaround),
        "turnaround_histogram": _histogram(turnaround),
        "invitations_answered": yes + no,
        "acceptance_rate": round(100 * yes / (yes + no)) if yes + no else None,
        "answers": _with_widths(
            [
                {"label": "accepted", "count": yes},
                {"label": "declined", "count": answers.get(InvitationStatus.DECLINED, 0)},
                {"label": "expired unanswered", "count": answers.get(InvitationStatus.EXPIRED, 0)},
                {"label": "still waiting", "count": answers.get(InvitationStatus.INVITED, 0)},
            ]
        ),
        "overdue": overdue_reviews().count(),
        "by_status": by_status,
    }
