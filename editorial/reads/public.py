"""Reads shared by the public pages and the API."""

from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import quote

from django.conf import settings
from django.db.models import CharField, F, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Lower

from articles import content
from articles.identifiers import normalise_doi
from articles.models import Article, ArticleStatus, Specialty
from articles.provenance import AIProvenance
from editorial.reads.checks import canonical, updates_by_doi
from reviewers.models import (
    Signature,
    SignatureMeaning,
)

S = ArticleStatus

#: Statuses in which readers see the article itself, by the EDITORIAL_PUBLIC_FROM setting.
PUBLIC_STATUSES = {
    "submitted": {S.SUBMITTED, S.UNDER_REVIEW, S.CHANGES_REQUESTED, S.APPROVED, S.RETRACTED},
    "approved": {S.APPROVED, S.RETRACTED},
}

#: Never public, whatever was approved before.
NEVER_PUBLIC = {S.WITHDRAWN, S.REJECTED}


def public_articles() -> QuerySet:
    """Articles readers may open: by status, or because an approved version exists."""
    statuses = PUBLIC_STATUSES.get(settings.EDITORIAL_PUBLIC_FROM, PUBLIC_STATUSES["approved"])
    return Article.objects.filter(
        Q(status__in=statuses) | (Q(published_version__isnull=False) & ~Q(status__in=NEVER_PUBLIC))
    )


# --- The public pages ---------------------------------------------------------------------


class ReaderStatus:
    """The status readers are told: four words, whatever the workflow's finer states."""

    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    RETRACTED = "retracted"

    LABELS = {SUBMITTED: "Submitted", UNDER_REVIEW: "Under review", APPROVED: "Approved", RETRACTED: "Retracted"}


def reader_status(article: Article) -> str:
    """What readers are told about a public article.

    An approved article whose update is in review still reads as approved (readers see the
    approved version); changes requested reads as under review: the board is still on it.
    """
    if article.status == S.RETRACTED:
        return ReaderStatus.RETRACTED
    if article.status == S.APPROVED or article.published_version_id:
        return ReaderStatus.APPROVED
    if article.status == S.SUBMITTED:
        return ReaderStatus.SUBMITTED
    return ReaderStatus.UNDER_REVIEW


def _reader_status_rule(status: str) -> Q | None:
    """The database's version of ``reader_status``: articles readers are told are ``status``."""
    published = Q(published_version__isnull=False)
    return {
        ReaderStatus.RETRACTED: Q(status=S.RETRACTED),
        ReaderStatus.APPROVED: Q(status=S.APPROVED) | (published & ~Q(status=S.RETRACTED)),
        ReaderStatus.SUBMITTED: Q(status=S.SUBMITTED) & ~published,
        ReaderStatus.UNDER_REVIEW: Q(status__in=[S.UNDER_REVIEW, S.CHANGES_REQUESTED]) & ~published,
    }.get(status)


@dataclass(frozen=True)
class PublicReference:
    """A numbered reference as readers see it; only safe addresses become links."""

    number: int
    title: str
    authors: str = ""
    source: str = ""
    year: int | None = None
    doi: str = ""
    pmid: str = ""
    url: str = ""
    #: Retractions, corrections … of the cited work (WorkUpdate rows, joined when the page renders).
    updates: tuple = ()

    @property
    def retracted(self) -> bool:
        return any(update.disqualifies for update in self.updates)

    @classmethod
    def from_content(cls, number: int, data: dict) -> "PublicReference":
        values = {name: data.get(name) or ("" if name != "year" else None) for name in content.REFERENCE_FIELDS}
        return cls(number=number, **{name: value if name == "year" else str(value) for name, value in values.items()})

    @property
    def doi_url(self) -> str:
        doi = self.doi.strip()
        return f"https://doi.org/{quote(doi, safe='/')}" if doi else ""

    @property
    def pubmed_url(self) -> str:
        pmid = self.pmid.strip()
        return f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid.isascii() and pmid.isdigit() else ""

    @property
    def link(self) -> str:
        """The URL, if it is a web address: nothing else is ever put in a page's href."""
        return self.url if self.url.lower().startswith(("https://", "http://")) else ""


@dataclass
class PublicPage:
    """Everything an article's public page shows, from the version readers may see."""

    article: Article
    status: str
    title: str
    summary: str = ""
    body: str = ""
    patient_body: str = ""
    specialty: str = ""
    references: tuple[PublicReference, ...] = ()
    signers: tuple[Signature, ...] = ()
    last_updated: datetime | None = None
    update_in_review: bool = False
    #: What a machine drafted of the version shown (articles.provenance), None when nothing.
    ai_provenance: AIProvenance | None = None

    @property
    def status_label(self) -> str:
        return ReaderStatus.LABELS[self.status]

    @property
    def pending(self) -> bool:
        return self.status in (ReaderStatus.SUBMITTED, ReaderStatus.UNDER_REVIEW)

    @property
    def last_reviewed(self) -> datetime | None:
        return self.article.last_approved_at if self.status == ReaderStatus.APPROVED else None

    @property
    def next_review_due(self) -> datetime | None:
        return self.article.review_due_at if self.status == ReaderStatus.APPROVED else None

    @property
    def withdrawn_sources(self) -> tuple[int, ...]:
        """The numbers of the references whose cited work was retracted or withdrawn since (a
        disqualifying update: ``articles.models.WorkUpdate.disqualifies``), for an approved page.

        Such a notice brings the article's re-review forward to now (``workflow.sources``):
        the page says why its "Next review due" is today, not only "Retracted" by the reference.
        """
        if self.status != ReaderStatus.APPROVED:
            return ()
        return tuple(ref.number for ref in self.references if any(update.disqualifies for update in ref.updates))


