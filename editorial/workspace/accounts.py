"""Accounts: operators deactivate people, never delete them (it would erase who did what)."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User

admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class WorkspaceUserAdmin(UserAdmin):
    actions = []

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Group)
class WorkspaceGroupAdmin(GroupAdmin):
    def has_delete_permission(self, request, obj=None):
        return False
