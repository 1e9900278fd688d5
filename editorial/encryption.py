"""Secrets kept encrypted at rest: the webhooks' signing secrets.

A webhook's secret signs its deliveries (Standard Webhooks' HMAC-SHA256), so it must be kept,
not only a digest of it; kept in clear, anyone who reads the database (a backup, a replica, an
SQL shell) could sign deliveries to every receiver. It is stored as a Fernet token
(``cryptography``: AES-128-CBC and HMAC-SHA256, authenticated, https://cryptography.io/en/latest/fernet/)
under the keys in ``EDITORIAL_WEBHOOK_SECRET_KEYS``, a list for rotation (``MultiFernet``): the
first key encrypts, every key decrypts. The keys come from the environment, never from
``SECRET_KEY``, and never reach the database; ``manage.py reencrypt_webhook_secrets`` puts every
stored secret under the first key, after which the others may be dropped.

``DEVELOPMENT_KEY`` is public (it is in this file): the local settings use it, so that ``make
run`` needs no set-up, and a system check refuses it whenever ``DEBUG`` is off
(``editorial.notifications.checks``).
"""

import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

#: The bytes "editorial-local-development-key!", URL-safe base64: for ``make run`` only.
DEVELOPMENT_KEY = "ZWRpdG9yaWFsLWxvY2FsLWRldmVsb3BtZW50LWtleSE="
#: The setting that names the keys.
SETTING = "EDITORIAL_WEBHOOK_SECRET_KEYS"


class SecretUnreadable(Exception):
    """No key in ``EDITORIAL_WEBHOOK_SECRET_KEYS`` decrypts a stored secret.

    The key that encrypted it was dropped from the list (before ``reencrypt_webhook_secrets``
    ran), the list is another deployment's, or the stored value was altered.
    """


def key_problems(keys) -> list[str]:
    """What is wrong with a list of keys, one sentence each (empty when they can be used).

    A key is 32 bytes in URL-safe base64 (``Fernet.generate_key()``). A sentence names a key
    by its position, never by its value.
    """
    if not isinstance(keys, list | tuple) or not keys:
        return [f"{SETTING} is empty: there is no key to encrypt webhook secrets with."]
    problems = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            problems.append(f"{SETTING}: key {position} is not 32 bytes in URL-safe base64.")
    return problems


@functools.cache
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    problems = key_problems(keys)
    if problems:
        raise ImproperlyConfigured(" ".join(problems))
    return MultiFernet([Fernet(key) for key in keys])


def cipher() -> MultiFernet:
    """The keys of the moment as one ``MultiFernet``; ImproperlyConfigured if they are unusable."""
    return _cipher(tuple(settings.EDITORIAL_WEBHOOK_SECRET_KEYS))


def encrypt(secret: str) -> str:
    """The Fernet token (ASCII) that stores ``secret``, under the first key."""
    return cipher().encrypt(secret.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The secret a stored token holds.

    Raises SecretUnreadable when no key opens it, or when the keys cannot be used at all (a
    process started without the system checks, such as a Celery worker, with a malformed list).
    """
    try:
        opener = cipher()
    except ImproperlyConfigured as error:
        raise SecretUnreadable(str(error)) from error
    try:
        return opener.decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as error:
        raise SecretUnreadable(
            f"No key in {SETTING} decrypts this secret: was the key that encrypted it removed from "
            "the list before `manage.py reencrypt_webhook_secrets` ran?"
        ) from error


def is_current(token: str) -> bool:
    """Whether the first key already decrypts ``token`` (re-encrypting it would change nothing)."""
    try:
        Fernet(settings.EDITORIAL_WEBHOOK_SECRET_KEYS[0]).decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeError):
        return False
    return True


def reencrypt(token: str) -> str:
    """``token``'s secret encrypted again under the first key; raises SecretUnreadable."""
    try:
        return cipher().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError) as error:
        raise SecretUnreadable(f"No key in {SETTING} decrypts this secret.") from error
