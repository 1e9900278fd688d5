"""The Medical Advisory Board: members, invitations to review, reviews and signatures.

Rules only. Who may do what and everything an action causes is in ``editorial``.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from articles.content import COMMENTS_LIMIT, REASON_LIMIT
from articles.models import audit_history


class ReviewerProfile(models.Model):
    """A board member as readers and signatures name them."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviewer_profile")
    printed_name = models.CharField(max_length=200, help_text="Full name as printed: “Priya Raman”.")
    credentials = models.CharField(max_length=100, help_text="As printed after the name: “MD, MPH”.")
    specialties = models.ManyToManyField("articles.Specialty", blank=True, related_name="reviewers")
    bio = models.TextField(blank=True)
    is_active = models.BooleanField(default=True, help_text="Only active members can be invited.")
    max_active_reviews = models.PositiveSmallIntegerField(
        default=3, help_text="The most reviews this member takes at once."
    )

    history = audit_history(m2m_fields=[specialties])

    class Meta:
        ordering = ["printed_name"]

    def __str__(self) -> str:
        return self.signed_name

    @property
    def signed_name(self) -> str:
        return f"{self.printed_name}, {self.credentials}" if self.credentials else self.printed_name


class InvitationStatus(models.TextChoices):
    INVITED = "invited", "Invited"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"
    COMPLETED = "completed", "Completed"
    CLOSED = "closed", "Closed (round closed before the review)"


#: Invitations that still hold a place in their round (and let the reviewer see the article).
OPEN_OR_DONE = (InvitationStatus.INVITED, InvitationStatus.ACCEPTED, InvitationStatus.COMPLETED)

#: Invitations that still ask something of their reviewer (an answer, or a review).
OPEN = (InvitationStatus.INVITED, InvitationStatus.ACCEPTED)

#: The reason recorded on every invitation a closing round ends.
ROUND_CLOSED = "round closed"


class Conflict(models.TextChoices):
    NONE = "none", "No competing interests"
    DECLARED = "declared", "Competing interests declared"


