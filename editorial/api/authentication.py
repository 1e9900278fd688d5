"""Who calls the API: a person's token (django-rest-knox) or their workspace session.

Tokens come first, so a call without credentials gets 401 with ``WWW-Authenticate: Token``
(RFC 9110 §11.6.1). A wrong or expired token counts as a failed attempt from its address
(``accounts.lockout``): past the address's limit, calls with a token are refused with 429
until the cool-off ends. A session counts only once its second factor is shown.
"""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication as DRFSessionAuthentication

from accounts import lockout, second_factor


class TokenAuthentication(KnoxTokenAuthentication):
    """A hashed, expiring token in ``Authorization: Token <token>``."""

    def authenticate(self, request):
        django_request = request._request
        offers_token = request.META.get("HTTP_AUTHORIZATION", "").split(" ", 1)[0].lower() == "token"
        if offers_token and not lockout.may_try(django_request, None):
            raise exceptions.Throttled(
                wait=settings.AXES_COOLOFF_TIME.total_seconds(),
                detail="Too many failed authentications from this address.",
            )
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            lockout.count_failure(django_request, None)
            raise


class SessionAuthentication(DRFSessionAuthentication):
    """The workspace's session, once its second factor is shown (``accounts.second_factor``)."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None and not second_factor.satisfied(request._request):
            return None
        return result


class TokenScheme(OpenApiAuthenticationExtension):
    """The schema's word for ``TokenAuthentication``."""

    target_class = TokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'An API token made on "Your account", sent as "Token <token>".',
        }


class SessionScheme(OpenApiAuthenticationExtension):
    """The schema's word for ``SessionAuthentication``."""

    target_class = SessionAuthentication
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}
