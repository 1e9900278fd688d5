"""The second factor: required for editors, auditors and operators, offered to everyone else;
sessions that rotate their key and end when idle."""

import time

import pytest
from django.conf import settings
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts import second_factor
from accounts.models import SecurityEvent, SecurityEventKind
from tests.accounts.helpers import code_for, enroll, post_password, sign_in, workspace_status
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_an_editor_cannot_reach_the_workspace_without_the_second_factor(editor):
    client = Client()
    enroll(editor)
    response = post_password(client, "editor")
    assert response.status_code == 302
    for path in ("/admin/", "/admin/articles/article/", "/admin/account/", "/admin/metrics/"):
        status, location = workspace_status(client) if path == "/admin/" else (client.get(path).status_code, "")
        assert status == 302, path
    assert client.get("/admin/", follow=True).redirect_chain[-1][0].startswith("/admin/login/code/")
    # ... nor the API with the same session.
    assert client.get("/api/v1/articles/").status_code == 401
    response = client.post("/admin/login/code/", {"code": code_for(editor), "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert workspace_status(client)[0] == 200
    assert client.get("/api/v1/articles/").status_code == 200


def test_a_wrong_code_is_refused_and_counts_as_a_failed_login(editor):
    client = Client()
    enroll(editor)
    post_password(client, "editor")
    response = client.post("/admin/login/code/", {"code": "000000", "next": "/admin/"})
    assert response.status_code == 400 and "not accepted" in response.content.decode()
    assert workspace_status(client)[0] == 302
    from axes.models import AccessAttempt

    assert AccessAttempt.objects.get(username="editor").failures_since_start == 1


def test_five_wrong_codes_lock_the_account(editor):
    client = Client()
    enroll(editor)
    post_password(client, "editor")
    statuses = [client.post("/admin/login/code/", {"code": "000000"}).status_code for _ in range(5)]
    assert statuses == [400, 400, 400, 400, 429]
    assert post_password(Client(), "editor").status_code == 429
    assert SecurityEvent.objects.filter(kind=SecurityEventKind.LOCKOUT).count() == 1


def test_a_backup_code_works_once(editor):
    enroll(editor)
    second_factor.replace_backup_codes(editor, ["backup01", "backup02"])
    first = Client()
    sign_in(first, "editor", code="backup01")
    assert workspace_status(first)[0] == 200
    again = Client()
    response = sign_in(again, "editor", code="backup01")
    assert response.status_code == 400 and workspace_status(again)[0] == 302
    assert list(StaticToken.objects.values_list("token", flat=True)) == ["backup02"]


@pytest.mark.parametrize("role", ["editor", "auditor", "superuser"])
def test_a_required_role_without_a_second_factor_sets_one_up_at_login(role, editor, auditor, superuser):
    user = {"editor": editor, "auditor": auditor, "superuser": superuser}[role]
    client = Client()
    post_password(client, user.username)
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/admin/account/second-factor/")
    page = response.content.decode()
    assert "<svg" in page and "totp-secret" in page
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post("/admin/account/second-factor/", {"code": second_factor.current_code(device)})
    assert response.status_code == 200
    codes = response.context["backup_codes"]
    assert len(codes) == 10 and all(code in response.content.decode() for code in codes)
    assert workspace_status(client)[0] == 200
    assert SecurityEvent.objects.get(kind=SecurityEventKind.SECOND_FACTOR_ENROLLED).subject == user


def test_with_a_device_the_password_alone_never_sets_up_another(editor):
    """Someone who has only the password cannot add their own authenticator to the account."""
    enroll(editor)
    client = Client()
    post_password(client, "editor")
    response = client.get("/admin/account/second-factor/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/code/")
    assert TOTPDevice.objects.filter(user=editor).count() == 1


def test_authors_and_board_members_are_offered_it(author, board_member):
    for user in (author, board_member):
        client = Client()
        post_password(client, user.username)
        assert workspace_status(client)[0] == 200  # the password alone, when none is set up
        page = client.get("/admin/account/").content.decode()
        assert "Set up a second factor" in page


def test_an_author_who_set_one_up_must_use_it(author):
    enroll(author)
    client = Client()
    post_password(client, "author")
    assert workspace_status(client)[0] == 302
    client.post("/admin/login/code/", {"code": code_for(author)})
    assert workspace_status(client)[0] == 200


def test_a_new_role_that_requires_it_asks_for_it_in_the_same_session(author):
    from django.contrib.auth.models import Group

    client = Client()
    post_password(client, "author")
    assert workspace_status(client)[0] == 200
    author.groups.add(Group.objects.get_or_create(name="Editors")[0])
    assert workspace_status(client)[0] == 302


def test_the_session_key_changes_at_login_and_at_the_second_factor(editor):
    enroll(editor)
    client = Client()
    client.get("/admin/login/")
    before = client.cookies.get(settings.SESSION_COOKIE_NAME)
    post_password(client, "editor")
    after_password = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post("/admin/login/code/", {"code": code_for(editor)})
    after_code = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after_password != after_code and (before is None or before.value != after_password)


def test_a_session_ends_after_the_idle_timeout_and_lives_while_used(author, monkeypatch):
    """OWASP ASVS 5.0 §7.3.1: 30 idle minutes end a session; each use (once a minute) extends it."""
    from django.utils import timezone

    real_time, real_now = time.time, timezone.now

    def minutes_later(minutes: int) -> None:
        monkeypatch.setattr(time, "time", lambda: real_time() + minutes * 60)
        monkeypatch.setattr(timezone, "now", lambda: real_now() + timezone.timedelta(minutes=minutes))

    assert settings.SESSION_COOKIE_AGE == 30 * 60
    client = Client()
    post_password(client, "author")
    minutes_later(29)
    assert workspace_status(client)[0] == 200  # used within the half hour: kept alive ...
    minutes_later(58)
    assert workspace_status(client)[0] == 200  # ... for another half hour from then
    minutes_later(58 + 31)
    assert workspace_status(client)[0] == 302  # idle for 31 minutes: signed out


# --- API tokens ------------------------------------------------------------------------------


def test_a_token_is_made_with_the_second_factor_shown_once_and_stored_as_a_digest(client, author):
    enroll(author)
    client.force_login(author)
    made = client.post("/admin/account/tokens/", {"code": code_for(author)})
    assert made.status_code == 201
    raw = made.context["new_token"]
    from knox.models import AuthToken

    stored = AuthToken.objects.get(user=author)
    assert raw.startswith("edr_") and raw not in stored.digest and stored.expiry is not None
    assert raw not in client.get("/admin/account/").content.decode()  # shown once
    assert APIClient(HTTP_AUTHORIZATION=f"Token {raw}").get("/api/v1/articles/").status_code == 200
    assert client.post(f"/admin/account/tokens/{stored.token_key}/revoke/").status_code == 302
    assert APIClient(HTTP_AUTHORIZATION=f"Token {raw}").get("/api/v1/articles/").status_code == 401
    kinds = list(SecurityEvent.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == [SecurityEventKind.TOKEN_CREATED, SecurityEventKind.TOKEN_REVOKED]
    refused = client.post("/admin/account/tokens/", {"code": "000000"})
    assert refused.status_code == 400 and "no token was made" in refused.content.decode()
    assert not AuthToken.objects.filter(user=author).exists()


def test_no_token_without_a_second_factor(author):
    client = Client()
    post_password(client, "author")
    response = client.post("/admin/account/tokens/", {"code": "123456"})
    assert response.status_code == 400 and "Set up a second factor first" in response.content.decode()


def test_nobody_revokes_or_sees_another_persons_token(client, author, other_author):
    from knox.models import AuthToken

    theirs, _ = AuthToken.objects.create(user=other_author)
    client.force_login(author)
    client.post(f"/admin/account/tokens/{theirs.token_key}/revoke/")
    assert AuthToken.objects.filter(pk=theirs.pk).exists()
    assert theirs.token_key not in client.get("/admin/account/").content.decode()


def test_tokens_expire(author):
    from django.utils import timezone
    from knox.models import AuthToken

    token, raw = AuthToken.objects.create(user=author)
    assert token.expiry - timezone.now() > timezone.timedelta(days=29)
    AuthToken.objects.filter(pk=token.pk).update(expiry=timezone.now() - timezone.timedelta(seconds=1))
    assert APIClient(HTTP_AUTHORIZATION=f"Token {raw}").get("/api/v1/articles/").status_code == 401


def test_changing_ones_email_takes_ones_password(client, author):
    client.force_login(author)
    wrong = client.post("/admin/account/email/", {"email": "new@example.org", "password": "nope"})
    assert wrong.status_code == 400
    right = client.post("/admin/account/email/", {"email": "new@example.org", "password": "pw"})
    assert right.status_code == 302
    author.refresh_from_db()
    assert author.email == "new@example.org"
    assert SecurityEvent.objects.get(kind=SecurityEventKind.ACCOUNT_CHANGED).actor == author


def test_a_wrong_old_password_when_changing_it_counts_as_a_failure(client, author):
    from axes.models import AccessAttempt

    client.force_login(author)
    data = {"old_password": "nope", "new_password1": "a-New-pass-2026", "new_password2": "a-New-pass-2026"}
    assert client.post("/admin/password_change/", data).status_code == 200
    assert AccessAttempt.objects.get(username="author").failures_since_start == 1
    data["old_password"] = "pw"
    assert client.post("/admin/password_change/", data).status_code == 302
    assert SecurityEvent.objects.get(kind=SecurityEventKind.PASSWORD_SET).subject == author
    assert UserFactory._meta.model.objects.get(pk=author.pk).check_password("a-New-pass-2026")
