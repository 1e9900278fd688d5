"""Webhooks: events POSTed to the URLs API users registered, through the same outbox as e-mail.

An API user registers a URL for the kinds of event they may hear of (``kinds_offered``). When
the worker delivers an event (``editorial.notifications.delivery.deliver``), each active
webhook that asked for its kind, and whose owner the event notifies (an author also hears of
their own submission, withdrawal and retracted sources), gets one delivery row
(``fan_out``); each row is claimed, POSTed and marked like an e-mail (``deliver_due``): a
failure makes the task retry with backoff, the last retry leaves it dead, visible and
retryable in the workspace ("Webhook deliveries").

Signed as Standard Webhooks 1.0 says (https://www.standardwebhooks.com/): headers
``webhook-id`` (``evt_<event id>``, the same on every retry: the receiver's de-duplication
key), ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``: ``v1,`` + base64 of
HMAC-SHA256 over ``<id>.<timestamp>.<body>`` with the webhook's secret (``whsec_`` + base64,
shown once when the webhook is made). The secret is stored encrypted (``editorial.encryption``,
keys in ``EDITORIAL_WEBHOOK_SECRET_KEYS``) and decrypted only in ``post``, to sign; a secret no
key opens fails its delivery with that reason (retried, then dead), like a receiver that is down.

No server-side request forgery (OWASP SSRF Prevention Cheat Sheet): only http(s) URLs without
credentials; every address the host resolves to must be public, unless the host is listed in
``EDITORIAL_WEBHOOK_ALLOWED_HOSTS``. The check runs when the webhook is registered and again
before each POST, which goes to the address that was checked (the Host header and TLS SNI
keep the name), so a DNS answer that changes in between is never followed. Redirects are not.
"""

import base64
import ipaddress
import json
import logging
import secrets
import socket
from datetime import timedelta
from typing import NamedTuple
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook as Signer

from editorial import encryption
from editorial.models import Event, EventKind, Notification, Webhook, WebhookDelivery
from editorial.notifications.inbox import kinds_for
from editorial.workflow import permissions
from editorial.workflow.contract import actor, boundary, row, text
from editorial.workflow.exceptions import InvalidInput, NotFound
from editorial.workflow.permissions import Role

log = logging.getLogger(__name__)
N = Notification.Status
DUE = (N.PENDING, N.FAILED)
#: The most webhooks one person may have active.
MAX_WEBHOOKS = 10
#: Beyond what the inbox offers an author: a pipeline also hears of its own submissions.
AUTHOR_EXTRA = (EventKind.SUBMITTED, EventKind.WITHDRAWN, EventKind.SOURCE_RETRACTED)


class TargetRefused(Exception):
    """A webhook's URL may not be called: not http(s), or an address that is not public."""


def kinds_offered(user) -> list[str]:
    """The event kinds ``user`` may register a webhook for: the inbox's, plus an author's own."""
    offered = {kind for kind, _ in kinds_for(user)}
    if permissions.has_role(user, Role.AUTHOR):
        offered |= {kind.value for kind in AUTHOR_EXTRA}
    return [kind.value for kind in EventKind if kind.value in offered]


