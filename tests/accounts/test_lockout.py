"""Lockout (django-axes): per user name after 5 failures, per address after 20, for login,
signing, the second factor and API tokens; logged once; lifted by time or by an operator."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.models import SecurityEvent, SecurityEventKind
from editorial.workflow import signing
from editorial.workflow.exceptions import AccountLocked, InvalidInput, PasswordRequired, SignatureRefused
from reviewers.models import FailedSignatureAttempt
from tests.accounts.helpers import post_password, workspace_status
from tests.factories import make_article, signing_request

pytestmark = pytest.mark.django_db


def lockouts(subject_name: str = "") -> list[SecurityEvent]:
    events = SecurityEvent.objects.filter(kind=SecurityEventKind.LOCKOUT)
    return list(events.filter(subject_name__startswith=subject_name) if subject_name else events)


@pytest.mark.parametrize("wrong", range(7))
def test_the_right_password_logs_in_only_before_the_fifth_failure(wrong, author):
    """The issue's finding: 30 wrong passwords, then the right one, logged in. Now the 5th locks."""
    client = Client()
    for _ in range(wrong):
        response = post_password(client, "author", "not-it")
    if wrong:
        assert response.status_code == (429 if wrong >= 5 else 200)
    response = post_password(client, "author", "pw")
    if wrong < 5:
        assert response.status_code == 302 and workspace_status(client)[0] == 200
        assert not lockouts()
    else:
        assert response.status_code == 429
        assert "locked" in response.content.decode()
        assert response["Retry-After"] == "1800"
        assert workspace_status(client)[0] == 302
        assert [event.subject_name for event in lockouts()] == ["author (" + author.get_full_name() + ")"]


def test_a_username_locks_whatever_address_the_failures_come_from(author):
    for n in range(5):
        post_password(Client(), "author", "not-it", address=f"10.0.0.{n}")
    assert post_password(Client(), "author", "pw", address="10.9.9.9").status_code == 429
    assert len(lockouts()) == 1


@pytest.mark.parametrize("failures", [19, 20])
def test_an_address_locks_after_twenty_failures_across_user_names(failures, author, editor):
    client = Client()
    for n in range(failures):
        post_password(client, f"guess{n}", "not-it", address="10.1.1.1")
    locked = post_password(Client(), "author", "pw", address="10.1.1.1").status_code == 429
    assert locked is (failures >= 20)
    assert post_password(Client(), "author", "pw", address="10.2.2.2").status_code == 302
    assert [e.subject_name for e in lockouts()] == (["address 10.1.1.1"] if locked else [])


def test_a_lockout_ends_with_its_cool_off(author):
    for _ in range(5):
        post_password(Client(), "author", "not-it")
    assert post_password(Client(), "author", "pw").status_code == 429
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=31))
    assert post_password(Client(), "author", "pw").status_code == 302


def test_an_operator_unlocks_and_the_unlock_is_logged(client, author, superuser):
    for _ in range(5):
        post_password(Client(), "author", "not-it")
    client.force_login(superuser)
    page = client.get("/admin/security/locks/").content.decode()
    assert "user name <strong>author</strong>" in page
    assert client.post("/admin/security/locks/", {"username": "author"}).status_code == 302
    assert post_password(Client(), "author", "pw").status_code == 302
    unlock = SecurityEvent.objects.get(kind=SecurityEventKind.UNLOCK)
    assert (unlock.actor, unlock.subject, unlock.actor_role) == (superuser, author, "Operator")


def test_only_operators_see_and_lift_lockouts(client, editor, auditor, author):
    for user in (editor, auditor, author):
        client.force_login(user)
        assert client.get("/admin/security/locks/").status_code == 403
        assert client.post("/admin/security/locks/", {"username": "x"}).status_code == 403


# --- Signing -------------------------------------------------------------------------------


def sign(article, editor, password):
    return signing.verify_signer(actor=editor, password=password, article=article, request=signing_request())


