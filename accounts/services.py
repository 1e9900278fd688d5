"""What operators do to accounts, each act written to the security log in the same transaction.

Operators (superusers) create and deactivate accounts, assign roles and send password-reset
links. They never set a password, never see or make another person's token, and never
change the e-mail address of an account whose owner has set a password: a reset link is
only as good as the address it goes to (the README's demo board: who may do what; OWASP ASVS 5.0 §6.4).
"""

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import identity, lockout, second_factor, security_log
from accounts.models import SecurityEventKind as Kind

#: The account fields an operator edits (names, address, status); roles are groups.
DETAILS = ("username", "first_name", "last_name", "email")


class AccountRefused(Exception):
    """An operator's change that the rules refuse (a frozen user name, a claimed address ...)."""


def _roles_text(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "none"


@transaction.atomic
def account_create(*, actor, request, details: dict, roles: Iterable[Group], superuser: bool = False):
    """Create an active account without a password, and send its owner a link to set one.

    ``details`` holds ``DETAILS``; ``roles`` the groups. Returns the account.
    """
    user = get_user_model()(**{field: details.get(field, "") for field in DETAILS}, is_staff=True)
    user.is_superuser = superuser
    user.set_unusable_password()
    user.save()
    user.groups.set(roles)
    security_log.record(
        Kind.ACCOUNT_CREATED,
        actor=actor,
        subject=user,
        request=request,
        detail=f"roles: {_roles_text(r.name for r in roles)}{'; operator' if superuser else ''}",
    )
    if user.email:
        send_password_reset(actor=actor, user=user, request=request)
    return user


@transaction.atomic
def account_update(*, actor, request, user, details: dict, roles: Iterable[Group], active: bool, superuser: bool):
    """Change an account's names, address, roles, operator flag and active state, logging each.

    Raises AccountRefused for a user name on record or an owner's e-mail address.
    """
    before = get_user_model()._base_manager.get(pk=user.pk)
    changed = [field for field in DETAILS if field in details and getattr(before, field) != details[field]]
    if "username" in changed and identity.is_on_record(before):
        raise AccountRefused("This user name is on record, so it cannot change. Change the person's name instead.")
    if "email" in changed and before.has_usable_password():
        raise AccountRefused(
            "The owner of this account has set a password: only they can change its e-mail address "
            "(on their account page)."
        )
    for field in changed:
        setattr(user, field, details[field])
    user.is_active, user.is_superuser, user.is_staff = active, superuser, True
    user.save()
    if changed:
        text = "; ".join(f"{field}: {getattr(before, field)!r} → {details[field]!r}" for field in changed)
        security_log.record(Kind.ACCOUNT_CHANGED, actor=actor, subject=user, request=request, detail=text)
    old_roles = set(before.groups.values_list("name", flat=True))
    new_roles = {group.name for group in roles}
    if old_roles != new_roles or before.is_superuser != superuser:
        user.groups.set(roles)
        user.__dict__.pop("_group_names", None)  # read again, with the new roles
        was = _roles_text(old_roles) + ("; operator" if before.is_superuser else "")
        now = _roles_text(new_roles) + ("; operator" if superuser else "")
        security_log.record(Kind.ROLES_CHANGED, actor=actor, subject=user, request=request, detail=f"{was} → {now}")
    if before.is_active != active:
        kind = Kind.REACTIVATED if active else Kind.DEACTIVATED
        security_log.record(kind, actor=actor, subject=user, request=request)
    return user


@transaction.atomic
def account_deactivate(*, actor, request, user) -> bool:
    """Deactivate an account (never delete it: records name it). False if it was inactive already."""
    if not user.is_active:
        return False
    user.is_active = False
    user.save(update_fields=["is_active"])
    security_log.record(Kind.DEACTIVATED, actor=actor, subject=user, request=request)
    return True


def send_password_reset(*, actor, user, request) -> None:
    """E-mail ``user`` a one-use link to set their own password (Django's reset tokens).

    The link works until ``PASSWORD_RESET_TIMEOUT`` or until the password changes. Raises
    AccountRefused for an account without an e-mail address or an inactive one, and the
    mail backend's error when the message cannot be sent (then nothing is logged).
    """
    if not user.email:
        raise AccountRefused(f"{identity.account_label(user)} has no e-mail address to send a link to.")
    if not user.is_active:
        raise AccountRefused(f"{identity.account_label(user)} is deactivated: reactivate it first.")
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("admin:password_reset_confirm", kwargs={"uidb64": uidb64, "token": token})
    context = {
        "user": user,
        "name": identity.display_name(user),
        "url": settings.SITE_URL + path,
        "hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
        "first": not user.has_usable_password(),
    }
    message = EmailMultiAlternatives(
        subject="Set your password for the editorial workspace",
        body=render_to_string("accounts/password_reset_email.txt", context),
        to=[user.email],
    )
    message.send()  # before the log line: a link that never left is not "sent"
    security_log.record(Kind.RESET_SENT, actor=actor, subject=user, request=request, detail=f"to {user.email}")


def password_set(*, user, request) -> None:
    """The owner set their password through a reset link (or changed it): logged."""
    security_log.record(Kind.PASSWORD_SET, actor=user, subject=user, request=request)


@transaction.atomic
def second_factor_remove(*, actor, request, user) -> int:
    """Remove every second factor of ``user`` (a lost phone); they set one up at next login."""
    removed = second_factor.remove_all(user)
    security_log.record(
        Kind.SECOND_FACTOR_REMOVED, actor=actor, subject=user, request=request, detail=f"{removed} device(s)"
    )
    return removed


@transaction.atomic
def unlock(*, actor, request, username: str = "", address: str = "") -> int:
    """Lift a lockout of a user name or of an address before its cool-off ends; logged."""
    removed = lockout.reset(username=username or None, address=address or None)
    subject = get_user_model()._base_manager.filter(username=username).first() if username else None
    security_log.record(
        Kind.UNLOCK,
        actor=actor,
        subject=subject,
        subject_name=username or f"address {address}",
        request=request,
        detail=f"{removed} failed-attempt record(s) cleared",
    )
    return removed
