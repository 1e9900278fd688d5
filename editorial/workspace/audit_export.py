"""The audit trail as CSV or JSON: of one article, or of everything in a date range.

One row per recorded act — transitions, edits (field by field), reference changes, the
board's steps, signatures, failed signature attempts, readers' questions and how editors
handled them, and notifications — merged in time order and streamed, so a long range never
sits in memory. Each names its actor and their roles as the record kept them at that moment:
renaming an account later changes no row.
"""

import csv
import heapq
import json
from datetime import date, datetime, time, timedelta

from django.db.models import OuterRef, Subquery
from django.http import StreamingHttpResponse
from django.utils import timezone

from articles.models import Article, Reference
from editorial import parsing
from editorial.models import Notification, ReaderQuestion, TransitionRecord
from reviewers.models import FailedSignatureAttempt, Invitation, Review, Signature

COLUMNS = ["time", "kind", "article_id", "article", "actor", "actor_role", "action", "detail", "reason"]
TRACKED = [
    "title", "slug", "summary", "body", "patient_body", "specialty_id", "status", "review_round",
    "last_approved_at", "review_due_at", "current_version_id", "published_version_id",
]  # fmt: skip
LONG = {"summary", "body", "patient_body"}
CHUNK = 2000


def _board_name(user) -> str:
    """A board member as the board names them (their profile), else the account's user name."""
    profile = getattr(user, "reviewer_profile", None)
    return profile.printed_name if profile is not None else user.get_username()


def _row(when, kind, article_id, article, actor: tuple[str, str], action, detail="", reason="") -> tuple:
    """One line; ``actor`` is (name, roles) as the record credits them."""
    return (when, kind, article_id, article, actor[0], actor[1], action, detail, reason)


def _credited(h) -> tuple[str, str]:
    return (h.history_actor_name, h.history_actor_role)


def _transitions(scope):
    rows = TransitionRecord.objects.filter(**scope("article_id", "created_at")).select_related("article")
    for r in rows.order_by("created_at", "id").iterator(chunk_size=CHUNK):
        detail = f"{r.get_from_status_display()} → {r.get_to_status_display()} (round {r.review_round})"
        yield _row(
            r.created_at,
            "transition",
            r.article_id,
            r.article.title,
            (r.actor_name, r.actor_role),
            r.transition,
            detail,
            r.reason,
        )


def _edits(scope):
    previous: dict[int, object] = {}
    rows = Article.history.filter(**scope("id", "history_date"))
    for h in rows.order_by("history_date", "history_id").iterator(chunk_size=CHUNK):
        before = previous.get(h.id)
        if before is None and h.history_type != "+":
            before = Article.history.filter(id=h.id, history_date__lt=h.history_date).order_by("-history_date").first()
        changes = []
        for field in TRACKED:
            old, new = (getattr(before, field) if before else None), getattr(h, field)
            if before is not None and old != new:
                if field in LONG:
                    changes.append(f"{field}: changed ({len(old or '')} → {len(new or '')} characters)")
                else:
                    changes.append(f"{field}: {old} → {new}")
        previous[h.id] = h
        action = {"+": "created", "~": "changed", "-": "deleted"}[h.history_type]
        yield _row(
            h.history_date,
            "edit",
            h.id,
            h.title,
            _credited(h),
            action,
            "; ".join(changes),
            h.history_change_reason or "",
        )


def _references(scope):
    rows = Reference.history.filter(**scope("article_id", "history_date"))
    for h in rows.order_by("history_date", "history_id").iterator(chunk_size=CHUNK):
        action = {"+": "added", "~": "changed", "-": "removed"}[h.history_type]
        yield _row(
            h.history_date,
            "reference",
            h.article_id,
            "",
            _credited(h),
            action,
            f"[{h.position}] {h.title}",
            h.history_change_reason or "",
        )


def _board(scope):
    rows = Invitation.history.filter(**scope("article_id", "history_date")).select_related("reviewer__reviewer_profile")
    for h in rows.order_by("history_date", "history_id").iterator(chunk_size=CHUNK):
        yield _row(
            h.history_date,
            "invitation",
            h.article_id,
            "",
            _credited(h),
            h.status,
            f"{_board_name(h.reviewer)}, round {h.review_round}",
            h.history_change_reason or "",
        )


def _reviews(scope):
    written = Review.history.filter(id=OuterRef("pk"), history_type="+").order_by("history_id")
    rows = (
        Review.objects.filter(**scope("invitation__article_id", "submitted_at"))
        .select_related("invitation", "version")
        .annotate(
            actor_name=Subquery(written.values("history_actor_name")[:1]),
            actor_role=Subquery(written.values("history_actor_role")[:1]),
        )
    )
    for r in rows.order_by("submitted_at", "id").iterator(chunk_size=CHUNK):
        yield _row(
            r.submitted_at,
            "review",
            r.invitation.article_id,
            "",
            (r.actor_name or "", r.actor_role or ""),
            r.recommendation,
            f"round {r.invitation.review_round}, version {r.version.content_hash[:16]}",
        )


def _signatures(scope):
    rows = Signature.objects.filter(**scope("article_id", "signed_at")).select_related("version")
    for s in rows.order_by("signed_at", "id").iterator(chunk_size=CHUNK):
        yield _row(
            s.signed_at,
            "signature",
            s.article_id,
            "",
            (s.signed_name, ""),
            s.get_meaning_display(),
            f"round {s.version.review_round}, SHA-256 {s.content_hash}",
        )


