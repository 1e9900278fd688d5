"""The article, its references and its review-status state machine.

This module holds rules only: which transitions exist, from where to where, and on what
conditions. Who may fire them, and everything a transition causes (history, transition
records, notifications), lives in ``editorial``.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from simple_history.models import HistoricalRecords

from accounts.identity import ActorSnapshot
from articles import content, identifiers, lints
from articles.citations import CitationReport, check_citations
from articles.provenance import AIProvenance  # noqa: F401 - a model of this app, kept in its own module


class AuditHistory(HistoricalRecords):
    """django-simple-history's recorder, reachable from its model as ``Model._audit_history``
    (``editorial.workflow.writes`` builds a history row with it to write it with others; a
    save that also sets many-to-many fields writes its one row after them through ``write()``,
    ``editorial.workflow.audit.one_history_row``)."""

    def finalize(self, sender, **kwargs) -> None:
        super().finalize(sender, **kwargs)
        if self.cls is sender:
            sender._audit_history = self

    def write(self, instance, history_type: str) -> None:
        """Write one history row of ``instance`` as it is now ("+" created, "~" changed)."""
        self.create_historical_record(instance, history_type)


def audit_history(**kwargs) -> AuditHistory:
    """History with 64-bit ids (a board outlives a 32-bit counter), crediting each row's actor.

    Each row keeps the actor's name and roles as they were (``accounts.identity.ActorSnapshot``).
    """
    return AuditHistory(history_id_field=models.BigAutoField(primary_key=True), bases=[ActorSnapshot], **kwargs)


class Specialty(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)

    history = audit_history()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "specialties"

    def __str__(self) -> str:
        return self.name


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    UNDER_REVIEW = "under_review", "Under review"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"
    RETRACTED = "retracted", "Retracted"


S = ArticleStatus

#: States in which the content may be edited (by whom is decided in editorial.workflow.permissions).
EDITABLE_STATES = frozenset({S.DRAFT, S.CHANGES_REQUESTED})


def never_approved(article: "Article") -> bool:
    """No version was ever approved: withdraw's condition (approved content leaves only by retract)."""
    return article.published_version_id is None


def has_content_for_review(article: "Article") -> bool:
    """A submission needs a question, a summary, both language versions and a reference."""
    return not article.missing_for_review()