class Invitation(ConcurrentTransitionMixin, models.Model):
    """An invitation of one board member to review one round of one article."""

    article = models.ForeignKey("articles.Article", on_delete=models.PROTECT, related_name="invitations")
    review_round = models.PositiveIntegerField()
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_invitations")
    status = FSMField(choices=InvitationStatus.choices, default=InvitationStatus.INVITED, protected=True, db_index=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    invited_at = models.DateTimeField()
    respond_by = models.DateTimeField()
    due_at = models.DateTimeField("review due")
    responded_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.TextField(blank=True, max_length=REASON_LIMIT)
    conflict = models.CharField("competing interests", max_length=10, choices=Conflict.choices, blank=True)
    conflict_description = models.TextField(blank=True, max_length=REASON_LIMIT)
    conflict_disqualifying = models.BooleanField(
        default=False, help_text="Set by an editor: this review then does not count toward the quorum."
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(
        "why it ended",
        max_length=300,
        blank=True,
        help_text="Why the invitation was cancelled or closed: “round closed”, “left the board” …",
    )
    row_version = models.PositiveIntegerField(default=1)

    history = audit_history(excluded_fields=["row_version"])

    class Meta:
        ordering = ["-invited_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["article", "review_round", "reviewer"],
                condition=Q(status__in=["invited", "accepted", "completed"]),
                name="one_open_invitation_per_reviewer_round",
            ),
        ]
        indexes = [
            models.Index(fields=["reviewer", "status"], name="invitation_reviewer_status"),
            models.Index(fields=["article", "review_round"], name="invitation_article_round"),
            models.Index(fields=["status", "due_at"], name="invitation_status_due"),
        ]

    def __str__(self) -> str:
        return f"Round {self.review_round} of “{self.article}” for {self.reviewer}"

    @transition(
        field=status, source=InvitationStatus.INVITED, target=InvitationStatus.ACCEPTED, custom={"label": "Accept"}
    )
    def accept(self, *, at, conflict: str, description: str) -> None:
        self.responded_at = at
        self.conflict = conflict
        self.conflict_description = description

    @transition(
        field=status, source=InvitationStatus.INVITED, target=InvitationStatus.DECLINED, custom={"label": "Decline"}
    )
    def decline(self, *, at, reason: str) -> None:
        self.responded_at = at
        self.decline_reason = reason

    @transition(
        field=status, source=InvitationStatus.INVITED, target=InvitationStatus.EXPIRED, custom={"label": "Expire"}
    )
    def expire(self) -> None:
        pass

    @transition(
        field=status,
        source=[InvitationStatus.INVITED, InvitationStatus.ACCEPTED],
        target=InvitationStatus.CANCELLED,
        custom={"label": "Cancel"},
    )
    def cancel(self, *, reason: str = "") -> None:
        self.end_reason = reason[:300]

    @transition(
        field=status, source=InvitationStatus.ACCEPTED, target=InvitationStatus.CLOSED, custom={"label": "Close"}
    )
    def close(self, *, reason: str) -> None:
        """The round ended before this accepted review was written: nothing more is asked."""
        self.end_reason = reason[:300]

    @transition(
        field=status, source=InvitationStatus.ACCEPTED, target=InvitationStatus.COMPLETED, custom={"label": "Complete"}
    )
    def complete(self, *, at) -> None:
        self.completed_at = at


class Recommendation(models.TextChoices):
    APPROVE = "approve", "Approve"
    MINOR = "minor_revisions", "Minor revisions"
    MAJOR = "major_revisions", "Major revisions"
    REJECT = "reject", "Reject"


CHECKLIST = (
    ("claims_accurate", "Claims are accurate and current"),
    ("doses_checked", "Doses and units are checked"),
    ("references_support", "The references support the claims"),
    ("language_fits_audience", "The language fits the intended audience"),
)


#: The item a version drafted by a machine adds to the checklist (articles.provenance): required
#: to recommend approval of such a version, not asked otherwise (editorial.workflow.checks).
MACHINE_CHECK = ("machine_passages_verified", "Machine-drafted passages are verified against the sources")

#: A review's boxes: each checklist item, "not applicable" for the dose item (allowed only
#: where the safety lints found no dose: editorial.workflow.checks), and the machine item.
REVIEW_BOXES = (*(field for field, _ in CHECKLIST), "doses_not_applicable", MACHINE_CHECK[0])


class Review(models.Model):
    """A board member's review of one submitted version. Written once."""

    invitation = models.OneToOneField(Invitation, on_delete=models.PROTECT, related_name="review")
    version = models.ForeignKey("articles.ArticleVersion", on_delete=models.PROTECT, related_name="reviews")
    recommendation = models.CharField(max_length=20, choices=Recommendation.choices)
    claims_accurate = models.BooleanField(CHECKLIST[0][1], default=False)
    doses_checked = models.BooleanField(CHECKLIST[1][1], default=False)
    doses_not_applicable = models.BooleanField(
        "No doses in the text (not applicable)",
        default=False,
        help_text="Allowed only where the lints found no dose in the version reviewed.",
    )
    references_support = models.BooleanField(CHECKLIST[2][1], default=False)
    language_fits_audience = models.BooleanField(CHECKLIST[3][1], default=False)
    machine_passages_verified = models.BooleanField(
        MACHINE_CHECK[1], default=False, help_text="Asked only of versions drafted with AI assistance."
    )
    comments_to_author = models.TextField(blank=True, max_length=COMMENTS_LIMIT)
    confidential_comments = models.TextField(
        "confidential comments to the editor", blank=True, max_length=COMMENTS_LIMIT
    )
    submitted_at = models.DateTimeField(db_default=Now())

    history = audit_history()

    class Meta:
        ordering = ["submitted_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_recommendation_display()} by {self.invitation.reviewer}"

    def checklist(self) -> list[tuple[str, bool | None]]:
        """(label, ticked) for each item; None where the reviewer recorded "not applicable".

        The machine item is listed when it was ticked (it is asked only of machine-drafted versions).
        """
        items = [
            (label, None if field == "doses_checked" and self.doses_not_applicable else getattr(self, field))
            for field, label in CHECKLIST
        ]
        if self.machine_passages_verified:
            items.append((MACHINE_CHECK[1], True))
        return items


class SignatureMeaning(models.TextChoices):
    MEDICALLY_ACCURATE = "medically_accurate", "Approved as medically accurate"
    PUBLICATION = "publication", "Approved for publication"


class Signature(models.Model):
    """An electronic signature on one exact version of an article.

    It keeps the signer's printed name and credentials as they were when signing, the
    database's time and the SHA-256 of the content signed. A signature on an older version
    is superseded, never deleted.
    """

    article = models.ForeignKey("articles.Article", on_delete=models.PROTECT, related_name="signatures")
    version = models.ForeignKey("articles.ArticleVersion", on_delete=models.PROTECT, related_name="signatures")
    content_hash = models.CharField("SHA-256 of the content", max_length=64)
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signatures")
    printed_name = models.CharField(max_length=200)
    credentials = models.CharField(max_length=100, blank=True)
    meaning = models.CharField(max_length=30, choices=SignatureMeaning.choices)
    review = models.OneToOneField(Review, on_delete=models.PROTECT, null=True, blank=True, related_name="signature")
    signed_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["signed_at", "id"]
        indexes = [models.Index(fields=["article", "version"], name="signature_article_version")]

    def __str__(self) -> str:
        return f"{self.get_meaning_display()}: {self.signed_name}, {self.content_hash[:12]}"

    @property
    def signed_name(self) -> str:
        return f"{self.printed_name}, {self.credentials}" if self.credentials else self.printed_name


class FailedSignatureAttempt(models.Model):
    """A signature refused because the password was wrong. Nothing was signed.

    ``actor_name`` and ``actor_role`` are the person's as they were then.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    actor_name = models.CharField(max_length=300, blank=True, default="", db_default="")
    actor_role = models.CharField(max_length=300, blank=True, default="", db_default="")
    article = models.ForeignKey("articles.Article", on_delete=models.PROTECT, related_name="+")
    meaning = models.CharField(max_length=30, choices=SignatureMeaning.choices)
    attempted_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-attempted_at", "-id"]

    def __str__(self) -> str:
        return f"Failed signature by {self.user} at {self.attempted_at:%Y-%m-%d %H:%M}"
