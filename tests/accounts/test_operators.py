"""Operators are not users: they keep accounts, and never see a token or set a password."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.core import mail
from django.test import Client
from knox.models import AuthToken

from accounts import services
from accounts.models import AppendOnly, SecurityEvent, SecurityEventKind
from tests.accounts.helpers import post_password, workspace_status

pytestmark = pytest.mark.django_db

K = SecurityEventKind


def kinds() -> list[str]:
    return list(SecurityEvent.objects.order_by("id").values_list("kind", flat=True))


def test_no_page_shows_an_operator_another_persons_token(client, superuser, editor):
    """The issue's finding: DRF's token admin listed every key in clear on the workspace."""
    token, raw = AuthToken.objects.create(user=editor)
    client.force_login(superuser)
    for model in ("knox.AuthToken", "otp_totp.TOTPDevice", "otp_static.StaticDevice", "axes.AccessAttempt"):
        assert not any(m._meta.label == model for m in admin.site._registry), model
    pages = ["/admin/", "/admin/auth/user/", f"/admin/auth/user/{editor.pk}/change/", "/admin/account/"]
    for path in pages:
        html = client.get(path).content.decode()
        assert raw not in html and token.digest not in html and token.token_key not in html, path
    for path in ("/admin/knox/authtoken/", "/admin/authtoken/token/", "/admin/otp_totp/totpdevice/"):
        assert client.get(path).status_code == 404, path


def test_no_form_sets_another_persons_password(client, superuser, editor):
    """The issue's finding: /admin/auth/user/<id>/password/ let the operator set the editor's password."""
    client.force_login(superuser)
    page = f"/admin/auth/user/{editor.pk}/password/"
    shown = client.get(page, follow=True)  # the admin sends unknown paths to the dashboard, with "doesn't exist"
    assert shown.redirect_chain[-1][0] == "/admin/" and 'type="password"' not in shown.content.decode()
    client.post(page, {"password1": "taken-over", "password2": "taken-over"}, follow=True)
    form = client.get(f"/admin/auth/user/{editor.pk}/change/").content.decode()
    assert 'name="password' not in form and "password/" not in form
    client.post(f"/admin/auth/user/{editor.pk}/change/", change_data(editor, password="taken-over"))
    editor.refresh_from_db()
    assert editor.check_password("pw")


def test_an_operator_cannot_mint_a_token_for_someone_else(client, superuser, editor):
    client.force_login(superuser)
    client.post("/admin/account/tokens/", {"code": "123456", "user": editor.pk})
    assert not AuthToken.objects.filter(user=editor).exists()


def change_data(user, **overrides):
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "roles": [g.pk for g in user.groups.all()],
        "is_active": "on" if user.is_active else "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value != ""}


def test_an_operator_creates_an_account_without_a_password_and_sends_a_link(client, superuser):
    editors = Group.objects.get_or_create(name="Editors")[0]
    client.force_login(superuser)
    response = client.post(
        "/admin/auth/user/add/",
        {"username": "newcomer", "first_name": "Nia", "last_name": "Cole", "email": "nia@example.org",
         "roles": [editors.pk], "is_active": "on"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    user = User.objects.get(username="newcomer")
    assert not user.has_usable_password() and user.is_staff
    assert list(user.groups.values_list("name", flat=True)) == ["Editors"]
    assert kinds() == [K.ACCOUNT_CREATED, K.RESET_SENT]
    created = SecurityEvent.objects.get(kind=K.ACCOUNT_CREATED)
    assert (created.actor, created.actor_role, created.subject) == (superuser, "Operator", user)
    (message,) = mail.outbox
    assert message.to == ["nia@example.org"] and "newcomer" in message.body
    link = next(word for word in message.body.split() if "/admin/password-reset/" in word)
    path = link.replace("http://testserver", "")

    # The owner sets the password from the link; the operator never knew it.
    owner = Client()
    form = owner.get(path, follow=True)
    assert form.status_code == 200
    done = owner.post(
        form.redirect_chain[-1][0], {"new_password1": "Nia-chose-this-1", "new_password2": "Nia-chose-this-1"}
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Nia-chose-this-1")
    assert kinds()[-1] == K.PASSWORD_SET
    assert owner.get(path, follow=True).context["validlink"] is False  # the link works once


def test_roles_deactivation_and_names_are_logged_with_before_and_after(client, superuser, author):
    editors = Group.objects.get_or_create(name="Editors")[0]
    client.force_login(superuser)
    data = change_data(author, roles=[editors.pk], first_name="Alexandra")
    assert client.post(f"/admin/auth/user/{author.pk}/change/", data).status_code == 302
    data.pop("is_active")
    assert client.post(f"/admin/auth/user/{author.pk}/change/", data).status_code == 302
    author.refresh_from_db()
    assert not author.is_active and author.first_name == "Alexandra"
    assert kinds() == [K.ACCOUNT_CHANGED, K.ROLES_CHANGED, K.DEACTIVATED]
    roles = SecurityEvent.objects.get(kind=K.ROLES_CHANGED)
    assert roles.detail == "Authors → Editors"


def test_the_deactivate_and_reset_actions_are_logged(client, superuser, author, editor):
    client.force_login(superuser)
    client.post("/admin/auth/user/", {"action": "send_reset_links", "_selected_action": [author.pk]})
    client.post("/admin/auth/user/", {"action": "deactivate", "_selected_action": [editor.pk]})
    assert kinds() == [K.RESET_SENT, K.DEACTIVATED]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [author.email]
    assert post_password(Client(), "editor").status_code == 200  # a deactivated account cannot log in


def test_nobody_deletes_an_account(client, superuser, author):
    client.force_login(superuser)
    assert client.post(f"/admin/auth/user/{author.pk}/delete/", {"post": "yes"}).status_code in (403, 404)
    assert User.objects.filter(pk=author.pk).exists()


def test_only_operators_keep_accounts(client, editor, auditor, author):
    for user in (editor, auditor, author):
        client.force_login(user)
        assert client.get("/admin/auth/user/").status_code == 403
        assert client.get(f"/admin/auth/user/{author.pk}/change/").status_code == 403


def test_an_address_the_owner_relies_on_stays_theirs(client, superuser, author):
    """A reset link is only as good as its address: operators cannot redirect it."""
    client.force_login(superuser)
    client.post(f"/admin/auth/user/{author.pk}/change/", change_data(author, email="operator@example.org"))
    author.refresh_from_db()
    assert author.email == "author@example.org"
    with pytest.raises(services.AccountRefused, match="e-mail"):
        services.account_update(
            actor=superuser, request=None, user=author, details={"email": "x@example.org"},
            roles=author.groups.all(), active=True, superuser=False,
        )  # fmt: skip


def test_the_security_log_is_written_once(superuser, author):
    event = services.send_password_reset(actor=superuser, user=author, request=None) or SecurityEvent.objects.get()
    event.detail = "rewritten"
    with pytest.raises(AppendOnly):
        event.save()
    with pytest.raises(AppendOnly):
        event.delete()
    assert SecurityEvent.objects.get().detail == f"to {author.email}"


@pytest.mark.postgres
def test_the_database_refuses_to_change_the_security_log(superuser, author):
    from django.db import connection, transaction
    from django.db.utils import DatabaseError

    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's")
    services.send_password_reset(actor=superuser, user=author, request=None)
    for statement in ("UPDATE accounts_securityevent SET detail = 'x'", "DELETE FROM accounts_securityevent"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)


def test_auditors_read_and_export_the_security_log(client, auditor, editor, superuser, author):
    services.send_password_reset(actor=superuser, user=author, request=None)
    client.force_login(auditor)
    assert "Password-reset link sent" in client.get("/admin/accounts/securityevent/").content.decode()
    csv_body = b"".join(client.get("/admin/security/log/export/?format=csv").streaming_content).decode()
    assert csv_body.splitlines()[0] == "\ufefftime,kind,actor,actor_role,subject,address,detail"  # BOM: Excel
    assert "password.reset_sent,Site Operator" in csv_body or "password.reset_sent," in csv_body
    json_body = b"".join(client.get("/admin/security/log/export/?format=json").streaming_content).decode()
    assert '"kind": "password.reset_sent"' in json_body
    assert client.get("/admin/security/log/export/?format=xml").status_code == 400
    assert client.get("/admin/security/log/export/?from=yesterday").status_code == 400
    assert client.get("/admin/security/log/export/?from=2026-02-30").status_code == 400
    for other in (editor, superuser, author):
        client.force_login(other)
        assert client.get("/admin/accounts/securityevent/").status_code == 403
        assert client.get("/admin/security/log/export/").status_code == 403


def test_the_operators_own_workspace_needs_the_second_factor(superuser):
    client = Client()
    post_password(client, "admin")
    assert workspace_status(client)[0] == 302


def test_the_dashboard_leads_operators_to_accounts_and_auditors_to_the_log(client, superuser, auditor):
    client.force_login(superuser)
    page = client.get("/admin/").content.decode()
    assert (
        "/admin/security/locks/" in page
        and "/admin/auth/user/add/" in page
        and "You hold no editorial role" not in page
    )
    client.force_login(auditor)
    assert "/admin/accounts/securityevent/" in client.get("/admin/").content.decode()
