"""The retraction watch: which cited works the beat asks about, and when.

Each run asks the resolver (``editorial.sources.resolver``) about the cited DOIs least
recently checked, at most ``EDITORIAL_RETRACTION_BATCH`` of them, skipping those asked within
``EDITORIAL_RETRACTION_RECHECK_HOURS``; the answers go to ``editorial.workflow.sources``, which
records them and marks the citing articles. The requests are made outside any transaction.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from articles.identifiers import normalise_doi
from articles.models import Article, CitedWork, Reference
from editorial.sources.resolver import ResolverError, resolver
from editorial.workflow import sources

log = logging.getLogger(__name__)


@dataclass
class WatchReport:
    """What one run did: DOIs asked, new updates recorded, DOIs the service could not answer for."""

    asked: int = 0
    updates: int = 0
    failed: list[str] = field(default_factory=list)
    skipped: str = ""

    def as_dict(self) -> dict:
        return {"asked": self.asked, "updates": self.updates, "failed": len(self.failed), "skipped": self.skipped}


def _canonical(values) -> list[str]:
    dois = set()
    for value in values:
        try:
            dois.add(normalise_doi(value))
        except ValidationError:  # a legacy value that is no DOI: nothing to ask about
            continue
    dois.discard("")
    return sorted(dois)


def dois_due(*, limit: int, now) -> list[str]:
    """Cited DOIs never asked about, then those asked longest ago, up to ``limit``."""
    cited = _canonical(Reference.objects.exclude(doi="").values_list("doi", flat=True).distinct())
    recent = now - timedelta(hours=settings.EDITORIAL_RETRACTION_RECHECK_HOURS)
    checked = dict(
        CitedWork.objects.filter(scheme="doi", identifier__in=cited, checked_at__isnull=False).values_list(
            "identifier", "checked_at"
        )
    )
    due = [doi for doi in cited if doi not in checked or checked[doi] <= recent]
    due.sort(key=lambda doi: (doi in checked, checked.get(doi) or now, doi))
    return due[:limit]


def dois_of(article: Article) -> list[str]:
    """The DOIs an article cites: its live list and the version readers see."""
    values = list(article.references.exclude(doi="").values_list("doi", flat=True))
    if article.published_version_id:
        values += [ref.get("doi", "") for ref in article.published_version.content.get("references", [])]
    return _canonical(value for value in values if value)


def watch(*, article: Article | None = None, limit: int | None = None) -> WatchReport:
    """Ask about the cited works due (or every DOI ``article`` cites) and record the answers."""
    report = WatchReport()
    try:
        service = resolver()
    except ResolverError as error:
        report.skipped = error.message
        return report
    now = timezone.now()
    dois = dois_of(article) if article else dois_due(limit=limit or settings.EDITORIAL_RETRACTION_BATCH, now=now)
    for doi in dois:
        report.asked += 1
        try:
            record = service.lookup(doi=doi, fresh=True)
        except ResolverError as error:
            log.warning("Retraction watch: %s: %s", doi, error.message)
            report.failed.append(doi)
            continue
        if record.found:
            sources.cited_work_record(
                scheme="doi", identifier=doi, found=True, metadata=record.metadata(), at=timezone.now()
            )
        report.updates += len(sources.work_updates_record(doi=doi, updates=record.updates, checked_at=now))
    return report


def article_by_key(key: str) -> Article | None:
    """An article by its id or its slug (for the management command)."""
    if key.isdigit():
        return Article.objects.filter(pk=int(key)).first()
    return Article.objects.filter(slug=key).first()
