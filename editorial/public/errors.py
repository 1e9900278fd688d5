"""The site's error pages: the readers' style, the workspace's style, or JSON under /api/.

Django calls these for every 400, 403, 404 and 500 (``config/urls.py``). None of them reads
the database, so they still answer when it is down; a 500 caused by an unreachable database
becomes a 503 with ``Retry-After`` (RFC 9110 §15.6.4, §10.2.3).
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

#: Seconds a client is asked to wait before trying again when the database is unreachable.
RETRY_AFTER_SECONDS = 30

MESSAGES = {
    400: ("That request could not be read", "Something in the address or the form is malformed."),
    403: ("You may not open this", "Your account does not allow this page or action."),
    404: ("We can’t find that page", "It may not exist, or it may not be open to you."),
    500: ("Something went wrong on our side", "The error has been logged. Please try again in a moment."),
    503: (
        "The service is briefly unavailable",
        "We cannot reach our database just now. Nothing you sent was saved; please try again shortly.",
    ),
}


def _respond(request, status: int, detail: str = "") -> HttpResponse:
    title, text = MESSAGES[status]
    path = request.path
    if path.startswith("/api/"):
        response = JsonResponse({"detail": detail or text, "code": f"http_{status}"}, status=status)
    else:
        template = "editorial/errors/workspace.html" if path.startswith("/admin/") else "editorial/errors/public.html"
        context = {"status": status, "title": title, "text": text, "detail": detail}
        response = HttpResponse(render_to_string(template, context), status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def bad_request(request, exception=None):
    """400: the message names the parameter (``editorial.parsing.BadParameter``)."""
    return _respond(request, 400, getattr(exception, "message", ""))


def permission_denied(request, exception=None):
    return _respond(request, 403, str(exception or ""))


def csrf_failure(request, reason=""):
    """403 for a form whose CSRF token is missing or expired: reload the page and send it again."""
    return _respond(request, 403, "This form expired or came from elsewhere. Reload the page and send it again.")


def page_not_found(request, exception=None):
    return _respond(request, 404)


def server_error(request):
    """500, or 503 with Retry-After when the cause is a database that cannot be reached."""
    error = sys.exc_info()[1]
    if isinstance(error, OperationalError | InterfaceError):
        return _respond(request, 503)
    return _respond(request, 500)