def resolve_target(url: str) -> tuple[str, str]:
    """The host and the address to POST ``url`` to; raises TargetRefused when it may not be called.

    Every address the host resolves to is checked (IPv4 and IPv6): one that is not globally
    routable (private, loopback, link-local, shared, reserved, multicast ...) refuses the URL
    unless the host is in ``EDITORIAL_WEBHOOK_ALLOWED_HOSTS``.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("A webhook URL starts with https:// (or http://) and names a host.")
    if parts.username or parts.password:
        raise TargetRefused("A webhook URL may not carry a user name or password.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError, UnicodeError) as error:
        raise TargetRefused(f"The host {parts.hostname} could not be resolved.") from error
    addresses = [ipaddress.ip_address(entry[4][0].split("%", 1)[0]) for entry in found]
    allowed = parts.hostname.lower() in {host.lower() for host in settings.EDITORIAL_WEBHOOK_ALLOWED_HOSTS}
    if not allowed:
        for address in addresses:
            mapped = getattr(address, "ipv4_mapped", None) or address
            if not mapped.is_global or mapped.is_multicast:
                raise TargetRefused(
                    f"{parts.hostname} resolves to {address}, which is not a public address: webhooks "
                    "only call public addresses."
                )
    return parts.hostname, str(addresses[0])


def _kinds(name: str, value) -> None:
    if not isinstance(value, list | tuple) or not value or len(value) > len(EventKind):
        raise InvalidInput(f"{name}: a list of event kinds", fields={name: "a non-empty list of event kinds"})


@boundary(owner=actor, url=text(2000), kinds=_kinds)
def webhook_register(*, owner, url: str, kinds) -> tuple[Webhook, str]:
    """Register ``url`` for ``kinds`` (EventKind values); returns the webhook and its secret.

    Raises InvalidInput (400) for a kind the owner may not hear of, a URL refused by
    ``resolve_target`` or already registered by the owner, or more than ``MAX_WEBHOOKS`` active
    webhooks.
    """
    offered = kinds_offered(owner)
    refused = sorted(set(kinds) - set(offered))
    if refused:
        raise InvalidInput(
            f"You cannot register for: {', '.join(map(str, refused))}. You may choose {', '.join(offered)}.",
            fields={"kinds": "not offered to you"},
        )
    try:
        resolve_target(url)
    except TargetRefused as refusal:
        raise InvalidInput(str(refusal), fields={"url": str(refusal)}) from refusal
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    with transaction.atomic():
        # The owner's row is the lock: two registrations queue on it, and the count that follows
        # (its own statement, so it sees what the other committed) holds the limit. Locking the
        # webhooks counted would not: with none yet there is nothing to lock, and a statement
        # that waited for a lock still counts with what it saw before the wait.
        type(owner).objects.select_for_update().filter(pk=owner.pk).exists()
        active = list(Webhook.objects.filter(owner=owner, is_active=True).values_list("url", flat=True))
        if url in active:  # two webhooks for one address would deliver each event to it twice
            raise InvalidInput(
                "You have a webhook for this URL already: remove it first to register it with other kinds.",
                fields={"url": "registered already"},
            )
        if len(active) >= MAX_WEBHOOKS:
            raise InvalidInput(f"You have {MAX_WEBHOOKS} webhooks already: remove one first.")
        webhook = Webhook.objects.create(
            owner=owner,
            url=url,
            kinds=[kind for kind in offered if kind in kinds],
            encrypted_secret=encryption.encrypt(secret),
        )
    return webhook, secret


@boundary(owner=actor, webhook=row(Webhook))
def webhook_remove(*, owner, webhook: Webhook) -> None:
    """Deactivate the owner's webhook (its deliveries stay on record); NotFound if not theirs."""
    if not Webhook.objects.filter(pk=webhook.pk, owner=owner, is_active=True).update(is_active=False):
        raise NotFound("You have no such webhook.")


# --- Delivery ---------------------------------------------------------------------------------


def _hears_of(hook: Webhook, event: Event, recipients) -> bool:
    """A webhook's owner hears of what their inbox does, and an author also of their own acts."""
    own = event.article.author_id == hook.owner_id and event.kind in AUTHOR_EXTRA
    return (hook.owner_id in recipients or own) and permissions.may_view_article(hook.owner, event.article)


def fan_out(event: Event, recipients) -> int:
    """Write one delivery per active webhook that asked for this kind, if its owner hears of it.

    ``recipients``: the ids of the people the event notifies (``recipients.recipients_for``).
    Runs at each delivery of an event (a retry writes nothing new). Returns how many webhooks
    this event goes to. One query when no webhook wants it.
    """
    if event.article_id is None:
        return 0
    active = Webhook.objects.filter(is_active=True).select_related("owner")
    hooks = [hook for hook in active if event.kind in hook.kinds and _hears_of(hook, event, recipients)]
    if hooks:
        WebhookDelivery.objects.bulk_create(
            [WebhookDelivery(event_id=event.pk, webhook=hook) for hook in hooks], ignore_conflicts=True
        )
    return len(hooks)


def payload(event: Event, webhook: Webhook) -> dict:
    """What a webhook receives: the event, its article, and for a decision the letter (to those who read it)."""
    article = event.article
    data = {
        "id": f"evt_{event.pk}",
        "event_id": event.pk,
        "type": event.kind,
        "article": {"id": article.pk, "title": article.title, "status": article.status, "round": article.review_round},
    }
    if event.kind.startswith("article."):
        data.update(
            {name: event.payload.get(key) for name, key in (("from", "from"), ("to", "to"), ("round", "round"))}
        )
    owner = webhook.owner
    if event.kind == EventKind.DECISION and (article.author_id == owner.pk or permissions.sees_every_article(owner)):
        data["letter"] = event.payload.get("letter", "")
    return data


def _claim(event_id: int, tried: set[int]) -> WebhookDelivery | None:
    stale = timezone.now() - timedelta(seconds=settings.EDITORIAL_CLAIM_TIMEOUT)
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(Q(status__in=DUE) | Q(status=N.SENDING, claimed_at__lt=stale), event_id=event_id)
            .exclude(pk__in=tried)
            .order_by("id")
            .first()
        )
        if delivery is None:
            return None
        delivery.status, delivery.claimed_at, delivery.attempts = N.SENDING, timezone.now(), delivery.attempts + 1
        delivery.save(update_fields=["status", "claimed_at", "attempts"])
    return WebhookDelivery.objects.select_related("webhook__owner").get(pk=delivery.pk)