class Article(ConcurrentTransitionMixin, models.Model):
    title = models.CharField("clinical question", max_length=300, help_text="The question the article answers.")
    slug = models.SlugField(max_length=200, unique=True)
    summary = models.TextField(
        blank=True, max_length=content.SUMMARY_LIMIT, help_text="Two or three sentences: the answer."
    )
    body = models.TextField(
        "text for clinicians",
        blank=True,
        max_length=content.BODY_LIMIT,
        help_text="Markdown. Cite references with their number in brackets: [1], [2].",
    )
    patient_body = models.TextField(
        "text for patients",
        blank=True,
        max_length=content.BODY_LIMIT,
        help_text="Markdown, in plain language, for readers who are not clinicians.",
    )
    specialty = models.ForeignKey(Specialty, on_delete=models.PROTECT, null=True, blank=True, related_name="articles")
    # No single-column indexes on author or status: article_author_status and
    # article_status_updated / article_stage_counts lead with them, and every index on this
    # table is written by every transition (none of its UPDATEs is HOT).
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="articles", db_index=False
    )
    status = FSMField(choices=ArticleStatus.choices, default=S.DRAFT, protected=True)
    review_round = models.PositiveIntegerField(default=0, help_text="Each submission opens a new round of review.")
    row_version = models.PositiveIntegerField(
        default=1, help_text="Bumped on every save: a copy with an older number is stale."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    content_updated_at = models.DateTimeField(
        "last updated", auto_now_add=True, help_text="When the content last changed."
    )
    last_approved_at = models.DateTimeField("last reviewed", null=True, blank=True)
    review_due_at = models.DateTimeField(
        "next review due", null=True, blank=True, help_text="When approved content falls due for re-review."
    )
    current_version = models.ForeignKey(
        "ArticleVersion",
        on_delete=models.PROTECT,
        db_index=False,  # versions are never deleted (append-only): nothing looks articles up by it
        null=True,
        blank=True,
        related_name="+",
        help_text="The version submitted in the current round.",
    )
    published_version = models.ForeignKey(
        "ArticleVersion",
        on_delete=models.PROTECT,
        db_index=False,  # versions are never deleted (append-only): nothing looks articles up by it
        null=True,
        blank=True,
        related_name="+",
        help_text="The last approved version: what readers see while an update is reviewed.",
    )
    valid_signatures = models.PositiveSmallIntegerField(
        "board signatures",
        default=0,
        editable=False,
        help_text="Board signatures on the current version that count toward the quorum.",
    )

    audit_head = models.CharField(
        "audit chain head",
        max_length=64,
        blank=True,
        default="",
        editable=False,
        help_text="SHA-256 of the last link of this article's audit chain (editorial.workflow.chain).",
    )
    audit_length = models.PositiveIntegerField(
        "audit chain length", default=0, editable=False, help_text="How many records the chain holds."
    )

    # The row version is a concurrency token, the signature count is derived from the
    # signatures (editorial.workflow.approval has the rule) and the chain head from the chain:
    # history repeats none of them.
    history = audit_history(excluded_fields=["row_version", "valid_signatures", "audit_head", "audit_length"])

    #: Written only by the audit chain (a queryset update under the article's lock), never by a save.
    CHAIN_FIELDS = ("audit_head", "audit_length")

    class Meta:
        ordering = ["-updated_at", "-id"]
        # On PostgreSQL a trigram index on UPPER(title) serves the workspace's title search
        # (migration 0003: it needs the pg_trgm extension, so it is not declared here).
        indexes = [
            models.Index(fields=["-updated_at", "-id"], name="article_updated"),
            models.Index(fields=["status", "-updated_at"], name="article_status_updated"),
            models.Index(fields=["author", "status"], name="article_author_status"),
            # Covering the author and the signature count: the workspace's counts by stage
            # (which exclude the editor's own articles, and count quorums) are index-only
            # scans this way (re-reviews due: 45 -> 6 ms at 100,000 articles).
            models.Index(
                fields=["status", "review_due_at"],
                include=["author", "valid_signatures"],
                name="article_stage_counts",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        """A save of an existing article writes every field but the chain head, which only the
        chain writes: a copy read before a record was chained must not roll the head back."""
        if not self._state.adding and kwargs.get("update_fields") is None and self.pk is not None:
            kwargs["update_fields"] = [
                f.name for f in self._meta.concrete_fields if not f.primary_key and f.name not in self.CHAIN_FIELDS
            ]
        super().save(*args, **kwargs)

    # --- Rules -------------------------------------------------------------------------

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATES

    def missing_for_review(self) -> list[str]:
        """What a reviewer would need and does not have yet, in words for the author."""
        missing = []
        if not self.title.strip():
            missing.append("the clinical question")
        if not self.summary.strip():
            missing.append("a summary")
        if not self.body.strip():
            missing.append("the text for clinicians")
        if not self.patient_body.strip():
            missing.append("the text for patients")
        if not self.has_references():
            missing.append("at least one reference")
        return missing

    def citation_report(self) -> CitationReport:
        """The citation gate on the live text and reference list (prefetched references are used)."""
        references = [reference.as_content() for reference in self.references.all()] if self.pk else []
        return check_citations(body=self.body, patient_body=self.patient_body, references=references)

    def has_references(self) -> bool:
        if self.pk is None:
            return False
        prefetched = getattr(self, "_prefetched_objects_cache", {})
        if "references" in prefetched:
            return bool(prefetched["references"])
        return self.references.exists()

    # --- The state machine (README, "The review status") ----------------------------------------------

    @transition(
        field=status,
        source=S.DRAFT,
        target=S.SUBMITTED,
        conditions=[has_content_for_review],
        custom={"label": "Submit for review", "reason": "optional"},
    )
    def submit(self) -> None:
        self.review_round += 1

    @transition(
        field=status,
        source=S.CHANGES_REQUESTED,
        target=S.SUBMITTED,
        conditions=[has_content_for_review],
        custom={"label": "Resubmit", "reason": "optional"},
    )
    def resubmit(self) -> None:
        self.review_round += 1

    @transition(
        field=status,
        source=S.SUBMITTED,
        target=S.UNDER_REVIEW,
        custom={"label": "Start review", "reason": "optional"},
    )
    def start_review(self) -> None:
        pass

    @transition(
        field=status,
        source=S.UNDER_REVIEW,
        target=S.APPROVED,
        custom={"label": "Approve", "reason": "optional"},
    )
    def approve(self, *, at, review_due_at) -> None:
        self.last_approved_at = at
        self.review_due_at = review_due_at
        self.published_version_id = self.current_version_id

    @transition(
        field=status,
        source=S.UNDER_REVIEW,
        target=S.CHANGES_REQUESTED,
        custom={"label": "Request changes", "reason": "required"},
    )
    def request_changes(self) -> None:
        pass

    @transition(
        field=status,
        source=[S.SUBMITTED, S.UNDER_REVIEW],
        target=S.REJECTED,
        custom={"label": "Reject", "reason": "required"},
    )
    def reject(self) -> None:
        pass

    @transition(
        field=status,
        source=[S.DRAFT, S.SUBMITTED, S.UNDER_REVIEW, S.CHANGES_REQUESTED],
        target=S.WITHDRAWN,
        conditions=[never_approved],
        custom={"label": "Withdraw", "reason": "required"},
    )
    def withdraw(self) -> None: ...

    @transition(
        field=status,
        source=[S.DRAFT, S.SUBMITTED, S.UNDER_REVIEW, S.CHANGES_REQUESTED],
        target=S.APPROVED,
        conditions=[lambda article: not never_approved(article)],
        custom={"label": "Discard the revision", "reason": "optional"},
    )
    def discard_revision(self) -> None:
        """Back to the approved version (the service restores its text and closes the round)."""
        self.current_version_id = self.published_version_id

    @transition(
        field=status,
        source=S.APPROVED,
        target=S.RETRACTED,
        custom={"label": "Retract", "reason": "required"},
    )
    def retract(self) -> None:
        pass

    @transition(
        field=status,
        source=S.APPROVED,
        target=S.DRAFT,
        custom={"label": "Revise", "reason": "optional"},
    )
    def revise(self) -> None:
        """Open a new draft; readers keep the approved version until the next approval."""


class Reference(models.Model):
    """A numbered source. Its number is its rank in the article's ordered list."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="references")
    position = models.PositiveIntegerField(default=0, help_text="Order in the list.")
    authors = models.CharField(max_length=500, blank=True)
    title = models.CharField(max_length=500)
    source = models.CharField(max_length=300, blank=True, help_text="Journal, publisher or guideline body.")
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    doi = models.CharField("DOI", max_length=200, blank=True, validators=[identifiers.validate_doi])
    pmid = models.CharField("PMID", max_length=60, blank=True, validators=[identifiers.validate_pmid])
    url = models.URLField("URL", max_length=500, blank=True, validators=[identifiers.validate_url])

    history = audit_history()

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="reference_has_title"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        """Identifiers in their canonical form (``articles.identifiers``): one work, one key."""
        for field, value in identifiers.normalise_reference(self.as_content()).items():
            setattr(self, field, value)

    @property
    def link(self) -> str:
        """The URL, if it is a web address: nothing else is ever put in a page's href."""
        return self.url if self.url.lower().startswith(("https://", "http://")) else ""

    def as_content(self) -> dict:
        return {field: getattr(self, field) for field in content.REFERENCE_FIELDS}


class ArticleVersion(models.Model):
    """The exact content submitted in one review round: what reviewers sign, what is published.

    Written once, never changed. Its hash identifies the text a signature approves.
    """

    article = models.ForeignKey(Article, on_delete=models.PROTECT, related_name="versions")
    review_round = models.PositiveIntegerField()
    content = models.JSONField()
    content_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(db_default=Now())
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["article", "review_round"]
        constraints = [
            models.UniqueConstraint(fields=["article", "review_round"], name="one_version_per_round"),
        ]

    def __str__(self) -> str:
        return f"{self.article_id} round {self.review_round} ({self.content_hash[:12]})"


# --- What the checks found (written once, beside the versions they describe) --------------------


class ContentCheck(models.Model):
    """The safety lints (``articles.lints``) as they ran on one submitted version. Written once."""

    version = models.OneToOneField(ArticleVersion, on_delete=models.PROTECT, related_name="content_check")
    doses = models.PositiveIntegerField("doses found", help_text="0: the dose checklist item does not apply.")
    reading_grade = models.FloatField("patient text reading grade", null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())

    def __str__(self) -> str:
        return f"Checks of version {self.version_id}"


class ContentFinding(models.Model):
    """One lint finding on one submitted version. Written once."""

    content_check = models.ForeignKey(ContentCheck, on_delete=models.PROTECT, related_name="findings")
    code = models.CharField(max_length=40)
    field = models.CharField(max_length=20)
    message = models.TextField()
    excerpt = models.TextField(blank=True)

    class Meta:
        ordering = ["content_check", "id"]

    def __str__(self) -> str:
        return f"{self.code}: {self.message[:60]}"

    @property
    def title(self) -> str:
        return lints.TITLES.get(self.code, self.code)

    @property
    def field_label(self) -> str:
        return lints.FIELDS.get(self.field, self.field)


class IdentifierScheme(models.TextChoices):
    DOI = "doi", "DOI"
    PMID = "pmid", "PMID"


class CitedWork(models.Model):
    """What Crossref or PubMed last said about one cited work, keyed by its identifier.

    Written by look-ups and by the retraction watch; the pages join it by identifier.
    """

    scheme = models.CharField(max_length=4, choices=IdentifierScheme.choices)
    identifier = models.CharField(max_length=200, help_text="Canonical (articles.identifiers).")
    found = models.BooleanField(default=True, help_text="False: the service does not know this identifier.")
    metadata = models.JSONField(default=dict, blank=True, help_text="authors, title, source, year as found.")
    looked_up_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(
        "last asked about retractions", null=True, blank=True, help_text="The retraction watch's last answer."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scheme", "identifier"], name="one_cited_work_per_identifier")]
        indexes = [models.Index(fields=["scheme", "checked_at"], name="cited_work_checked")]

    def __str__(self) -> str:
        return f"{self.get_scheme_display()} {self.identifier}"


class WorkUpdateKind(models.TextChoices):
    RETRACTION = "retraction", "Retracted"
    WITHDRAWAL = "withdrawal", "Withdrawn"
    EXPRESSION_OF_CONCERN = "expression_of_concern", "Expression of concern"
    CORRECTION = "correction", "Corrected"
    OTHER = "other", "Updated"


#: Updates after which a work should no longer support a claim.
DISQUALIFYING_UPDATES = (WorkUpdateKind.RETRACTION, WorkUpdateKind.WITHDRAWAL)


class WorkUpdate(models.Model):
    """A retraction, withdrawal, correction or expression of concern of a cited work.

    Crossref's ``updated-by`` relation (or a notice's ``update-to``), keyed by the DOI of the
    work it updates. Articles' versions never change: pages join these rows by DOI when they
    render. Written once.
    """

    doi = models.CharField(max_length=200, db_index=True, help_text="The updated work's canonical DOI.")
    kind = models.CharField(max_length=30, choices=WorkUpdateKind.choices)
    label = models.CharField(max_length=100, blank=True, help_text="The service's own word for it.")
    notice_doi = models.CharField("DOI of the notice", max_length=200, blank=True)
    notice_date = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=60, blank=True, help_text="Who reported it: publisher, retraction-watch …")
    recorded_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["doi", "notice_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["doi", "kind", "notice_doi"], name="one_update_per_notice"),
        ]

    def __str__(self) -> str:
        return f"{self.doi}: {self.get_kind_display()}"

    @property
    def disqualifies(self) -> bool:
        return self.kind in DISQUALIFYING_UPDATES
