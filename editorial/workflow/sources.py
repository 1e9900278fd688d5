"""What the workflow records about cited works, and what a retraction causes.

The resolver (``editorial.sources.resolver``) is asked outside any transaction; these services
write its answers. A new retraction or withdrawal of a work marks every article that cites
it: the editors are told once per article and work (an outbox event with a dedupe key), and
an approved article falls due for re-review now. Versions are never touched: the retraction
itself is a ``WorkUpdate`` row keyed by the DOI, which pages join when they render.
"""

from collections.abc import Mapping
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from articles.citations import metadata_disagreements
from articles.identifiers import normalise_doi, normalise_pmid
from articles.models import Article, ArticleStatus, CitedWork, Reference, WorkUpdate, WorkUpdateKind
from editorial.models import EventKind
from editorial.sources.resolver import ResolverError, resolver
from editorial.workflow.audit import set_audit_context
from editorial.workflow.events import record_once
from editorial.workflow.exceptions import EditorialError, SourceUnavailable
from editorial.workflow.system import system_user

S = ArticleStatus

#: Articles whose board or readers depend on their sources: a retraction concerns them.
CONCERNED_STATUSES = (S.SUBMITTED, S.UNDER_REVIEW, S.CHANGES_REQUESTED, S.APPROVED)


def cited_work_record(*, scheme: str, identifier: str, found: bool, metadata: dict, at: datetime) -> CitedWork:
    """Keep what a look-up found about one identifier (the newest answer wins)."""
    work, _ = CitedWork.objects.update_or_create(
        scheme=scheme,
        identifier=identifier,
        defaults={"found": found, "metadata": metadata, "looked_up_at": at},
    )
    return work


def reference_lookup(*, doi: str = "", pmid: str = "", typed: Mapping | None = None) -> dict:
    """Look a reference up by DOI (Crossref) or PMID (PubMed) for the workspace's button and the API.

    Returns ``{"found", "service", "identifier", "fields", "disagreements", "updates"}``:
    ``fields`` the reference fields the service filled (authors, title, source, year, doi,
    pmid), ``disagreements`` a sentence for each field where ``typed`` (what the author
    entered) differs from the record, ``updates`` a sentence per retraction or correction.
    Raises EditorialError (400) for an identifier that is not one, SourceUnavailable (503)
    while look-ups are off or the service does not answer. The answer is kept (``CitedWork``)
    so that reviewers see the same comparison.
    """
    try:
        doi, pmid = normalise_doi(doi), normalise_pmid(pmid)
    except ValidationError as error:
        raise EditorialError(" ".join(error.messages)) from error
    if not doi and not pmid:
        raise EditorialError("Give a DOI or a PMID to look up.")
    try:
        record = resolver().lookup(doi=doi, pmid=pmid)
    except ResolverError as error:
        raise SourceUnavailable(error.message) from error
    if record.found:
        cited_work_record(
            scheme=record.scheme,
            identifier=record.identifier,
            found=True,
            metadata=record.metadata(),
            at=timezone.now(),
        )
    fields = record.metadata()
    labels = dict(WorkUpdateKind.choices)
    return {
        "found": record.found,
        "service": record.service,
        "identifier": record.identifier,
        "fields": fields,
        "disagreements": metadata_disagreements(typed or {}, fields) if record.found else [],
        "updates": [
            f"{labels.get(update.kind, 'Updated')}"
            + (f" (notice doi:{update.notice_doi})" if update.notice_doi else "")
            + (f", {update.notice_date}" if update.notice_date else "")
            for update in record.updates
        ],
        "message": ""
        if record.found
        else f"{record.service} knows no work with the {record.scheme.upper()} {record.identifier}.",
    }


def articles_citing(doi: str) -> list[Article]:
    """Articles whose live reference list, or whose published version, cites ``doi`` (canonical)."""
    live = set(Reference.objects.filter(doi__iexact=doi).values_list("article_id", flat=True))
    # A revision may have dropped the reference while readers still see the approved version.
    revised = Article.objects.filter(published_version__isnull=False).exclude(status=S.APPROVED).exclude(pk__in=live)
    published = [
        article.pk
        for article in revised.select_related("published_version").only("pk", "published_version__content")
        if any((ref.get("doi") or "").lower() == doi for ref in article.published_version.content.get("references", []))
    ]
    return list(Article.objects.filter(pk__in=live | set(published)).order_by("pk"))


def work_updates_record(*, doi: str, updates, checked_at: datetime) -> list[WorkUpdate]:
    """Record the updates the resolver reported for ``doi``; mark the citing articles of new ones.

    ``updates`` are ``editorial.sources.resolver.Update`` values. Returns the rows written now
    (an update seen before is not written again, and causes nothing again).
    """
    with transaction.atomic():
        CitedWork.objects.update_or_create(scheme="doi", identifier=doi, defaults={"checked_at": checked_at})
        known = set(WorkUpdate.objects.filter(doi=doi).values_list("kind", "notice_doi"))
        new = []
        for update in updates:
            if (update.kind, update.notice_doi) in known:
                continue
            known.add((update.kind, update.notice_doi))
            new.append(
                WorkUpdate.objects.create(
                    doi=doi,
                    kind=update.kind,
                    label=update.label[:100],
                    notice_doi=update.notice_doi,
                    notice_date=date.fromisoformat(update.notice_date) if update.notice_date else None,
                    source=update.source[:60],
                )
            )
        disqualifying = [row for row in new if row.disqualifies]
        if disqualifying:
            for article in articles_citing(doi):
                _mark(article, doi, disqualifying[0])
    return new


def _mark(article: Article, doi: str, update: WorkUpdate) -> None:
    """Tell the editors once; an approved article falls due for re-review now."""
    if article.status not in CONCERNED_STATUSES and article.published_version_id is None:
        return
    actor = system_user()
    numbers = [
        number for number, reference in enumerate(article.references.all(), start=1) if reference.doi.lower() == doi
    ]
    record_once(
        dedupe_key=f"{EventKind.SOURCE_RETRACTED}:{article.pk}:{doi}",
        kind=EventKind.SOURCE_RETRACTED,
        actor=actor,
        article=article,
        payload={
            "doi": doi,
            "update": update.kind,
            "label": update.get_kind_display(),
            "notice_doi": update.notice_doi,
            "notice_date": update.notice_date.isoformat() if update.notice_date else "",
            "references": numbers,
        },
    )
    now = timezone.now()
    current = Article.objects.select_for_update(of=("self",)).get(pk=article.pk)
    if current.status == S.APPROVED and (current.review_due_at is None or current.review_due_at > now):
        current.review_due_at = now
        current.row_version += 1
        reason = f"Due for re-review: the cited work doi:{doi} was {update.get_kind_display().lower()}"
        set_audit_context(current, actor=actor, reason=reason)
        current.save(update_fields=["review_due_at", "row_version", "updated_at"])
