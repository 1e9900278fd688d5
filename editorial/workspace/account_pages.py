"""Each person's own account: second factor, backup codes, API tokens, e-mail and password.

Only the owner reaches these pages for their account; nobody, operators included, sees or
makes another person's token or sets another person's password. A new password comes from
the owner (changed here, with the old one) or from a reset link an operator sent them.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.contrib.auth.views import PasswordChangeView, PasswordResetCompleteView, PasswordResetConfirmView
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse, reverse_lazy

from accounts import second_factor, security_log, services, tokens
from accounts.models import SecurityEventKind


class CountedPasswordChangeForm(PasswordChangeForm):
    """Changing one's password: the old one is checked by ``authenticate()``, so failures count."""

    def __init__(self, user, *args, request=None, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        old = self.cleaned_data["old_password"]
        if authenticate(self.request, username=self.user.get_username(), password=old) is None:
            raise forms.ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old


class OwnPasswordChangeView(PasswordChangeView):
    form_class = CountedPasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form):
        response = super().form_valid(form)  # a new session key too (update_session_auth_hash)
        services.password_set(user=form.user, request=self.request)
        return response


class ResetPasswordView(PasswordResetConfirmView):
    """The owner chooses a password from the link an operator sent (Django's reset tokens)."""

    form_class = SetPasswordForm
    success_url = reverse_lazy("admin:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_set(user=form.user, request=self.request)
        return response


class EmailForm(forms.Form):
    email = forms.EmailField(label="New e-mail address")
    password = forms.CharField(label="Your password", strip=False, widget=forms.PasswordInput)


class AccountPagesMixin:
    """Views of ``WorkspaceSite``: the signed-in person's own account."""

    def account_urls(self) -> list:
        return [
            path("account/", self.admin_view(self.account_view), name="account"),
            path("account/backup-codes/", self.admin_view(self.backup_codes_view), name="backup_codes"),
            path("account/tokens/", self.admin_view(self.token_create_view), name="token_create"),
            path(
                "account/tokens/<str:token_key>/revoke/",
                self.admin_view(self.token_revoke_view),
                name="token_revoke",
            ),
            path("account/email/", self.admin_view(self.email_view), name="account_email"),
            path("password-reset/<uidb64>/<token>/", self.password_reset_confirm, name="password_reset_confirm"),
            path("password-reset/done/", self.password_reset_complete, name="password_reset_complete"),
        ]

    def password_change(self, request, extra_context=None):
        request.current_app = self.name
        return OwnPasswordChangeView.as_view(
            success_url=reverse("admin:password_change_done"),
            extra_context={**self.each_context(request), **(extra_context or {})},
        )(request)

    def password_reset_confirm(self, request, uidb64, token):
        request.current_app = self.name
        context = {**self.each_context(request), "has_permission": False}
        return ResetPasswordView.as_view(extra_context=context)(request, uidb64=uidb64, token=token)

    def password_reset_complete(self, request):
        request.current_app = self.name
        context = {**self.each_context(request), "has_permission": False}
        return PasswordResetCompleteView.as_view(extra_context=context)(request)

    def _account_context(self, request, **extra) -> dict:
        user = request.user
        return {
            **self.each_context(request),
            "title": "Your account",
            "has_device": second_factor.has_device(user),
            "required": second_factor.required_for(user),
            "tokens": tokens.tokens_of(user),
            "email_form": EmailForm(),
            "new_token": None,
            "token_error": None,
            "backup_codes": None,
            **extra,
        }

    def _render_account(self, request, status=200, **extra):
        context = self._account_context(request, **extra)
        return TemplateResponse(request, "editorial/admin/account.html", context, status=status)

    def account_view(self, request):
        """The signed-in person's own account: second factor, tokens, e-mail, password."""
        return self._render_account(request)

    def backup_codes_view(self, request):
        """New one-use backup codes, shown once (a verified session only)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.is_verified():
            raise PermissionDenied("Backup codes come with a second factor: set one up first.")
        codes = second_factor.replace_backup_codes(request.user)
        security_log.record(
            SecurityEventKind.BACKUP_CODES_RENEWED, actor=request.user, subject=request.user, request=request
        )
        return self._render_account(request, backup_codes=codes)

    def token_create_view(self, request):
        """A new API token for the signed-in person, who shows their second factor again."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            _, raw = tokens.create(request, code=request.POST.get("code", ""))
        except tokens.TokenRefused as refused:
            return self._render_account(request, status=400, token_error=str(refused))
        return self._render_account(request, status=201, new_token=raw)

    def token_revoke_view(self, request, token_key):
        """Revoke one of the signed-in person's own tokens (another person's is not found)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if tokens.revoke(request, token_key=token_key):
            messages.success(request, f"The token {token_key}… is revoked: it no longer works.")
        else:
            messages.error(request, "You have no such token.")
        return HttpResponseRedirect(reverse("admin:account"))

    def email_view(self, request):
        """The owner changes their e-mail address (where reset links go), with their password."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        form = EmailForm(request.POST)
        user = request.user
        if form.is_valid():
            checked = authenticate(request, username=user.get_username(), password=form.cleaned_data["password"])
            if checked is None or checked.pk != user.pk:
                form.add_error("password", "That password is not right.")
        if not form.is_valid():
            return self._render_account(request, status=400, email_form=form)
        old = user.email
        user.email = form.cleaned_data["email"]
        user.save(update_fields=["email"])
        security_log.record(
            SecurityEventKind.ACCOUNT_CHANGED,
            actor=user,
            subject=user,
            request=request,
            detail=f"email: {old!r} → {user.email!r} (by its owner)",
        )
        messages.success(request, "Your e-mail address is changed.")
        return HttpResponseRedirect(reverse("admin:account"))
