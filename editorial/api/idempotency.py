"""Idempotent creation: a retried POST with the same ``Idempotency-Key`` is answered, not redone.

The convention is the IETF draft "The Idempotency-Key HTTP Header Field"
(draft-ietf-httpapi-idempotency-key-header): the client names each creating request with a
unique key; the same key with the same request gets the first answer again (status and body,
with ``Idempotent-Replayed: true``) and nothing is written twice; the same key with a different
request is a 422; a key is remembered ``EDITORIAL_IDEMPOTENCY_KEY_HOURS`` (24 by default).

Keys are each caller's own. The key's row is inserted in the transaction that does the write
and is committed with it: a second request with the same key, even one racing the first, waits
on the row's unique index until the first commits, then replays its answer (or, if the first
was refused and rolled back, does the work itself). Only a success (2xx) is remembered: a
refusal writes nothing, so the corrected request may use the same key.

A field named in ``withheld`` (a secret shown once, such as a new webhook's) is never written
to the key's row: a replay answers without it.
"""

import functools
import hashlib
import json
import re
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response

from editorial.models import IdempotencyKey

HEADER = "Idempotency-Key"
#: Printable ASCII, 1-255 characters: a UUID, a pipeline's run id, a hash.
KEY_FORMAT = re.compile(r"[\x21-\x7e]{1,255}")
#: The answer's headers a replay gives again.
KEPT_HEADERS = ("ETag", "Location")

PARAMETER = OpenApiParameter(
    HEADER,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "A unique key for this request (1-255 printable ASCII characters, e.g. a UUID). A retry with "
        "the same key and the same body gets the first answer again, with Idempotent-Replayed: true, "
        "and creates nothing; the same key with another request is a 422. Keys are remembered 24 hours, "
        "then forgotten."
    ),
)


class KeyReused(APIException):
    status_code = 422
    default_code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was already used with a different request: use a new key for a new request."


class KeyInFlux(APIException):
    """The key was taken and released again at each of a few attempts (expired meanwhile): 409."""

    status_code = 409
    default_code = "idempotency_key_in_flux"
    default_detail = "This Idempotency-Key is being taken and released by other requests: try again."


def fingerprint(request) -> str:
    """SHA-256 (hex) of the request's method, path and parsed body: what "the same request" means.

    ``request`` is DRF's. The body is compared as parsed (JSON with its keys sorted, a form's
    fields sorted), so the same data sent with other spacing or key order is the same request.
    """
    data = request.data
    if isinstance(data, QueryDict):
        data = sorted((key, data.getlist(key)) for key in data)
    body = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    digest = hashlib.sha256()
    for part in (request.method, request.path, body):
        encoded = part.encode("utf-8", "surrogatepass")
        digest.update(len(encoded).to_bytes(8, "big"))
        digest.update(encoded)
    return digest.hexdigest()


def key_of(request) -> str | None:
    """The request's Idempotency-Key, None without one; a malformed key is a 400."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not KEY_FORMAT.fullmatch(key):
        raise ValidationError(
            {HEADER: ["Send 1 to 255 printable ASCII characters (no spaces), e.g. a UUID."]},
            code="invalid",
        )
    return key


def _claim(owner, key: str, printed: str) -> tuple[IdempotencyKey, bool]:
    """Insert the key's row (in a savepoint), or return the row a committed request left: (row, replay)."""
    lifetime = timedelta(hours=settings.EDITORIAL_IDEMPOTENCY_KEY_HOURS)
    # The owner's expired keys go: this keeps the table to what a day of calls leaves.
    IdempotencyKey.objects.filter(owner=owner, created_at__lt=timezone.now() - lifetime).delete()
    for _ in range(3):
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(owner=owner, key=key, fingerprint=printed), False
        except IntegrityError:
            # The unique index made this wait for the other request's transaction, which committed.
            # The row may have gone since, expired (the hourly purge, or another request of the
            # owner's): the key is then free again, and the next attempt takes it.
            taken = IdempotencyKey.objects.filter(owner=owner, key=key).first()
            if taken is not None:
                return taken, True
    raise KeyInFlux()


def idempotent(handler=None, *, withheld: tuple[str, ...] = ()):
    """Wrap a DRF view's creating handler (``create``, a POST action) with Idempotency-Key.

    Without the header the handler runs as before. With it: a new key runs the handler in one
    transaction with the key's row; a known key with the same fingerprint returns the stored
    status, body and ETag/Location; a known key with another fingerprint raises KeyReused (422).
    ``@idempotent(withheld=("secret",))``: those top-level fields of the answer are not stored,
    so a replay answers without them.
    """
    if handler is None:
        return functools.partial(idempotent, withheld=withheld)

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = key_of(request)
        if key is None:
            return handler(view, request, *args, **kwargs)
        printed = fingerprint(request)
        with transaction.atomic():
            record, replay = _claim(request.user, key, printed)
            if replay:
                if record.fingerprint != printed:
                    raise KeyReused()
                headers = {**record.headers, "Idempotent-Replayed": "true"}
                return Response(json.loads(record.body), status=record.status_code, headers=headers)
            response = handler(view, request, *args, **kwargs)
            if 200 <= response.status_code < 300:
                record.status_code = response.status_code
                kept = response.data
                if withheld and isinstance(kept, dict):
                    kept = {name: value for name, value in kept.items() if name not in withheld}
                record.body = json.dumps(kept, cls=DjangoJSONEncoder)
                record.headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
                record.save(update_fields=["status_code", "body", "headers"])
            else:
                transaction.set_rollback(True)
        return response

    return wrapper
