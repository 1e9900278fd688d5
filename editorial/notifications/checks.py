"""System checks on the notification settings (run by ``manage.py check`` and every command)."""

from django.conf import settings
from django.core.checks import Error, register

from editorial import encryption


@register()
def claim_outlasts_sending(app_configs, **kwargs) -> list[Error]:
    """A claimed e-mail's lease must outlast the longest send, or a second worker sends it again."""
    timeout, lease = settings.EMAIL_TIMEOUT, settings.EDITORIAL_CLAIM_TIMEOUT
    if timeout and lease <= timeout:
        return [
            Error(
                f"EDITORIAL_CLAIM_TIMEOUT ({lease} s) must be longer than EMAIL_TIMEOUT ({timeout} s)",
                hint="A delivery still being sent when its claim runs out is taken and sent again by another worker.",
                id="editorial.E001",
            )
        ]
    if not timeout:
        return [
            Error(
                "EMAIL_TIMEOUT is not set: a stalled mail server would hold a worker, and its claim, for ever",
                id="editorial.E002",
            )
        ]
    return []


@register()
def webhook_secret_keys(app_configs, **kwargs) -> list[Error]:
    """The keys that encrypt webhook secrets at rest must be usable, and real ones without DEBUG.

    ``EDITORIAL_WEBHOOK_SECRET_KEYS`` (``editorial.encryption``): not empty, each a Fernet key;
    the public development key only with ``DEBUG`` on, since anyone may read it in the source.
    """
    keys = settings.EDITORIAL_WEBHOOK_SECRET_KEYS
    errors = [
        Error(
            problem,
            hint="Make one with `python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'`.",
            id="editorial.E003",
        )
        for problem in encryption.key_problems(keys)
    ]
    if not settings.DEBUG and encryption.DEVELOPMENT_KEY in keys:
        errors.append(
            Error(
                f"{encryption.SETTING} holds the public development key while DEBUG is off",
                hint="Anyone can read that key in the source: generate a key of your own (docs/deploy.md).",
                id="editorial.E004",
            )
        )
    return errors
