"""The content checks the workflow enforces and records.

- The citation gate (``articles.citations``): submit and resubmit check the live text and
  references, approve the version under review; a problem refuses the transition (409,
  ``CitationsIncomplete``, with the list of problems).
- Rendering fidelity (``articles.rendering.markdown_problems``): a text the renderer could not
  show as meant is refused when saved (400, ``ContentRefused``).
- The safety lints (``articles.lints``) run on every submitted version and are written beside
  it, once (``ContentCheck`` and its ``ContentFinding`` rows): what the board was shown.
- The review checklist: an "approve" needs every item ticked; "doses and units checked" may
  be recorded as not applicable only where the lints found no dose (the product's review rules).
"""

from collections.abc import Mapping

from django.db.models import Exists, OuterRef, Subquery

from articles import lints
from articles.citations import CitationReport, check_citations
from articles.dosing import dose_count
from articles.models import Article, ArticleVersion, ContentCheck, ContentFinding
from articles.provenance import AIProvenance
from articles.rendering import markdown_problems
from editorial.workflow.exceptions import ChecklistIncomplete, CitationsIncomplete, ContentRefused
from reviewers.models import CHECKLIST, MACHINE_CHECK, Recommendation

RENDERED_FIELDS = ("body", "patient_body")


def citation_report(content: Mapping) -> CitationReport:
    """The citation gate on snapshot-shaped content (``articles.content.snapshot``)."""
    return check_citations(
        body=content.get("body", ""),
        patient_body=content.get("patient_body", ""),
        references=content.get("references", []),
    )


def require_citations(article: Article, name: str) -> None:
    """Refuse ``name`` (submit, resubmit, approve) while the citations do not match the references.

    Raises CitationsIncomplete (409) listing every problem. Submissions are judged on the live
    text; approval on the version the board reviewed.
    """
    if name in ("submit", "resubmit"):
        report = article.citation_report()
    elif name == "approve" and article.current_version_id:
        report = citation_report(article.current_version.content)
    else:
        return
    if not report.ok:
        raise CitationsIncomplete(report.problems)


def rendering_problems(fields: Mapping) -> list[str]:
    """Why the Markdown of ``body`` / ``patient_body`` in ``fields`` cannot be saved, if it cannot."""
    problems = []
    for name in RENDERED_FIELDS:
        label = "Text for clinicians" if name == "body" else "Text for patients"
        problems += [f"{label}: {problem}" for problem in markdown_problems(fields.get(name) or "")]
    return problems


def require_renderable(article: Article) -> None:
    """Raises ContentRefused (400) when a text would not render as its author meant."""
    problems = rendering_problems({name: getattr(article, name) for name in RENDERED_FIELDS})
    if problems:
        raise ContentRefused(problems)


def record_content_check(version: ArticleVersion) -> ContentCheck:
    """Run the lints on a new version and write what they found beside it (2 queries)."""
    findings = lints.lint(version.content)
    check = ContentCheck.objects.create(
        version=version,
        doses=dose_count(version.content),
        reading_grade=lints.reading_grade(version.content.get("patient_body", "")),
    )
    ContentFinding.objects.bulk_create(
        ContentFinding(
            content_check=check,
            code=finding.code,
            field=finding.field,
            message=finding.message,
            excerpt=finding.excerpt,
        )
        for finding in findings
    )
    return check


def doses_in(version: ArticleVersion | None) -> int:
    """Doses the lints found in a version: as recorded when it was submitted, else counted now."""
    if version is None:
        return 0
    recorded = ContentCheck.objects.filter(version=version).values_list("doses", flat=True).first()
    return recorded if recorded is not None else dose_count(version.content)


def checklist_facts(version_id: int | None) -> tuple[int, bool]:
    """What the review checklist of a version depends on, in one query: (the doses the lints
    found, as ``doses_in`` counts them; whether AI provenance is kept with it, as
    ``provenance.is_machine_drafted`` says). ``(0, False)`` without a version."""
    if version_id is None:
        return 0, False
    facts = (
        ArticleVersion.objects.filter(pk=version_id)
        .annotate(
            recorded=Subquery(ContentCheck.objects.filter(version=OuterRef("pk")).order_by("pk").values("doses")[:1]),
            machine_drafted=Exists(AIProvenance.objects.filter(version=OuterRef("pk"))),
        )
        .values("recorded", "machine_drafted")
        .first()
    )
    if facts is None:
        return 0, False
    if facts["recorded"] is None:  # a version from before the checks were recorded
        return doses_in(ArticleVersion.objects.get(pk=version_id)), facts["machine_drafted"]
    return facts["recorded"], facts["machine_drafted"]


def require_checklist(*, recommendation: str, checklist: Mapping, doses: int, machine_drafted: bool = False) -> None:
    """Refuse a review whose checklist does not hold what its recommendation needs.

    ``checklist`` maps each CHECKLIST field (``doses_not_applicable``, ``machine_passages_verified``)
    to a bool; ``doses`` is the number of doses the lints found; ``machine_drafted`` says whether
    AI provenance is kept with the version, which adds MACHINE_CHECK to what an approve needs.
    Raises ChecklistIncomplete (400).
    """
    not_applicable = bool(checklist.get("doses_not_applicable"))
    if not_applicable and doses:
        raise ChecklistIncomplete(
            f"The text gives {doses} dose{'s' if doses != 1 else ''}: “not applicable” cannot be recorded for "
            "“Doses and units are checked”. Check them, and tick the item."
        )
    if recommendation != Recommendation.APPROVE:
        return
    missing = [
        label
        for field, label in CHECKLIST
        if not checklist.get(field) and not (field == "doses_checked" and not_applicable)
    ]
    if machine_drafted and not checklist.get(MACHINE_CHECK[0]):
        missing.append(MACHINE_CHECK[1])
    if missing:
        raise ChecklistIncomplete(
            "To sign an approval, tick every checklist item. Not ticked: "
            + "; ".join(f"“{label}”" for label in missing)
            + ". Nothing was signed."
        )
