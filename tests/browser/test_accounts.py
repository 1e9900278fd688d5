"""Accounts in a real browser: the README's demo logins with the documented code, setting up a
second factor, the lockout page, and a tour of every workspace page under the CSP.

Screenshots go to test-artifacts/screenshots/ (accounts-*.png).
"""

import re
from base64 import b32decode

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django_otp.oath import TOTP

from accounts.models import SecurityEvent
from editorial.demo.content import DEMO_BACKUP_CODES, DEMO_TOTP_SECRET
from tests.accounts.helpers import enroll
from tests.browser.conftest import screenshot
from tests.browser.test_workspace import board, log_in  # noqa: F401 - the fixture, and how people log in
from tests.factories import UserFactory, make_article

pytestmark = pytest.mark.django_db(transaction=True)


def fill_login(page, live_server, username, password):
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#content")


def signed_in_as(page) -> str:
    return page.locator("#user-tools strong").text_content()


def test_the_readme_demo_logins_work_with_the_documented_code(page, live_server, monkeypatch):
    """README: password `demo`, then the code of the documented secret (or a documented backup code)."""
    monkeypatch.setenv("DEMO_PASSWORD", "demo")
    monkeypatch.setenv("DEMO_TOTP_SECRET", DEMO_TOTP_SECRET)
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115 - closed with the process

    # An editor: password, then what any authenticator app shows for the documented secret.
    fill_login(page, live_server, "editor", "demo")
    assert "/admin/login/code/" in page.url
    screenshot(page, "accounts-demo-code-step")
    page.fill("#id_code", str(TOTP(b32decode(DEMO_TOTP_SECRET)).token()).zfill(6))
    page.click("input[type=submit][value=Continue]")
    assert signed_in_as(page) == "Helen" and "Editor" in page.content()
    screenshot(page, "accounts-demo-editor-dashboard")

    # The operator, with one of the documented backup codes; the author, with the password alone.
    fill_login(page, live_server, "admin", "demo")
    page.fill("#id_code", DEMO_BACKUP_CODES[0])
    page.click("input[type=submit][value=Continue]")
    assert signed_in_as(page) == "Site"
    fill_login(page, live_server, "author", "demo")
    assert signed_in_as(page) == "Alex" and "Write a new article" in page.content()


def test_an_editor_sets_up_a_second_factor_at_first_login(page, live_server):
    UserFactory(username="newedit", first_name="Nia", last_name="Cole", roles=["Editors"])
    fill_login(page, live_server, "newedit", "pw")
    assert "/admin/account/second-factor/" in page.url
    assert page.locator(".qr-code svg").is_visible()
    screenshot(page, "accounts-second-factor-setup")
    secret = page.locator(".totp-secret").inner_text().replace(" ", "")
    page.fill("#id_code", str(TOTP(b32decode(secret)).token()).zfill(6))
    page.click("input[type=submit][value='Set up']")
    codes = page.locator(".backup-codes code").all_inner_texts()
    assert len(codes) == 10
    screenshot(page, "accounts-backup-codes")
    page.click("text=Continue")
    assert signed_in_as(page) == "Nia"


def test_the_fifth_wrong_password_shows_the_lockout_page_and_the_log_says_so(page, live_server, board):  # noqa: F811
    for _ in range(5):
        fill_login(page, live_server, "editor", "not-the-password")
    assert "locked" in page.content()
    screenshot(page, "accounts-locked")
    fill_login(page, live_server, "editor", "pw")  # the right one, now refused
    assert "locked" in page.content() and "/admin/login/code/" not in page.url
    log_in(page, live_server, "auditor")
    page.goto(f"{live_server.url}/admin/accounts/securityevent/")
    assert "Locked after failed attempts" in page.content() and "editor (Helen Okafor)" in page.content()
    screenshot(page, "accounts-security-log")
    assert SecurityEvent.objects.filter(kind="login.lockout").count() == 1


def test_every_workspace_page_works_under_the_csp(page, live_server, board, in_state):  # noqa: F811
    """A tour of each role's pages; the CSP watch (conftest) fails the test on any violation."""
    article = in_state("approved")
    in_state("under_review", make_article(board["author"], title="Is it under review?"))
    admin = UserFactory(username="admin", first_name="Site", last_name="Operator", is_superuser=True)
    enroll(admin)
    base = f"{live_server.url}/admin"
    tours = {
        "editor": [
            "/",
            "/articles/article/",
            "/articles/article/?stage=ready&reviewer=Priya%20Raman",
            f"/articles/article/{article.pk}/change/",
            f"/articles/article/{article.pk}/history/",
            "/metrics/",
            "/workflow/",
            "/inbox/",
            "/inbox/preferences/",
            "/account/",
            "/reviewers/reviewerprofile/",
            "/editorial/transitionrecord/",
            "/articles/article/add/",
        ],
        "auditor": ["/", "/accounts/securityevent/", "/reviewers/signature/", "/editorial/notification/"],
        "admin": [
            "/",
            "/auth/user/",
            f"/auth/user/{board['author'].pk}/change/",
            "/auth/user/add/",
            "/security/locks/",
        ],
        "author": ["/", "/account/", "/account/second-factor/"],
    }
    for username, paths in tours.items():
        log_in(page, live_server, username)
        for path in paths:
            response = page.goto(base + path)
            assert response.status == 200, (username, path)
            assert "content-security-policy" in response.headers
            assert "'unsafe-inline'" not in response.headers["content-security-policy"]
        screenshot(page, f"accounts-tour-{username}")
    # The drafting form's live preview (a script and a fetch) works under the policy too.
    log_in(page, live_server, "author")
    page.goto(f"{base}/articles/article/add/")
    page.fill("#id_body", "Start **early** [1].")
    page.wait_for_selector(".live-preview strong:text('early')")
    # The metrics bars are drawn without style attributes.
    log_in(page, live_server, "editor")
    page.goto(f"{base}/metrics/")
    assert page.locator("svg.bar rect").count() > 0
    assert not re.search(r'\bstyle="', page.content())
    screenshot(page, "accounts-metrics")
    assert get_user_model().objects.count() >= 6
