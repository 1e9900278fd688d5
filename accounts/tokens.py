"""API tokens (django-rest-knox): stored as a SHA-512 digest, expiring, each person's own.

Only the owner creates, lists and revokes their tokens, and creating one takes the same
second factor as logging in. A token is shown once, when it is made; afterwards only its
first characters identify it (OWASP ASVS 5.0 §7.1, §9).
"""

from django.conf import settings
from django.utils import timezone
from knox.models import AuthToken

from accounts import second_factor, security_log, sessions
from accounts.models import SecurityEventKind


class TokenRefused(Exception):
    """A token was not made: no second factor, or its code was wrong."""


def tokens_of(user) -> list[AuthToken]:
    """The owner's tokens that have not expired, newest first."""
    return list(
        AuthToken.objects.filter(user=user).exclude(expiry__lt=timezone.now()).order_by("-created", "token_key")
    )


def create(request, *, code: str) -> tuple[AuthToken, str]:
    """Make a token for the signed-in person, who shows their second factor again.

    Returns the stored token and the token itself (shown once, never stored). Raises
    TokenRefused when the person has no second factor, already has
    ``ACCOUNTS_API_TOKENS_PER_PERSON`` tokens, or the code is wrong (counted as a failed login).
    """
    user = request.user
    if not second_factor.has_device(user):
        raise TokenRefused("Set up a second factor first: an API token needs it.")
    if len(tokens_of(user)) >= settings.ACCOUNTS_API_TOKENS_PER_PERSON:
        raise TokenRefused(
            f"You have {settings.ACCOUNTS_API_TOKENS_PER_PERSON} tokens already: revoke one you no longer use first."
        )
    if second_factor.verify(request, user, code) is None:
        raise TokenRefused(
            "That code was not accepted, so no token was made. Each code works once; after a wrong one, "
            "wait a few seconds before the next."
        )
    token, raw = AuthToken.objects.create(user=user)
    sessions.rotate(request)
    security_log.record(
        SecurityEventKind.TOKEN_CREATED,
        actor=user,
        subject=user,
        request=request,
        detail=f"token {token.token_key}…, expires {token.expiry:%Y-%m-%d %H:%M %Z}",
    )
    return token, raw


def revoke(request, *, token_key: str) -> bool:
    """Revoke the signed-in person's token that starts with ``token_key``; False if they have none."""
    user = request.user
    deleted, _ = AuthToken.objects.filter(user=user, token_key=token_key).delete()
    if deleted:
        security_log.record(
            SecurityEventKind.TOKEN_REVOKED, actor=user, subject=user, request=request, detail=f"token {token_key}…"
        )
    return bool(deleted)
