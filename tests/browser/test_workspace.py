"""The workspace in a real browser: each role walks the round trip by clicking, as people do.

Screenshots of each role's dashboard and of the article's history page are saved under
test-artifacts/screenshots/.
"""

import re

import pytest
from django.contrib.auth import get_user_model

from articles.models import Article
from editorial.notifications import delivery
from tests.accounts.helpers import code_for, enroll
from tests.browser.conftest import screenshot
from tests.factories import UserFactory, make_board_member

pytestmark = pytest.mark.django_db(transaction=True)

TITLE = "How should acute gout flares be treated?"


@pytest.fixture
def board(db):
    from editorial.workflow.permissions import Role

    people = {
        "author": UserFactory(username="author", first_name="Alex", last_name="Morgan", roles=[Role.AUTHOR]),
        "editor": UserFactory(username="editor", first_name="Helen", last_name="Okafor", roles=[Role.EDITOR]),
        "auditor": UserFactory(username="auditor", first_name="Sam", last_name="Lindqvist", roles=[Role.AUDITOR]),
        "reviewer1": make_board_member("reviewer1", "Priya Raman", "MD"),
        "reviewer2": make_board_member("reviewer2", "Tomás Ferreira", "DO"),
    }
    for role in ("editor", "auditor"):  # their roles sign in with a second factor: the demo's secret
        enroll(people[role])
    return people


def log_in(page, live_server, username, password="pw"):
    """The login form as people use it: the password, then (if asked) the authenticator's code."""
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#content")
    if "/admin/login/code/" in page.url:
        page.fill("#id_code", code_for(get_user_model().objects.get(username=username)))
        page.click("input[type=submit][value=Continue]")
        page.wait_for_selector("#content")


def message(page) -> str:
    return page.locator(".messagelist").inner_text()


def test_the_round_trip_through_the_workspace(page, live_server, board):
    # The author drafts, with the live preview, and submits.
    log_in(page, live_server, "author")
    screenshot(page, "workspace-author-dashboard-empty")
    page.click("text=Write a new article")
    page.fill("#id_title", TITLE)
    page.fill("#id_summary", "Treat early with an NSAID, colchicine or a corticosteroid.")
    page.fill("#id_body", "## From the Guidelines\n\nStart treatment **early** [1].\n\nLow-dose colchicine works [2].")
    page.fill("#id_patient_body", "Start your medicine as soon as a flare begins [1].")
    page.wait_for_selector(".live-preview strong:text('early')")
    page.fill("#id_references-0-title", "Gout guideline")
    page.click("text=Add another Reference")
    page.fill("#id_references-1-title", "Colchicine trial")
    page.fill("#id_change_reason", "First draft")
    page.click("input[name=_continue]")
    assert "was added successfully" in message(page)
    page.click("a.transition-submit")
    assert "The editors of the board are told" in page.content()
    page.fill("#id_reason", "Ready for the board")
    page.click("input[type=submit][value='Submit for review']")
    assert "Submit for review: done" in message(page)
    article_url = page.url

    # The editor invites two board members from the article's page.
    log_in(page, live_server, "editor")
    screenshot(page, "workspace-editor-dashboard")
    page.click(f"text={TITLE}")
    page.click("text=Invite reviewers")
    for name in ("Priya Raman, MD", "Tomás Ferreira, DO"):
        page.check(f"label:has-text('{name}') >> xpath=../../td/input")
    page.click("input[value='Invite the chosen members']")
    assert "Invited Priya Raman, Tomás Ferreira" in message(page)

    # Each reviewer accepts with a declaration, reviews and signs.
    for username in ("reviewer1", "reviewer2"):
        log_in(page, live_server, username)
        screenshot(page, f"workspace-{username}-dashboard")
        page.click(f".panel-invited >> text={TITLE}")
        page.check("input[name=conflict][value=none]")
        page.click("input[value='Accept the invitation']")
        assert "You accepted the invitation" in message(page)
        for field in ("claims_accurate", "doses_checked", "references_support", "language_fits_audience"):
            page.check(f"input[name={field}]")
        page.select_option("#id_recommendation", "approve")
        page.fill("#id_comments_to_author", f"Accurate ({username}).")
        page.fill("#id_password", "pw")
        page.click("input[value='Submit the review']")
        assert "submitted and signed" in message(page)

    # The editor decides, signing with a password; a wrong one signs nothing.
    log_in(page, live_server, "editor")
    page.goto(article_url)
    assert "ready for your decision" in page.content()
    page.click("a.transition-approve")
    page.fill("#id_password", "wrong")
    page.click("input[type=submit][value='Approve']")
    assert "nothing was signed" in page.content()
    page.fill("#id_reason", "Both reviewers approve.")
    page.fill("#id_password", "pw")
    page.click("input[type=submit][value='Approve']")
    assert "Approve: done" in message(page)
    assert Article.objects.get(title=TITLE).status == "approved"

    # The worker's part, done here in-process: deliver what the outbox holds.

    from editorial.models import Event

    for event in Event.objects.filter(status="pending"):
        delivery.deliver(event.pk)

    # The author reads the decision letter; the auditor reads the history.
    log_in(page, live_server, "author")
    page.goto(article_url)
    assert "Decision letters" in page.content() and "Accurate (reviewer1)." in page.content()
    log_in(page, live_server, "auditor")
    screenshot(page, "workspace-auditor-dashboard")
    page.goto(article_url.replace("/change/", "/history/"))
    history = page.content()
    for expected in (
        "Ready for the board",
        "Both reviewers approve.",
        "Approved as medically accurate",
        "Review started: a reviewer accepted",
        "Notifications sent about this article",
    ):
        assert expected in history, expected
    assert re.search(r"<code>[0-9a-f]{64}</code>", history)
    screenshot(page, "workspace-article-history")


def test_a_forged_transition_and_another_authors_article(page, live_server, board):
    from tests.factories import make_article

    theirs = make_article(UserFactory(username="someone", roles=["Authors"]), title="Someone else's?")
    log_in(page, live_server, "author")
    response = page.goto(f"{live_server.url}/admin/articles/article/{theirs.pk}/history/")
    assert response.status == 404
    response = page.goto(f"{live_server.url}/admin/articles/article/{theirs.pk}/transition/withdraw/")
    assert response.status == 404
    mine = make_article(board["author"], title="Mine?")
    response = page.goto(f"{live_server.url}/admin/articles/article/{mine.pk}/transition/approve/")
    assert response.status == 403 and "Only an editor can approve" in page.content()
