"""Records of what happened: transitions, and the outbox of events and their deliveries.

These rows are themselves the audit trail; they are written once (deliveries only move
forward through their status) and are never edited through the workspace.
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone

from articles.models import Article, ArticleStatus, audit_history


def transition_choices() -> list[tuple[str, str]]:
    """Each transition of the article's machine with its label, as the machine declares it."""
    labels = {}
    for transition in Article._meta.get_field("status").get_all_transitions(Article):
        labels.setdefault(transition.name, transition.custom.get("label", transition.name))
    return sorted(labels.items())


class TransitionRecord(models.Model):
    """One change of an article's review status: who, when, from what to what, and why.

    ``actor_name`` and ``actor_role`` are the actor's as they were then (``accounts.identity``).
    """

    article = models.ForeignKey("articles.Article", on_delete=models.PROTECT, related_name="transitions")
    transition = models.CharField(max_length=40, choices=transition_choices)
    from_status = models.CharField(max_length=30, choices=ArticleStatus.choices)
    to_status = models.CharField(max_length=30, choices=ArticleStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    actor_name = models.CharField(max_length=300, blank=True, default="", db_default="")
    actor_role = models.CharField(max_length=300, blank=True, default="", db_default="")
    reason = models.TextField()
    review_round = models.PositiveIntegerField()
    created_at = models.DateTimeField(db_default=Now(), db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["article", "created_at"], name="transition_article_time")]

    def __str__(self) -> str:
        return f"{self.transition}: {self.from_status} → {self.to_status}"


class EventKind(models.TextChoices):
    SUBMITTED = "article.submitted", "Article submitted"
    DECISION = "article.decision", "Decision"
    WITHDRAWN = "article.withdrawn", "Article withdrawn"
    RETRACTED = "article.retracted", "Article retracted"
    REREVIEW_DUE = "article.rereview_due", "Re-review due"
    SOURCE_RETRACTED = "article.source_retracted", "A cited source was retracted"
    INVITED = "invitation.invited", "Reviewers invited"
    DECLINED = "invitation.declined", "Invitation declined"
    EXPIRED = "invitation.expired", "Invitation expired"
    CANCELLED = "invitation.cancelled", "Invitation cancelled"
    REVIEW_DUE_SOON = "review.due_soon", "Review due soon"
    REVIEW_OVERDUE = "review.overdue", "Review overdue"
    REVIEW_ESCALATED = "review.escalated", "Overdue review escalated"
    REVIEWS_COMPLETE = "round.reviews_complete", "All reviews in"
    ROUND_CLOSED = "round.closed", "Review round closed"
    BOARD_MEMBER_LEFT = "board.member_left", "A board member left"
    DIGEST = "digest", "Daily digest"
    AUDIT_CHAIN_BROKEN = "audit.chain_broken", "Audit trail check failed"


class Event(models.Model):
    """Something people must hear about, written in the transaction that caused it (outbox).

    The relay (``editorial.notifications.relay``) hands each pending event to Celery once it is
    committed and stamps ``relayed_at``; the beat hands over again those still pending long
    after. On PostgreSQL a trigger sends ``NOTIFY editorial_events`` when an event starts waiting
    for the relay (written, or put back pending), so the relay wakes at the commit.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"

    kind = models.CharField(max_length=40, choices=EventKind.choices)
    article = models.ForeignKey("articles.Article", on_delete=models.PROTECT, null=True, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    payload = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(
        max_length=200,
        null=True,
        blank=True,
        unique=True,
        help_text="Reminders carry one: the same reminder for the same due date is recorded once.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(db_default=Now())
    relayed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the event was last handed to the broker (by the relay, or again by the beat); "
        "empty while it waits for the relay.",
    )
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The relay's queue (relayed_at IS NULL, in id order) and the beat's (relayed long ago).
            models.Index(
                fields=["relayed_at", "id"],
                condition=models.Q(status="pending"),
                name="event_pending_relay",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class Digest(models.Model):
    """One daily e-mail gathering a person's notifications since their last digest.

    It travels as an outbox event of its own (``event``, kind ``digest``): relayed, claimed,
    retried and dead-lettered like any other e-mail. Its notifications are marked sent with it.
    """

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="digests")
    event = models.OneToOneField(
        Event, on_delete=models.PROTECT, null=True, blank=True, related_name="digest", help_text="Its delivery."
    )
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Digest #{self.pk} for {self.recipient}"


class Notification(models.Model):
    """One delivery of an event to one person on one channel: delivered at most once."""

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        INBOX = "inbox", "Workspace inbox"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DIGEST = "digest", "Waiting for the daily digest"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        DEAD = "dead", "Dead"

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="notifications")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notifications")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(db_default=Now())
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True, help_text="Inbox only: when the recipient read it.")
    digest = models.ForeignKey(Digest, on_delete=models.PROTECT, null=True, blank=True, related_name="notifications")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "recipient", "channel"], name="one_delivery_per_recipient")
        ]
        indexes = [
            models.Index(
                fields=["recipient", "created_at"],
                condition=models.Q(channel="inbox", read_at__isnull=True),
                name="notification_unread",
            ),
            models.Index(fields=["status", "channel"], name="notification_status"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.recipient} ({self.channel})"

    @property
    def idempotency_key(self) -> str:
        return f"event-{self.event_id}-user-{self.recipient_id}-{self.channel}"


class Delivery(models.TextChoices):
    IMMEDIATE = "immediate", "E-mail at once"
    DIGEST = "digest", "In a daily digest"


class NotificationPreference(models.Model):
    """How one person wants to hear about one kind of event by e-mail (the inbox gets all)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=40, choices=EventKind.choices)
    delivery = models.CharField(max_length=10, choices=Delivery.choices, default=Delivery.IMMEDIATE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="one_preference_per_kind")]

    def __str__(self) -> str:
        return f"{self.user}: {self.kind} → {self.delivery}"


