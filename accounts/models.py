"""The security log: every act on an account, written once and never changed.

Who created, changed, deactivated or unlocked an account, sent a password-reset link,
made or revoked an API token, set up or removed a second factor; every lockout and every
failed signature. Auditors read and export it (21 CFR Part 11 §11.10(d) and §11.300;
OWASP ASVS 5.0 chapters 6–8). On PostgreSQL a trigger refuses UPDATE and DELETE
(migration 0002); everywhere, ``save()`` refuses to change a row that exists.
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Now


class SecurityEventKind(models.TextChoices):
    ACCOUNT_CREATED = "account.created", "Account created"
    ACCOUNT_CHANGED = "account.changed", "Account details changed"
    ROLES_CHANGED = "account.roles_changed", "Roles changed"
    DEACTIVATED = "account.deactivated", "Account deactivated"
    REACTIVATED = "account.reactivated", "Account reactivated"
    RESET_SENT = "password.reset_sent", "Password-reset link sent"
    PASSWORD_SET = "password.set", "Password set by its owner"
    LOCKOUT = "login.lockout", "Locked after failed attempts"
    UNLOCK = "login.unlock", "Unlocked by an operator"
    TOKEN_CREATED = "token.created", "API token created"
    TOKEN_REVOKED = "token.revoked", "API token revoked"
    SIGNATURE_FAILED = "signature.failed", "Failed signature"
    SECOND_FACTOR_ENROLLED = "second_factor.enrolled", "Second factor set up"
    BACKUP_CODES_RENEWED = "second_factor.backup_codes", "New backup codes made"
    SECOND_FACTOR_REMOVED = "second_factor.removed", "Second factor removed by an operator"


class AppendOnly(Exception):
    """A security-log row was about to be changed or deleted: it is written once."""


class SecurityEvent(models.Model):
    """One act on an account: who did it (as they were named then), to whom, from where, when."""

    kind = models.CharField(max_length=40, choices=SecurityEventKind.choices)
    created_at = models.DateTimeField(db_default=Now(), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=300, blank=True, help_text="The actor's name at that moment.")
    actor_role = models.CharField(max_length=300, blank=True, help_text="The actor's roles at that moment.")
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    subject_name = models.CharField(
        max_length=300, blank=True, help_text="The account acted on: user name and name at that moment."
    )
    address = models.GenericIPAddressField(null=True, blank=True, help_text="The client's IP address.")
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "created_at"], name="security_event_kind_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject_name or self.actor_name}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not self._state.adding:
            raise AppendOnly("The security log is written once: this row cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("The security log is written once: this row cannot be deleted.")
