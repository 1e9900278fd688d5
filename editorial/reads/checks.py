"""The content checks as the doors show them: the author live, the board beside the checklist,
the editor before approving, API clients on request.

One shape everywhere (``as_dict``), built from the same rules: the citation gate
(``articles.citations``), what would be refused on save (``articles.rendering``), the safety
lints (``articles.lints``) and what Crossref or PubMed said about the cited works (retractions
and metadata that disagrees with what the author typed), joined by identifier.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from articles import lints
from articles.citations import CitationReport, metadata_disagreements
from articles.identifiers import normalise_doi, normalise_pmid
from articles.models import ArticleVersion, CitedWork, ContentCheck, WorkUpdate
from editorial.workflow.checks import citation_report, rendering_problems


@dataclass(frozen=True)
class SourceNote:
    """Something a service said about reference ``number``: an update (retraction …) or a disagreement."""

    number: int
    kind: str  # "retraction", "withdrawal", "correction", "expression_of_concern", "other" or "disagreement"
    message: str

    @property
    def disqualifies(self) -> bool:
        return self.kind in ("retraction", "withdrawal")

    def as_dict(self) -> dict:
        return {"reference": self.number, "kind": self.kind, "message": self.message}


@dataclass
class ContentChecks:
    """Everything the checks say about one text and its references."""

    citations: CitationReport
    refused: list[str] = field(default_factory=list)
    findings: list = field(default_factory=list)  # lints.Finding (or recorded rows, same attributes)
    sources: list[SourceNote] = field(default_factory=list)

    @property
    def blocks(self) -> bool:
        """True while submitting would be refused (the citation gate)."""
        return not self.citations.ok

    def as_dict(self) -> dict:
        return {
            "blocks_submission": self.blocks,
            "citations": self.citations.as_dict(),
            "refused_on_save": list(self.refused),
            "lints": [_finding_dict(finding) for finding in self.findings],
            "sources": [note.as_dict() for note in self.sources],
        }


def _finding_dict(finding) -> dict:
    return {
        "code": finding.code,
        "title": lints.TITLES.get(finding.code, finding.code),
        "field": finding.field,
        "message": finding.message,
        "excerpt": finding.excerpt,
    }


def canonical(normalise, value: str) -> str:
    """``value`` normalised, or '' where it does not normalise (legacy data)."""
    try:
        return normalise(value or "")
    except ValidationError:
        return ""


def updates_by_doi(dois: Iterable[str]) -> dict[str, list[WorkUpdate]]:
    """Retraction, correction … rows for each of ``dois`` (canonical), one query."""
    wanted = {doi for doi in dois if doi}
    found: dict[str, list[WorkUpdate]] = defaultdict(list)
    if wanted:
        for update in WorkUpdate.objects.filter(doi__in=wanted).order_by("notice_date", "id"):
            found[update.doi].append(update)
    return found


def update_sentence(update: WorkUpdate) -> str:
    notice = f" (notice doi:{update.notice_doi}" if update.notice_doi else ""
    if notice and update.notice_date:
        notice += f", {update.notice_date:%d %b %Y}"
    return f"{update.get_kind_display()}{notice + ')' if notice else ''}"


def source_notes(references: Sequence[Mapping]) -> list[SourceNote]:
    """What the services said about each reference: its updates, and metadata that disagrees (2 queries)."""
    dois = [canonical(normalise_doi, ref.get("doi", "")) for ref in references]
    pmids = [canonical(normalise_pmid, ref.get("pmid", "")) for ref in references]
    updates = updates_by_doi(dois)
    keys = {("doi", doi) for doi in dois if doi} | {("pmid", pmid) for pmid in pmids if pmid}
    works = {}
    if keys:
        works = {
            (work.scheme, work.identifier): work
            for work in CitedWork.objects.filter(
                identifier__in={identifier for _, identifier in keys}, found=True
            ).exclude(metadata={})
        }
    notes = []
    for number, (reference, doi, pmid) in enumerate(zip(references, dois, pmids, strict=True), start=1):
        for update in updates.get(doi, []):
            notes.append(SourceNote(number, update.kind, f"Reference [{number}]: {update_sentence(update)}."))
        work = works.get(("doi", doi)) or works.get(("pmid", pmid))
        if work is not None:
            for sentence in metadata_disagreements(reference, work.metadata):
                notes.append(SourceNote(number, "disagreement", f"Reference [{number}]: {sentence}"))
    return notes


def content_checks(content: Mapping) -> ContentChecks:
    """The checks of snapshot-shaped content (a draft as posted, an article, a version)."""
    references = list(content.get("references", []))
    return ContentChecks(
        citations=citation_report(content),
        refused=rendering_problems(content),
        findings=lints.lint(content),
        sources=source_notes(references),
    )


def article_checks(article) -> ContentChecks:
    """The checks of an article's live text and references."""
    return content_checks(
        {
            "body": article.body,
            "patient_body": article.patient_body,
            "references": [reference.as_content() for reference in article.references.all()],
        }
    )


def version_checks(version: ArticleVersion | None) -> ContentChecks | None:
    """The checks of a submitted version: the lints as recorded when it was submitted (run now for
    a version older than the record), and the sources as known today."""
    if version is None:
        return None
    data = version.content
    recorded = ContentCheck.objects.filter(version=version).prefetch_related("findings").first()
    return ContentChecks(
        citations=citation_report(data),
        findings=list(recorded.findings.all()) if recorded else lints.lint(data),
        sources=source_notes(data.get("references", [])),
    )


def posted_references(data: Mapping, prefix: str = "references") -> list[dict]:
    """The reference rows of a posted workspace form (the inline formset), in their numbered order.

    Rows marked for deletion and rows without a title or identifier are left out.
    """
    try:
        total = min(int(data.get(f"{prefix}-TOTAL_FORMS", 0)), 500)
    except (TypeError, ValueError):
        total = 0
    rows = []
    for index in range(total):
        key = f"{prefix}-{index}-"
        if data.get(key + "DELETE"):
            continue
        row = {
            name: (data.get(key + name) or "").strip() for name in ("authors", "title", "source", "doi", "pmid", "url")
        }
        row["year"] = (data.get(key + "year") or "").strip()
        if not any(row[name] for name in ("title", "doi", "pmid", "url")):
            continue
        try:
            position = int(data.get(key + "position") or 0)
        except ValueError:
            position = 0
        rows.append((position or index + 1, index, row))
    return [row for _, _, row in sorted(rows)]
