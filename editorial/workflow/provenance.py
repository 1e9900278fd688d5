"""AI provenance: declared with a draft (API or workspace), kept with each submitted version.

The declaration says which tool and model drafted which sections, the pipeline's run or
prompt id and when; declaring it also keeps the drafted sections' text as they stand then,
the machine draft, so that the board and the record can compare it with what was approved.
Re-declaring the same facts keeps the first machine draft; new facts (another run) replace
it. Each submission copies the declaration onto the version (``copy_to_version``), and the
review checklist then asks for "machine-drafted passages verified against the sources"
(``editorial.workflow.checks``).
"""

from collections.abc import Mapping
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from articles.models import Article, ArticleVersion
from articles.provenance import MODEL_LIMIT, RUN_ID_LIMIT, SECTIONS, TOOL_LIMIT, AIProvenance
from editorial.workflow import permissions
from editorial.workflow.contract import UNCHANGED, boundary
from editorial.workflow.exceptions import InvalidInput

#: The keys a declaration may carry (``AIProvenance.facts`` gives the same).
FIELDS = ("tool", "model", "model_version", "run_id", "generated_at", "sections")


def _refuse(field: str, message: str):
    label = field.replace("_", " ")
    raise InvalidInput(f"AI provenance, {label}: {message}", fields={f"ai_provenance.{field}": message})


