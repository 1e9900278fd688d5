"""An article's history compared version by version: what changed, field by field."""

from datetime import datetime

from django.utils import timezone
from django.utils.formats import date_format

from articles.diff import diff_words, reference_lines
from articles.models import Article, Reference, Specialty

#: Fields of an article's history compared field by field, with the long ones diffed by word.
COMPARED = [
    ("title", "Clinical question"), ("slug", "Slug"), ("specialty", "Specialty"), ("summary", "Summary"),
    ("body", "Text for clinicians"), ("patient_body", "Text for patients"), ("status", "Status"),
    ("review_round", "Review round"), ("last_approved_at", "Last reviewed"), ("review_due_at", "Next review due"),
]  # fmt: skip
WORD_DIFFED = {"title", "summary", "body", "patient_body"}


def readable(field: str, value) -> str:
    """A history value as a person reads it: a status's label, a specialty's name, a local
    date ("12 Mar 2026 14:05" in the site's time zone), "—" for nothing; never a raw id or code."""
    if value is None or value == "":
        return "—"
    if field == "specialty":
        name = Specialty.objects.filter(pk=value).values_list("name", flat=True).first()
        return name or f"(removed specialty {value})"
    if field == "status":
        return dict(Article._meta.get_field("status").flatchoices).get(value, value)
    if isinstance(value, datetime):
        return date_format(timezone.localtime(value), "j M Y H:i")
    return str(value)


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
            diff = diff_words(before or "", after or "")
            changes.append({"label": label, "html": diff.html, "coarse": diff.coarse})
        else:
            changes.append({"label": label, "before": readable(field, before), "after": readable(field, after)})
    # A version owns the reference edits saved with it or after it, up to the next version.
    old_refs = reference_lines(references_as_of(article.pk, _next_version_date(article, older)))
    new_refs = reference_lines(references_as_of(article.pk, _next_version_date(article, newer)))
    if old_refs != new_refs:
        diff = diff_words(old_refs, new_refs)
        changes.append({"label": "References", "html": diff.html, "coarse": diff.coarse})
    return changes


def _next_version_date(article: Article, row):
    following = (
        article.history.filter(history_date__gt=row.history_date)
        .order_by("history_date", "history_id")
        .values_list("history_date", flat=True)
        .first()
    )
    return following