def test_five_wrong_signing_passwords_lock_the_account_for_signing_and_login(editor, author):
    article = make_article(author)
    for _ in range(4):
        with pytest.raises(SignatureRefused):
            sign(article, editor, "not-it")
    with pytest.raises(AccountLocked, match="now locked"):
        sign(article, editor, "not-it")
    with pytest.raises(AccountLocked, match="cannot sign"):
        sign(article, editor, "pw")  # the right password, refused unread
    assert post_password(Client(), "editor", "pw").status_code == 429
    assert FailedSignatureAttempt.objects.count() == 5
    assert SecurityEvent.objects.filter(kind=SecurityEventKind.SIGNATURE_FAILED, subject=editor).count() == 5
    assert len(lockouts("editor")) == 1


def test_an_empty_signing_password_asks_for_it_and_counts_nothing(editor, author):
    """The issue's finding: an empty password was recorded as a failed signature."""
    article = make_article(author)
    for _ in range(10):
        with pytest.raises(PasswordRequired) as asked:
            sign(article, editor, "")
        assert asked.value.http_status == 400
    assert not FailedSignatureAttempt.objects.exists()
    assert not AccessAttempt.objects.exists()
    assert not SecurityEvent.objects.exists()
    sign(article, editor, "pw")


def test_signing_without_the_request_is_refused_before_the_password_is_read(editor, author):
    with pytest.raises(InvalidInput, match="request"):
        signing.verify_signer(actor=editor, password="pw", article=make_article(author), request=None)


def test_the_signing_form_locks_and_ends_the_session(client, in_state, editor):
    """Through the workspace: the 5th wrong password shows the lockout page and signs the editor out."""
    article = in_state("ready")
    client.force_login(editor)
    url = f"/admin/articles/article/{article.pk}/transition/approve/"
    for n in range(5):
        response = client.post(url, {"row_version": article.row_version, "password": "not-it"})
        assert response.status_code == (429 if n == 4 else 403), n
    assert workspace_status(client)[0] == 302  # signed out
    article.refresh_from_db()
    assert article.status == "under_review"


def test_an_empty_password_on_the_signing_form_asks_again(client, in_state, editor):
    article = in_state("ready")
    client.force_login(editor)
    url = f"/admin/articles/article/{article.pk}/transition/approve/"
    response = client.post(url, {"row_version": article.row_version, "password": ""})
    assert response.status_code == 400
    assert "Enter your password to sign" in response.content.decode()
    assert 'name="password"' in response.content.decode()  # the form stays open
    assert not FailedSignatureAttempt.objects.exists()


# --- API tokens ----------------------------------------------------------------------------


def test_a_call_without_credentials_gets_401_and_how_to_authenticate(db):
    response = APIClient().get("/api/v1/articles/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_bad_token_gets_401_not_403(db):
    """The issue's finding: a bad token got 403."""
    api = APIClient(HTTP_AUTHORIZATION="Token edr_not-a-token")
    response = api.get("/api/v1/articles/")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("guesses", [19, 20])
def test_guessed_tokens_lock_their_address(guesses, author):
    """The issue's finding: 60 guessed tokens were never throttled."""
    _, token = AuthToken.objects.create(user=author)
    for n in range(guesses):
        APIClient(HTTP_AUTHORIZATION=f"Token edr_guess{n}", REMOTE_ADDR="10.3.3.3").get("/api/v1/articles/")
    response = APIClient(HTTP_AUTHORIZATION=f"Token {token}", REMOTE_ADDR="10.3.3.3").get("/api/v1/articles/")
    assert response.status_code == (429 if guesses >= 20 else 200)
    elsewhere = APIClient(HTTP_AUTHORIZATION=f"Token {token}", REMOTE_ADDR="10.4.4.4").get("/api/v1/articles/")
    assert elsewhere.status_code == 200


def test_quick_api_calls_are_throttled(author):
    """The issue's finding: 150 quick API calls were never throttled (120 a minute per person now)."""
    _, token = AuthToken.objects.create(user=author)
    api = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    statuses = [api.get("/api/v1/articles/").status_code for _ in range(150)]
    assert statuses[:120] == [200] * 120
    assert set(statuses[120:]) == {429}