def _text(data: Mapping, field: str, limit: int, *, required: bool) -> str:
    value = data.get(field, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        _refuse(field, "expected text.")
    value = value.strip()
    if required and not value:
        _refuse(field, "required.")
    if len(value) > limit or "\x00" in value:
        _refuse(field, f"at most {limit} characters, without NUL.")
    return value


def _moment(value) -> datetime:
    if value in (None, ""):
        return timezone.now()
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
        if parsed is None or "T" not in value:
            _refuse("generated_at", "a date and time in ISO 8601 with its offset, e.g. 2026-11-29T14:05:00Z.")
        value = parsed
    if not isinstance(value, datetime) or value.tzinfo is None:
        _refuse("generated_at", "a date and time with its time zone (ISO 8601, e.g. 2026-11-29T14:05:00Z).")
    if value > timezone.now() + timedelta(minutes=5):
        _refuse("generated_at", "is in the future.")
    return value


def clean_declaration(data) -> dict:
    """A declaration as given (API JSON or the workspace form) made safe to store.

    In: a mapping with ``tool`` and ``model`` (required text), ``model_version``, ``run_id``
    (optional text), ``generated_at`` (ISO 8601 with offset, or an aware datetime; default
    now) and ``sections`` (a non-empty list of keys of ``articles.provenance.SECTIONS``).
    Out: the same keys, cleaned. Raises InvalidInput (400) naming the field at fault.
    """
    if not isinstance(data, Mapping):
        raise InvalidInput("AI provenance: expected an object with tool, model and sections.")
    unknown = sorted(str(key) for key in data if key not in FIELDS)
    if unknown:
        _refuse(unknown[0], f"unknown field(s) {', '.join(unknown)[:200]}; known: {', '.join(FIELDS)}.")
    sections = data.get("sections")
    if isinstance(sections, str) or not isinstance(sections, list | tuple) or not sections:
        _refuse("sections", f"a non-empty list of the drafted sections, among {', '.join(SECTIONS)}.")
    if any(not isinstance(s, str) or s not in SECTIONS for s in sections):
        _refuse("sections", f"each one of {', '.join(SECTIONS)}.")
    return {
        "tool": _text(data, "tool", TOOL_LIMIT, required=True),
        "model": _text(data, "model", MODEL_LIMIT, required=True),
        "model_version": _text(data, "model_version", MODEL_LIMIT, required=False),
        "run_id": _text(data, "run_id", RUN_ID_LIMIT, required=False),
        "generated_at": _moment(data.get("generated_at")),
        "sections": [key for key in SECTIONS if key in sections],
    }


def declaration(article: Article) -> AIProvenance | None:
    """The article's current declaration (None when no machine is declared), one query."""
    if article.pk is None:
        return None
    return AIProvenance.objects.filter(article=article, version__isnull=True).first()


def _same(row: AIProvenance, facts: dict) -> bool:
    return row.facts() == {**facts, "generated_at": facts["generated_at"].isoformat()}


def write_declaration(*, article: Article, actor, provenance, changed=lambda article: None) -> AIProvenance | None:
    """Replace, keep or remove ``article``'s declaration inside the caller's transaction.

    For services that have already checked that ``actor`` may edit ``article`` (article_create,
    article_update, ``provenance_declare``). ``provenance``: UNCHANGED (nothing is read or
    written; returns None), None (no machine was involved: remove it) or a mapping
    (``clean_declaration``). ``changed(article)`` is called when the declaration changes.
    Returns the declaration in force after it.
    """
    if provenance is UNCHANGED:
        return None
    current = AIProvenance.objects.select_for_update().filter(article=article, version__isnull=True).first()
    if provenance is None:
        if current is not None:
            current.delete()
            changed(article)
        return None
    facts = clean_declaration(provenance)
    if current is not None and _same(current, facts):
        return current
    if current is not None:
        current.delete()
    changed(article)
    return AIProvenance.objects.create(
        article=article,
        tool=facts["tool"],
        model_name=facts["model"],
        model_version=facts["model_version"],
        run_id=facts["run_id"],
        generated_at=facts["generated_at"],
        sections=facts["sections"],
        machine_draft={key: getattr(article, key) for key in facts["sections"]},
        declared_by=actor,
    )


def _article_changed(article: Article) -> None:
    """A declaration changed on its own changes the article: its ``row_version`` (the edit forms'
    and the API's concurrency token) moves on, so a copy read before is refused as stale (the
    article services move it themselves when they write a declaration with the text). The
    submit relies on it: its lock reads ``ai_declared`` in the locking statement, which cannot
    see a declaration committed while it waited for the lock, but sees the row_version moved."""
    Article.objects.filter(pk=article.pk).update(row_version=F("row_version") + 1)
    article.row_version += 1


@boundary
def provenance_declare(*, article: Article, actor, provenance=UNCHANGED) -> AIProvenance | None:
    """Declare (or, with None, withdraw) that a machine drafted parts of an editable article.

    The workspace's "drafted with AI assistance"; the API passes the same through
    article_create / article_update. Raises NotPermitted (403) for someone who may not edit
    the article now, InvalidInput (400) for a malformed declaration.
    """
    with transaction.atomic():
        current = Article.objects.select_for_update().get(pk=article.pk)
        permissions.require_content_edit(actor, current)
        return write_declaration(article=current, actor=actor, provenance=provenance, changed=_article_changed)


#: Whether the article in hand has a draft declaration: an annotation for the submit's lock.
DECLARED = Exists(AIProvenance.objects.filter(article=OuterRef("pk"), version__isnull=True))


def copy_to_version(article: Article, version: ArticleVersion) -> AIProvenance | None:
    """Keep the article's declaration with its newly submitted ``version`` (inside the submit).

    An article read with the ``DECLARED`` annotation (``ai_declared``) costs no query when no
    machine was declared; otherwise one read and one insert.
    """
    if getattr(article, "ai_declared", True) is False:
        return None
    current = declaration(article)
    if current is None:
        return None
    return AIProvenance.objects.create(
        article=article,
        version=version,
        tool=current.tool,
        model_name=current.model_name,
        model_version=current.model_version,
        run_id=current.run_id,
        generated_at=current.generated_at,
        sections=current.sections,
        machine_draft=current.machine_draft,
        declared_by_id=current.declared_by_id,
    )


def is_machine_drafted(version: ArticleVersion | None) -> bool:
    """Whether AI provenance is kept with ``version`` (the review checklist then asks more), one query."""
    return version is not None and AIProvenance.objects.filter(version=version).exists()