def _failed_signatures(scope):
    rows = FailedSignatureAttempt.objects.filter(**scope("article_id", "attempted_at"))
    for f in rows.order_by("attempted_at", "id").iterator(chunk_size=CHUNK):
        yield _row(
            f.attempted_at,
            "failed signature",
            f.article_id,
            "",
            (f.actor_name, f.actor_role),
            f.get_meaning_display(),
            "wrong password: nothing signed",
        )


def _questions(scope):
    """A reader's question as asked, then each editor's or author's act on it (its history rows).

    Scoped by the article it was asked from; the detail names the question by its id, with its
    whole text (``QUESTION_LIMIT`` bounds it) and, once merged or claimed, the question or draft
    it led to.
    """
    rows = ReaderQuestion.history.filter(**scope("article_id", "history_date"))
    for h in rows.order_by("history_date", "history_id").iterator(chunk_size=CHUNK):
        action = "asked" if h.history_type == "+" else h.status
        detail = f"question {h.id}: {h.text}"
        if h.merged_into_id:
            detail += f" (merged into question {h.merged_into_id})"
        if h.draft_id:
            detail += f" (draft article {h.draft_id})"
        reason = h.history_change_reason or ""
        yield _row(h.history_date, "question", h.article_id, "", _credited(h), action, detail, reason)


def _notifications(scope):
    rows = Notification.objects.filter(**scope("event__article_id", "created_at")).select_related("event", "recipient")
    for n in rows.order_by("created_at", "id").iterator(chunk_size=CHUNK):
        # The recipient by user name: frozen once a record names the account (accounts.identity).
        to = n.recipient.username
        detail = f"{n.event.get_kind_display()} to {to} by {n.channel}: {n.status}"
        if n.attempts:  # an inbox entry is written, never sent
            detail += f", {n.attempts} attempt{'s' if n.attempts != 1 else ''}"
        yield _row(n.created_at, "notification", n.event.article_id, "", ("", ""), n.status, detail, n.last_error)


SOURCES = [
    _transitions, _edits, _references, _board, _reviews, _signatures, _failed_signatures, _questions, _notifications,
]  # fmt: skip


def trail(*, article_id=None, start=None, end=None):
    """Every row of the trail in time order, for one article or a time range."""

    def scope(article_field, time_field):
        if article_id is not None:
            return {article_field: article_id}
        return {f"{time_field}__gte": start, f"{time_field}__lt": end}

    return heapq.merge(*(source(scope) for source in SOURCES), key=lambda row: row[0])


def _titles(rows):
    """Fill in article titles the cheaper sources left blank (one lookup per new article)."""
    titles: dict[int, str] = {}
    for row in rows:
        if row[2] is not None and not row[3]:
            if row[2] not in titles:
                titles[row[2]] = Article.objects.filter(pk=row[2]).values_list("title", flat=True).first() or ""
            row = (*row[:3], titles[row[2]], *row[4:])
        elif row[2] is not None:
            titles[row[2]] = row[3]
        yield row


class _Echo:
    def write(self, value):
        return value


#: What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Excel reads a UTF-8 file as UTF-8 (Tomás, →) only when it starts with a byte order mark.
BOM = "\ufeff"


def inert(value):
    """A cell a spreadsheet shows as text: one starting like a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def response(request):
    """The export view's response (the caller checks the permission)."""
    fmt = parsing.choice(request.GET.get("format"), name="format", choices={"csv", "json"}, default="csv")
    article_id = parsing.identifier(request.GET.get("article"), name="article")
    if article_id:
        rows = trail(article_id=article_id)
        name = f"audit-article-{article_id}"
    else:
        first, last, start, end = requested_days(request)
        rows = trail(start=start, end=end)
        name = f"audit-{first}-to-{last}"
    return streamed(_titles(rows), columns=COLUMNS, fmt=fmt, name=name)


def requested_days(request) -> tuple[date, date, datetime, datetime]:
    """The days an export covers: ``from`` and ``to`` in the query (local dates, both included;
    the last 30 days by default), and the aware moments ``[start, end)`` they span.

    Raises ``BadParameter`` (400) for a date that is not one, or ``to`` before ``from``.
    """
    today = timezone.localdate()
    first = parsing.calendar_date(request.GET.get("from"), name="from", default=today - timedelta(days=30))
    last = parsing.calendar_date(request.GET.get("to"), name="to", default=today)
    if last < first:
        raise parsing.BadParameter("to", "must not be before 'from'.")
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(first, time.min), tz)
    end = timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min), tz)
    return first, last, start, end


def streamed(rows, *, columns: list[str], fmt: str, name: str) -> StreamingHttpResponse:
    """Rows (tuples whose first value is a datetime) as a CSV or JSON download, streamed.

    CSV cells are inert for spreadsheets and the file starts with a BOM (Excel reads UTF-8).
    """
    if fmt == "csv":
        writer = csv.writer(_Echo())
        lines = (writer.writerow([r[0].isoformat(), *(inert(value) for value in r[1:])]) for r in rows)
        body = _chain([BOM + writer.writerow(columns)], lines)
        content_type = "text/csv; charset=utf-8"
    else:
        body = _json(rows, columns)
        content_type = "application/json"
    result = StreamingHttpResponse(body, content_type=content_type)
    result["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return result


def _chain(*iterables):
    for iterable in iterables:
        yield from iterable


def _json(rows, columns: list[str]):
    yield "[\n"
    first = True
    for row in rows:
        record = dict(zip(columns, [row[0].isoformat(), *row[1:]], strict=True))
        yield ("" if first else ",\n") + json.dumps(record, ensure_ascii=False)
        first = False
    yield "\n]\n"