def post(event: Event, webhook: Webhook) -> int:
    """POST the signed event to the webhook; returns the HTTP status.

    Raises SecretUnreadable (no key decrypts the webhook's secret), TargetRefused or httpx errors.
    """
    signer = Signer(encryption.decrypt(webhook.encrypted_secret))
    host, address = resolve_target(webhook.url)
    body = json.dumps(payload(event, webhook), separators=(",", ":"), ensure_ascii=False)
    message_id, now = f"evt_{event.pk}", timezone.now()
    parts = urlsplit(webhook.url)
    literal = f"[{address}]" if ":" in address else address
    pinned = parts._replace(netloc=f"{literal}:{parts.port or (443 if parts.scheme == 'https' else 80)}").geturl()
    headers = {
        "Host": parts.netloc,
        "Content-Type": "application/json",
        "User-Agent": "editorial-webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signer.sign(message_id, now, body),
    }
    with httpx.Client(timeout=settings.EDITORIAL_WEBHOOK_TIMEOUT, follow_redirects=False, trust_env=False) as client:
        response = client.post(pinned, content=body.encode(), headers=headers, extensions={"sni_hostname": host})
    return response.status_code


def deliver_due(event: Event) -> bool:
    """POST each of the event's webhook deliveries that is due, once; returns whether none is left.

    A 2xx answer marks it sent; anything else (a secret no key decrypts, refused target, timeout,
    another status) marks it failed with the reason, for the task's retry.
    """
    tried: set[int] = set()
    while (delivery := _claim(event.pk, tried)) is not None:
        tried.add(delivery.pk)
        status, error, level = None, "", logging.WARNING
        try:
            status = post(event, delivery.webhook)
            if not 200 <= status < 300:
                error = f"The receiver answered HTTP {status}."
        except encryption.SecretUnreadable as failure:  # the deployment's keys are wrong, not the receiver
            error, level = f"{type(failure).__name__}: {failure}", logging.ERROR
        except (TargetRefused, httpx.HTTPError) as failure:
            error = f"{type(failure).__name__}: {failure}"[:2000]
        if error:
            log.log(level, "Webhook delivery %s (webhook %s) failed: %s", delivery.pk, delivery.webhook_id, error)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=N.FAILED if error else N.SENT,
            last_error=error,
            response_status=status,
            sent_at=None if error else timezone.now(),
        )
    return not WebhookDelivery.objects.filter(event_id=event.pk, status__in=(*DUE, N.SENDING)).exists()


def give_up(event_id: int) -> int:
    """After the last retry: the event's failed webhook deliveries are dead (retried by hand)."""
    return WebhookDelivery.objects.filter(event_id=event_id, status=N.FAILED).update(status=N.DEAD)


def retry_dead(delivery_ids) -> list[int]:
    """Put dead webhook deliveries back in the queue (the workspace's action); returns their events."""
    with transaction.atomic():
        dead = WebhookDelivery.objects.filter(pk__in=list(delivery_ids), status=N.DEAD)
        event_ids = sorted(set(dead.values_list("event_id", flat=True)))
        dead.update(status=N.PENDING, last_error="")
        Event.objects.filter(pk__in=event_ids).update(status=Event.Status.PENDING, done_at=None, relayed_at=None)
    return event_ids


# --- Key rotation ----------------------------------------------------------------------------


class Reencrypted(NamedTuple):
    """What ``reencrypt_secrets`` did: secrets moved to the first key, already there, unreadable."""

    moved: int
    current: int
    unreadable: list[int]  # ids of the webhooks whose secret no key decrypts (left as they were)


def reencrypt_secrets(batch: int = 500) -> Reencrypted:
    """Encrypt every webhook's secret again under the first key of ``EDITORIAL_WEBHOOK_SECRET_KEYS``.

    Removed webhooks too: a dead delivery of theirs may still be retried. A secret the first key
    already opens is left alone; one that no key opens is left as it is and its webhook named.
    Each row is rewritten only if it did not change since it was read. Raises
    ImproperlyConfigured when the keys are unusable. Once this reports nothing unreadable, the
    keys after the first may be dropped.
    """
    encryption.cipher()
    moved, current, unreadable, last = 0, 0, [], 0
    while chunk := list(
        Webhook.objects.filter(pk__gt=last).order_by("pk").values_list("pk", "encrypted_secret")[:batch]
    ):
        last = chunk[-1][0]
        for pk, token in chunk:
            if encryption.is_current(token):
                current += 1
                continue
            try:
                fresh = encryption.reencrypt(token)
            except encryption.SecretUnreadable:
                unreadable.append(pk)
                continue
            moved += Webhook.objects.filter(pk=pk, encrypted_secret=token).update(encrypted_secret=fresh)
    return Reencrypted(moved, current, unreadable)
