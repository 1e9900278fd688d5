"""The API's errors: always JSON, ``{"detail": message, "code": code, ...}``, with their status.

A refusal from the services (``EditorialError``) keeps its own status (400, 403, 404, 409);
the API adds 412 and 428 for its ETag/If-Match convention (RFC 9110, RFC 6585).
"""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from editorial.workflow.exceptions import EditorialError


class EditorialAPIError(APIException):
    """A refusal from the services, with its status and extra members (``row_version`` ...)."""

    def __init__(self, error: EditorialError, *, status_code: int | None = None, **extra) -> None:
        self.status_code = status_code or error.http_status
        self.payload = {"detail": error.message, "code": error.code, **extra}
        if getattr(error, "fields", None):
            self.payload["fields"] = error.fields
        if getattr(error, "problems", None):
            self.payload["problems"] = error.problems
        super().__init__(detail=error.message, code=error.code)


class PreconditionRequired(APIException):
    status_code = 428
    default_code = "precondition_required"
    default_detail = (
        "Send the ETag of the version you edited in an If-Match header: without it a change "
        "made meanwhile would be silently overwritten."
    )


class ErrorSerializer(serializers.Serializer):
    """Every refusal: a message for a person, a code for a program, sometimes more."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False)
    fields = serializers.DictField(required=False, help_text="400: what is wrong with each field.")
    row_version = serializers.IntegerField(required=False, help_text="412/409: the article's current version.")
    etag = serializers.CharField(required=False, help_text="412: the article's current ETag.")
    problems = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="409/400: each thing to put right (the checks)."
    )


def refusals(*statuses: int) -> dict:
    """The schema's description of the 4xx answers an operation gives.

    Whatever may answer 401 may also answer 429: calls are throttled per person, and an address
    that sent too many wrong tokens is locked out for a while (``accounts.lockout``).
    """
    if 401 in statuses:
        statuses = (*statuses, 429)
    meaning = {
        400: "Malformed input: the fields say which.",
        401: "Not authenticated.",
        403: "Not allowed: the wrong person for this action.",
        404: "No such article, or not one you may see.",
        409: "The wrong state, a condition not met, or a stale row_version.",
        412: "If-Match does not name the current version: reload (the body gives it) and apply again.",
        428: "If-Match is missing: send the ETag you read.",
        422: "This Idempotency-Key was used with a different request.",
        429: "Too many calls, or too many failed authentications from this address: wait Retry-After seconds.",
    }
    return {code: OpenApiResponse(ErrorSerializer, description=meaning[code]) for code in statuses}


def exception_handler(exc, context):
    """DRF's handler, plus the services' refusals with their own status, every body with a code."""
    if isinstance(exc, EditorialError):
        exc = EditorialAPIError(exc)
    if isinstance(exc, EditorialAPIError):
        return Response(exc.payload, status=exc.status_code)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data.setdefault("code", getattr(response.data["detail"], "code", "error"))
    elif response is not None and isinstance(response.data, dict | list):
        response.data = {
            "detail": "The request is not valid: see the fields.",
            "code": "invalid",
            "fields": response.data,
        }
    return response