class NotificationSettings(models.Model):
    """A person's other notification choices."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    copy_own_actions = models.BooleanField(default=False, help_text="Also notify me of what I did myself (a receipt).")

    def __str__(self) -> str:
        return f"Notification settings of {self.user}"


# --- Readers' follow-up questions ---------------------------------------------------------------


class QuestionStatus(models.TextChoices):
    OPEN = "open", "Open"
    DISMISSED = "dismissed", "Dismissed"
    MERGED = "merged", "Merged into another"
    COMMISSIONED = "commissioned", "Commissioned, waiting for an author"
    DRAFTING = "drafting", "Claimed: an article is being drafted"


#: The most a reader's question may say (characters, after sanitising).
QUESTION_LIMIT = 1000


class ReaderQuestion(models.Model):
    """A reader's follow-up question from an article's public page. No account, no personal data.

    Editors dismiss it, merge it into another, or commission an article; an author (or a
    pipeline's account) claims the commission, which opens a draft titled with the question.
    Each change writes a history row naming who acted and why (``editorial.workflow.questions``);
    a reader's asking is credited to the system account.
    """

    article = models.ForeignKey(
        "articles.Article", on_delete=models.PROTECT, related_name="reader_questions", help_text="Asked from its page."
    )
    text = models.TextField(max_length=QUESTION_LIMIT, help_text="Plain text, sanitised.")
    status = models.CharField(max_length=20, choices=QuestionStatus.choices, default=QuestionStatus.OPEN)
    asked_at = models.DateTimeField(db_default=Now(), db_index=True)
    merged_into = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="duplicates")
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField("editor's note", blank=True, max_length=2000)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    draft = models.OneToOneField(
        "articles.Article", on_delete=models.PROTECT, null=True, blank=True, related_name="from_question"
    )

    history = audit_history()

    class Meta:
        ordering = ["-asked_at", "-id"]
        indexes = [models.Index(fields=["status", "-asked_at"], name="question_status_asked")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="drafting", draft__isnull=False, claimed_by__isnull=False)
                | (~models.Q(status="drafting") & models.Q(draft__isnull=True)),
                name="question_draft_when_claimed",
            ),
        ]

    def __str__(self) -> str:
        return self.text[:80]


# --- The API: idempotency keys and webhooks ------------------------------------------------------


class IdempotencyKey(models.Model):
    """A creating API call made with an ``Idempotency-Key``, and the answer it got.

    Written in the same transaction as what the call created, so a key on record always names
    a write that happened; a refused call leaves no key (editorial.api.idempotency).
    ``fingerprint`` is the SHA-256 of the method, the path and the body, in hex.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(default=0)
    body = models.TextField(blank=True, help_text="The answer's JSON as text: replayed in its own key order.")
    headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "key"], name="one_idempotency_key_per_owner")]
        indexes = [
            models.Index(fields=["owner", "created_at"], name="idempotency_key_age"),
            # The beat's purge of expired keys, whoever's (editorial.notifications.housekeeping).
            models.Index(fields=["created_at"], name="idempotency_key_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.owner_id}: {self.key}"


class Webhook(models.Model):
    """A URL an API user registered to be told of events by HTTP POST (editorial.notifications.webhooks).

    ``kinds`` is a list of ``EventKind`` values. The secret signs each delivery (Standard
    Webhooks' HMAC-SHA256, ``whsec_`` + base64); it is shown to the owner once, when made, and
    kept only encrypted: ``encrypted_secret`` is its Fernet token under
    ``EDITORIAL_WEBHOOK_SECRET_KEYS`` (``editorial.encryption``), decrypted only to sign.
    Removing a webhook deactivates it: its deliveries stay on record.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="webhooks")
    url = models.URLField(max_length=2000)
    kinds = models.JSONField(default=list)
    encrypted_secret = models.CharField(max_length=255)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["is_active"], name="webhook_active")]

    def __str__(self) -> str:
        return f"{self.url} ({self.owner})"


class WebhookDelivery(models.Model):
    """One event posted to one webhook: retried with backoff, then dead until retried by hand."""

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="webhook_deliveries")
    webhook = models.ForeignKey(Webhook, on_delete=models.PROTECT, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Notification.Status.choices, default=Notification.Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["event", "webhook"], name="one_delivery_per_webhook")]
        indexes = [models.Index(fields=["status"], name="webhook_delivery_status")]

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook.url}"


class AuditLink(models.Model):
    """One record of an article's audit trail, chained to the one before (``editorial.workflow.chain``).

    ``field_hashes`` holds the SHA-256 of each field of the record as written (so a change says
    which field), ``content_hash`` the hash of those, ``link_hash`` the hash of that with the
    previous link's. Written once, in the record's transaction.
    """

    article = models.ForeignKey("articles.Article", on_delete=models.PROTECT, related_name="+")
    seq = models.PositiveIntegerField(help_text="1 for the article's first record, then 2, 3 …")
    record_type = models.CharField(max_length=60, help_text="app_label.model of the record.")
    record_id = models.BigIntegerField()
    field_hashes = models.JSONField()
    content_hash = models.CharField(max_length=64)
    previous_hash = models.CharField(max_length=64, blank=True)
    link_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["article", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["article", "seq"], name="one_link_per_position"),
            models.UniqueConstraint(fields=["record_type", "record_id"], name="one_link_per_record"),
        ]

    def __str__(self) -> str:
        return f"Article {self.article_id} #{self.seq}: {self.record_type} {self.record_id}"


class AuditCheckpoint(models.Model):
    """One run of ``manage.py verify_audit``: how far it verified and what it found.

    The next run starts after ``through_link`` and, for each chained table, after the record id
    in ``marks`` (an incremental run), unless it is ``--full``; an incremental run also re-reads
    the older chains of the articles after ``rolling_article`` (its rolling slice, wrapping).
    The first row, written by the
    migration that began the chain, marks the records written before it: they are not chained.
    """

    verified_at = models.DateTimeField(db_default=Now())
    full = models.BooleanField(default=False)
    through_link = models.BigIntegerField(default=0, help_text="The last link verified.")
    marks = models.JSONField(default=dict, help_text="{record type: last record id verified}.")
    start_marks = models.JSONField(default=dict, help_text="{record type: last record id written before the chain}.")
    links = models.PositiveIntegerField(default=0, help_text="Links verified by this run (new ones, or all when full).")
    rolling_article = models.BigIntegerField(
        default=0, help_text="The last article whose older chain this run's rolling slice re-read (0: none)."
    )
    rolling_links = models.PositiveIntegerField(default=0, help_text="Older links the rolling slice re-read.")
    rolling_lap = models.PositiveIntegerField(
        default=0, help_text="How many times the rolling slice has gone round every chain (a full run counts one)."
    )
    breaks = models.PositiveIntegerField(default=0)
    report = models.TextField(blank=True)

    class Meta:
        ordering = ["-verified_at", "-id"]
        get_latest_by = ["verified_at", "id"]

    def __str__(self) -> str:
        return f"Audit chain verified at {self.verified_at:%Y-%m-%d %H:%M}: {self.breaks} break(s)"

    @property
    def ok(self) -> bool:
        return self.breaks == 0
