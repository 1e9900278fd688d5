"""Signing in to the workspace: the password (the admin's login form), then the second factor.

Django's login form checks the password (django-axes counts the failures). A session whose
second factor is still due (``accounts.second_factor.satisfied``) reaches only these pages:
the code, or, for a role that requires one and has none yet, setting one up. The lockout
page (``AXES_LOCKOUT_CALLABLE``) ends the session of whoever locked their own account.
"""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME, logout
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from accounts import second_factor, security_log
from accounts.models import SecurityEventKind

_SITE_HEADER = "Medical Advisory Board · Editorial workspace"


def lockout_response(request, original_response=None, credentials=None):
    """What a locked user name or address gets (django-axes): 429, and no session left."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = (
        "Too many failed attempts: this account (or this address) is locked for "
        f"{minutes} minutes after the last one. An operator can unlock it sooner."
    )
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        logout(request)
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message, "code": "locked"}, status=429)
    else:
        # Rendered now: django-axes swaps it in after the view, past the template rendering.
        response = render(
            request,
            "editorial/admin/locked.html",
            {"title": "Locked", "message": message, "site_header": _SITE_HEADER, "has_permission": False},
            status=429,
        )
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response


def _then(request) -> str:
    """The query string that carries where to go after signing in."""
    return "?" + urlencode({REDIRECT_FIELD_NAME: _next_url(request)})


def _next_url(request) -> str:
    wanted = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME) or ""
    if url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return wanted
    return reverse("admin:index")


class SignInMixin:
    """Views of ``WorkspaceSite`` between the password and the workspace."""

    def has_permission(self, request):
        return super().has_permission(request) and second_factor.satisfied(request)

    def login(self, request, extra_context=None):
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff and not second_factor.satisfied(request):
            step = "second_factor" if second_factor.has_device(user) else "second_factor_setup"
            return HttpResponseRedirect(reverse(f"admin:{step}") + _then(request))
        return super().login(request, extra_context)

    def signed_in_view(self, view):
        """A view for any signed-in member of staff, second factor shown or not (yet)."""

        @wraps(view)
        def inner(request, *args, **kwargs):
            user = request.user
            if not (user.is_authenticated and user.is_active and user.is_staff):
                then = urlencode({REDIRECT_FIELD_NAME: request.get_full_path()})
                return redirect(reverse("admin:login") + "?" + then)
            return view(request, *args, **kwargs)

        return sensitive_post_parameters()(csrf_protect(never_cache(inner)))

    def sign_in_urls(self) -> list:
        return [
            path("login/code/", self.signed_in_view(self.second_factor_view), name="second_factor"),
            path(
                "account/second-factor/",
                self.signed_in_view(self.second_factor_setup_view),
                name="second_factor_setup",
            ),
        ]

    def _sign_in_context(self, request, title: str) -> dict:
        satisfied = second_factor.satisfied(request)
        context = {
            **self.each_context(request),
            "title": title,
            "next": _next_url(request),
            "has_permission": satisfied,
        }
        if not satisfied:  # nothing of the workspace before the second factor, not even its menu
            context.update(available_apps=[], is_nav_sidebar_enabled=False)
        return context

    def second_factor_view(self, request):
        """The second step of signing in: a code from the authenticator app, or a backup code."""
        user = request.user
        if second_factor.satisfied(request) and user.is_verified():
            return HttpResponseRedirect(_next_url(request))
        if not second_factor.has_device(user):
            return HttpResponseRedirect(reverse("admin:second_factor_setup") + _then(request))
        context = {**self._sign_in_context(request, "Your second factor"), "error": None}
        status = 200
        if request.method == "POST":
            device = second_factor.verify(request, user, request.POST.get("code", ""))
            if device is not None:
                second_factor.mark_verified(request, device)
                return HttpResponseRedirect(_next_url(request))
            context["error"] = (
                "That code was not accepted. Codes change every 30 seconds and each works once; after a "
                "wrong one, wait a few seconds before the next try."
            )
            status = 400
        return TemplateResponse(request, "editorial/admin/second_factor.html", context, status=status)

    def second_factor_setup_view(self, request):
        """Set up an authenticator app (required roles at their first login; offered to all)."""
        user = request.user
        if second_factor.has_device(user) and not user.is_verified():
            # Never a new device on the strength of the password alone.
            return HttpResponseRedirect(reverse("admin:second_factor") + _then(request))
        device = second_factor.pending_authenticator(user)
        context = {
            **self._sign_in_context(request, "Set up your second factor"),
            "required": second_factor.required_for(user),
            "replacing": second_factor.has_device(user),
            "qr_svg": second_factor.qr_svg(device),
            "secret": second_factor.secret_of(device),
            "error": None,
            "backup_codes": None,
        }
        status = 200
        if request.method == "POST":
            codes = second_factor.confirm_authenticator(request, device, request.POST.get("code", ""))
            if codes is None:
                context["error"] = (
                    "That code was not accepted: check the app shows this account, then try its next code."
                )
                status = 400
            else:
                security_log.record(SecurityEventKind.SECOND_FACTOR_ENROLLED, actor=user, subject=user, request=request)
                messages.success(request, "Your second factor is set up.")
                context.update(backup_codes=codes, has_permission=True)
        return TemplateResponse(request, "editorial/admin/second_factor_setup.html", context, status=status)
