"""Accounts as operators (superusers) keep them: create, deactivate, assign roles, send reset links.

Never a password form, never a token: the user admin has no password field or page, and the
admin pages of the token, second-factor and lockout libraries are not registered (they
would show digests and secrets, or mint tokens for anyone). People are deactivated, never
deleted: records name them. Every change goes through ``accounts.services``, which logs it.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import Group, User
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from accounts import identity, lockout, second_factor, services
from editorial.workflow import permissions

for _model in (User, Group, AuthToken, TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


class OperatorUserForm(forms.ModelForm):
    roles = forms.ModelMultipleChoiceField(
        queryset=Group.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="What this person does on the board. Each change is in the security log.",
    )

    class Meta:
        model = User
        fields = ("username", "first_name", "last_name", "email", "is_active", "is_superuser")
        help_texts = {
            "email": "Where password-reset links go. Once the owner has set a password, only they change it.",
            "is_superuser": "An operator: keeps accounts, and acts in the workflow only through the roles above.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["roles"].initial = list(self.instance.groups.all())
        if "email" in self.fields and not self.instance.pk:
            self.fields["email"].required = True


@admin.register(User)
class WorkspaceUserAdmin(admin.ModelAdmin):
    form = OperatorUserForm
    list_display = ("username", "full_name", "email", "role_list", "is_active", "is_superuser", "last_login")
    list_filter = ("is_active", "is_superuser", "groups")
    search_fields = ("username", "first_name", "last_name", "email")
    ordering = ("username",)
    actions = ["send_reset_links", "deactivate", "remove_second_factor"]
    fieldsets = (
        (None, {"fields": ("username", "first_name", "last_name", "email")}),
        ("Roles and status", {"fields": ("roles", "is_active", "is_superuser")}),
        ("Sign-in", {"fields": ("second_factor_status", "lock_status", "last_login", "date_joined")}),
    )

    def get_fieldsets(self, request, obj=None):
        return self.fieldsets if obj is not None else self.fieldsets[:2]

    def get_readonly_fields(self, request, obj=None):
        frozen = ["second_factor_status", "lock_status", "last_login", "date_joined"]
        if obj is not None and identity.is_on_record(obj):
            frozen.append("username")
        if obj is not None and obj.has_usable_password():
            frozen.append("email")
        return frozen

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    # Operators only; nobody deletes an account.
    def has_module_permission(self, request):
        return permissions.may_operate_accounts(request.user)

    def has_view_permission(self, request, obj=None):
        return permissions.may_operate_accounts(request.user)

    def has_add_permission(self, request):
        return permissions.may_operate_accounts(request.user)

    def has_change_permission(self, request, obj=None):
        return permissions.may_operate_accounts(request.user)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="name")
    def full_name(self, obj):
        return obj.get_full_name()

    @admin.display(description="roles")
    def role_list(self, obj):
        return ", ".join(sorted(group.name for group in obj.groups.all())) or "—"

    @admin.display(description="second factor")
    def second_factor_status(self, obj):
        if second_factor.has_device(obj):
            return "Set up"
        return "Not set up: required, asked for at the next login" if second_factor.required_for(obj) else "Not set up"

    @admin.display(description="lockout")
    def lock_status(self, obj):
        return "Locked (unlock it on the Locked accounts page)" if lockout.is_locked(username=obj.username) else "—"

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        details = {field: data[field] for field in services.DETAILS if field in data}
        if change:
            services.account_update(
                actor=request.user,
                request=request,
                user=obj,
                details=details,
                roles=data["roles"],
                active=data["is_active"],
                superuser=data["is_superuser"],
            )
        else:
            created = services.account_create(
                actor=request.user,
                request=request,
                details=details,
                roles=data["roles"],
                superuser=data["is_superuser"],
            )
            obj.pk = created.pk
            messages.info(request, f"A link to set a password was e-mailed to {created.email}.")

    def save_related(self, request, form, formsets, change):
        """Roles are saved (and logged) by ``save_model`` through the account services."""

    @admin.action(description="E-mail the selected people a link to set their password")
    def send_reset_links(self, request, queryset):
        for user in queryset:
            try:
                services.send_password_reset(actor=request.user, user=user, request=request)
            except services.AccountRefused as refused:
                messages.error(request, str(refused))
            else:
                messages.success(request, f"Link sent to {identity.account_label(user)}.")

    @admin.action(description="Deactivate the selected accounts")
    def deactivate(self, request, queryset):
        done = sum(services.account_deactivate(actor=request.user, request=request, user=user) for user in queryset)
        messages.success(request, f"{done} account(s) deactivated.")

    @admin.action(description="Remove the second factor of the selected people (a lost phone)")
    def remove_second_factor(self, request, queryset):
        for user in queryset:
            removed = services.second_factor_remove(actor=request.user, request=request, user=user)
            messages.success(request, f"{identity.account_label(user)}: {removed} device(s) removed.")