def public_page(slug: str) -> PublicPage | None:
    """The page readers get for ``slug``, or None if it is not theirs to see.

    Readers get a version somebody submitted, never the working text (issue 12's rule): the
    published (approved) version if there is one, also while an update is in review, else the
    last submitted version (``current_version``). "An update is under review" shows only while
    a newer version than the published one is submitted or under review. At most three
    queries, whatever the number of references or signers.
    """
    article = (
        public_articles()
        .select_related(
            "specialty",
            "published_version",
            "published_version__ai_provenance",
            "current_version",
            "current_version__ai_provenance",
        )
        .filter(slug=slug)
        .first()
    )
    if article is None:
        return None
    status = reader_status(article)
    version = article.published_version or article.current_version
    if version is None:  # a public status always has a submitted version; nothing else is shown
        return None
    data = version.content
    page = PublicPage(
        article=article,
        status=status,
        title=data.get("title") or article.title,
        summary=data.get("summary", ""),
        body=data.get("body", ""),
        patient_body=data.get("patient_body", ""),
        specialty=data.get("specialty", ""),
        references=tuple(
            PublicReference.from_content(number, ref) for number, ref in enumerate(data.get("references", []), start=1)
        ),
        last_updated=version.created_at,
        update_in_review=update_in_review(article),
        ai_provenance=_provenance_of(version),
    )
    page.references = with_updates(page.references)
    if status == ReaderStatus.APPROVED and article.published_version_id is not None:
        page.signers = tuple(
            Signature.objects.filter(version_id=version.pk, meaning=SignatureMeaning.MEDICALLY_ACCURATE).order_by(
                "signed_at", "id"
            )
        )
    return page


def _provenance_of(version) -> AIProvenance | None:
    """The AI provenance kept with ``version`` (selected with it: no query), or None."""
    if version is None:
        return None
    try:
        return version.ai_provenance
    except AIProvenance.DoesNotExist:
        return None


def update_in_review(article: Article) -> bool:
    """A newer version than the published one is submitted or under review (not a draft, not
    returned for changes): what the public "an update is under review" note says."""
    return (
        article.published_version_id is not None
        and article.status in (S.SUBMITTED, S.UNDER_REVIEW)
        and article.current_version_id != article.published_version_id
    )


def with_updates(references: tuple[PublicReference, ...]) -> tuple[PublicReference, ...]:
    """The references with the retraction and correction notices of their works (one query, if any DOI)."""
    dois = {ref.number: canonical(normalise_doi, ref.doi) for ref in references}
    updates = updates_by_doi(dois.values())
    if not updates:
        return references
    return tuple(replace(ref, updates=tuple(updates.get(dois[ref.number], ()))) for ref in references)


@dataclass(frozen=True)
class IndexFilters:
    q: str = ""
    specialty: str = ""
    status: str = ""


def _published(key: str) -> KeyTextTransform:
    """A text field of the approved version's content (NULL where there is none)."""
    return KeyTextTransform(key, "published_version__content")


def _submitted(key: str) -> KeyTextTransform:
    """A text field of the last submitted version's content (NULL where there is none)."""
    return KeyTextTransform(key, "current_version__content")


def public_index(filters: IndexFilters) -> QuerySet:
    """Public articles for the index, as readers see them, searchable and filterable.

    Titles, summaries and specialties come from the approved version where there is one,
    else from the last submitted version: a search never finds the words of an update still
    in review, nor of the working text.
    """
    published = Q(published_version__isnull=False)
    articles = (
        public_articles()
        .annotate(
            shown_title=Coalesce(_published("title"), _submitted("title"), F("title"), output_field=CharField()),
            shown_summary=Coalesce(
                _published("summary"), _submitted("summary"), F("summary"), output_field=CharField()
            ),
            shown_specialty=Coalesce(
                _published("specialty"), _submitted("specialty"), F("specialty__name"), output_field=CharField()
            ),
        )
        .only("slug", "status", "published_version_id", "current_version_id", "content_updated_at")
    )
    if filters.q:
        articles = articles.filter(
            (published & Q(published_version__content__title__icontains=filters.q))
            | (~published & Q(current_version__content__title__icontains=filters.q))
        )
    if filters.specialty:
        # An approved version names its specialty as it was then: match it by name.
        name = Specialty.objects.filter(slug=filters.specialty).values_list("name", flat=True).first()
        if name is None:
            return articles.none()
        articles = articles.filter(
            (published & Q(published_version__content__specialty=name))
            | (~published & Q(current_version__content__specialty=name))
        )
    if filters.status:
        rule = _reader_status_rule(filters.status)
        articles = articles.filter(rule) if rule is not None else articles.none()
    return articles.order_by(Lower("shown_title"), "pk")
