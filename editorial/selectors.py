"""Reads shared by the public pages and the API."""

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from django.conf import settings
from django.db.models import CharField, Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Lower

from articles import content
from articles.diff import reference_lines, word_diff
from articles.models import Article, ArticleStatus, Reference, Specialty
from editorial import permissions
from editorial.models import Event, EventKind
from editorial.permissions import Role
from reviewers.models import (
    OPEN_OR_DONE,
    Conflict,
    Invitation,
    InvitationStatus,
    ReviewerProfile,
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


def public_page(slug: str) -> PublicPage | None:
    """The page readers get for ``slug``, or None if it is not theirs to see.

    Once an article has been approved, readers get exactly the version the board signed
    (``published_version``), also while an update is in review; before, the live text.
    At most three queries, whatever the number of references or signers.
    """
    article = public_articles().select_related("specialty", "published_version").filter(slug=slug).first()
    if article is None:
        return None
    status = reader_status(article)
    version = article.published_version
    if version is not None:
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
                PublicReference.from_content(number, ref)
                for number, ref in enumerate(data.get("references", []), start=1)
            ),
            last_updated=version.created_at,
            update_in_review=status == ReaderStatus.APPROVED and article.status != S.APPROVED,
        )
    else:
        page = PublicPage(
            article=article,
            status=status,
            title=article.title,
            summary=article.summary,
            body=article.body,
            patient_body=article.patient_body,
            specialty=article.specialty.name if article.specialty_id else "",
            references=tuple(
                PublicReference.from_content(number, ref.as_content())
                for number, ref in enumerate(article.references.all(), start=1)
            ),
            last_updated=article.content_updated_at,
        )
    if status == ReaderStatus.APPROVED and version is not None:
        page.signers = tuple(
            Signature.objects.filter(version_id=version.pk, meaning=SignatureMeaning.MEDICALLY_ACCURATE).order_by(
                "signed_at", "id"
            )
        )
    return page


@dataclass(frozen=True)
class IndexFilters:
    q: str = ""
    specialty: str = ""
    status: str = ""


def _published(key: str) -> KeyTextTransform:
    """A text field of the approved version's content (NULL where there is none)."""
    return KeyTextTransform(key, "published_version__content")


def public_index(filters: IndexFilters) -> QuerySet:
    """Public articles for the index, as readers see them, searchable and filterable.

    Titles, summaries and specialties come from the approved version where there is one,
    so a search never finds the words of an update that is still in review.
    """
    published = Q(published_version__isnull=False)
    articles = (
        public_articles()
        .annotate(
            shown_title=Coalesce(_published("title"), F("title"), output_field=CharField()),
            shown_summary=Coalesce(_published("summary"), F("summary"), output_field=CharField()),
            shown_specialty=Coalesce(_published("specialty"), F("specialty__name"), output_field=CharField()),
        )
        .only("slug", "status", "published_version_id", "content_updated_at")
    )
    if filters.q:
        articles = articles.filter(
            (published & Q(published_version__content__title__icontains=filters.q))
            | (~published & Q(title__icontains=filters.q))
        )
    if filters.specialty:
        # An approved version names its specialty as it was then: match it by name.
        name = Specialty.objects.filter(slug=filters.specialty).values_list("name", flat=True).first()
        if name is None:
            return articles.none()
        articles = articles.filter(
            (published & Q(published_version__content__specialty=name))
            | (~published & Q(specialty__slug=filters.specialty))
        )
    if filters.status:
        rule = _reader_status_rule(filters.status)
        articles = articles.filter(rule) if rule is not None else articles.none()
    return articles.order_by(Lower("shown_title"), "pk")


# --- The board --------------------------------------------------------------------------------


@dataclass
class Suggestion:
    profile: ReviewerProfile
    specialty_match: bool
    load: int

    @property
    def at_capacity(self) -> bool:
        return self.load >= self.profile.max_active_reviews


def suggest_reviewers(article: Article) -> list[Suggestion]:
    """Active board members who may review this round: specialty match first, then the least busy.

    Leaves out the author, anyone who declared competing interests on this article and anyone
    already invited to this round. Two queries, whatever the size of the board.
    """
    declared = Invitation.objects.filter(article=article, conflict=Conflict.DECLARED).values("reviewer_id")
    in_round = Invitation.objects.filter(
        article=article, review_round=article.review_round, status__in=OPEN_OR_DONE
    ).values("reviewer_id")
    matches = ReviewerProfile.specialties.through.objects.filter(
        reviewerprofile_id=OuterRef("pk"), specialty_id=article.specialty_id
    )
    profiles = (
        ReviewerProfile.objects.filter(is_active=True, user__is_active=True, user__groups__name=Role.BOARD)
        .exclude(user_id=article.author_id)
        .exclude(user_id__in=declared)
        .exclude(user_id__in=in_round)
        .select_related("user")
        .prefetch_related("specialties")
        .annotate(
            match=Exists(matches),
            load=Count(
                "user__review_invitations",
                filter=Q(user__review_invitations__status__in=[InvitationStatus.INVITED, InvitationStatus.ACCEPTED]),
                distinct=True,
            ),
        )
        .order_by("-match", "load", "printed_name")
    )
    return [Suggestion(profile=p, specialty_match=p.match, load=p.load) for p in profiles]


def round_invitations(article: Article, review_round: int | None = None) -> list[Invitation]:
    """One round's invitations with their reviews and signatures, in one query."""
    return list(
        Invitation.objects.filter(article=article, review_round=review_round or article.review_round)
        .select_related("reviewer__reviewer_profile", "review__signature", "review__version")
        .order_by("invited_at", "id")
    )


def decision_letters(article: Article) -> list[Event]:
    """The decision letters sent to the author, newest first (as sent: kept in the event)."""
    return list(Event.objects.filter(article=article, kind=EventKind.DECISION).order_by("-created_at", "-id"))


def board_history(user, article: Article) -> dict:
    """The board's steps on an article, as far as this user may see them.

    Editors and auditors see every invitation's history and every signature; a board member
    sees their own; the author sees none of it (reviewers stay anonymous to authors).
    """
    steps = Invitation.history.filter(article_id=article.pk).select_related("history_user", "reviewer")
    signatures = Signature.objects.filter(article=article).select_related("version")
    if not permissions.sees_every_article(user):
        if not permissions.has_role(user, Role.BOARD):
            return {"board_steps": [], "signatures": [], "shows_board": False}
        steps = steps.filter(reviewer_id=user.pk)
        signatures = signatures.filter(signer=user)
    return {
        "board_steps": list(steps.order_by("history_date", "history_id")[:500]),
        "signatures": list(signatures.order_by("signed_at", "id")),
        "shows_board": True,
    }


#: Fields of an article's history compared field by field, with the long ones diffed by word.
COMPARED = [
    ("title", "Clinical question"), ("slug", "Slug"), ("specialty", "Specialty"), ("summary", "Summary"),
    ("body", "Text for clinicians"), ("patient_body", "Text for patients"), ("status", "Status"),
    ("review_round", "Review round"), ("last_approved_at", "Last reviewed"), ("review_due_at", "Next review due"),
]  # fmt: skip
WORD_DIFFED = {"title", "summary", "body", "patient_body"}


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
            changes.append({"label": label, "html": word_diff(before or "", after or "")})
        else:
            changes.append({"label": label, "before": before, "after": after})
    # A version owns the reference edits saved with it or after it, up to the next version.
    old_refs = reference_lines(references_as_of(article.pk, _next_version_date(article, older)))
    new_refs = reference_lines(references_as_of(article.pk, _next_version_date(article, newer)))
    if old_refs != new_refs:
        changes.append({"label": "References", "html": word_diff(old_refs, new_refs)})
    return changes


def _next_version_date(article: Article, row):
    following = (
        article.history.filter(history_date__gt=row.history_date)
        .order_by("history_date", "history_id")
        .values_list("history_date", flat=True)
        .first()
    )
    return following
