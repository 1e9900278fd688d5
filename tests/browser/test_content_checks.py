"""The content checks in a real browser: what the author sees while writing, what the board cannot sign.

The look-up goes over real HTTP from the live server to the stub of Crossref and PubMed.
Screenshots land in test-artifacts/screenshots/.
"""

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from articles.models import Article
from editorial.sources import stub
from editorial.workflow import board, services
from reviewers.models import Review
from tests.browser.conftest import screenshot
from tests.browser.test_workspace import log_in
from tests.factories import UserFactory, make_article, make_board_member

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def resolver_on(settings):
    server, thread = stub.start()
    settings.EDITORIAL_RESOLVER_ENABLED = True
    settings.EDITORIAL_CROSSREF_URL = f"{server.base_url}/crossref"
    settings.EDITORIAL_PUBMED_URL = f"{server.base_url}/pubmed"
    cache.clear()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def panel(page) -> str:
    return page.locator("#content-checks").inner_text()


def test_the_author_sees_the_gate_and_the_lints_live_and_fills_a_reference_from_its_doi(page, live_server, resolver_on):
    UserFactory(username="author", first_name="Alex", last_name="Morgan", roles=["Authors"])
    log_in(page, live_server, "author")
    page.click("text=Write a new article")
    page.fill("#id_title", "How is a gout flare treated?")
    page.fill("#id_summary", "Early anti-inflammatory treatment.")
    page.fill("#id_body", "Start naproxen 500 mg twice daily.\n\nColchicine works [2].")
    page.fill("#id_patient_body", "Take naproxen 250 mg three times a day. It cures gout.")
    page.fill("#id_references-0-title", "Gout guideline")
    # The first check in a process loads the syllable dictionary (about half a second).
    # (Locators, not wait_for_function: a string predicate is eval'd in the page, which the CSP refuses.)
    expect(page.locator("#content-checks")).to_contain_text("Blocks submission", timeout=15000)
    text = panel(page)
    assert "The text cites [2], but the reference list has only 1." in text
    assert "Nothing in the text cites reference [1]" in text
    assert "Dose without a source" in text and "Absolute claim" in text
    assert "Clinician and patient texts disagree" in text
    screenshot(page, "checks-author-live")

    # Look a reference up by its DOI: the stub answers as Crossref would.
    page.click("text=Add another Reference")
    page.fill("#id_references-1-doi", "10.5555/demo.heel-pain-taping")
    page.click("#references-1 .ref-lookup")
    page.wait_for_selector("#references-1 .ref-lookup-result.lookup-ok", timeout=15000)
    assert page.input_value("#id_references-1-title") == (
        "Taping and foot orthoses for plantar heel pain: a systematic review"
    )
    assert page.input_value("#id_references-1-year") == "2021"
    assert page.input_value("#id_references-1-authors") == "Bello A, Nowak T, Vogel L, Adams R"

    # Cite both: the gate opens, the lints stay (they warn, they never block).
    page.fill("#id_body", "Start naproxen 500 mg twice daily [1].\n\nColchicine works [2].")
    expect(page.locator("#content-checks")).not_to_contain_text("Blocks submission", timeout=15000)
    assert "Absolute claim" in panel(page)
    screenshot(page, "checks-author-after-lookup")
    page.fill("#id_change_reason", "First draft")
    page.click("input[name=_continue]")
    assert "was added successfully" in page.locator(".messagelist").inner_text()
    article = Article.objects.get(title="How is a gout flare treated?")
    assert article.references.get(position=2).doi == "10.5555/demo.heel-pain-taping"


def test_an_author_cannot_submit_with_a_dangling_citation(page, live_server):
    author = UserFactory(username="author", roles=["Authors"])
    article = make_article(author, title="Dangling?", body="Treat it [1]. Trials agree [2]. See [4].")
    log_in(page, live_server, "author")
    page.goto(f"{live_server.url}/admin/articles/article/{article.pk}/change/")
    assert "The text cites [4], but the reference list has only 2." in panel(page)
    page.click("a.transition-submit")
    assert "The article cannot be sent to review yet:" in page.content()
    assert page.locator(".refusal-problems li").inner_text() == "The text cites [4], but the reference list has only 2."
    assert page.locator("input[type=submit][value='Submit for review']").count() == 0
    screenshot(page, "checks-submit-refused")
    assert Article.objects.get(pk=article.pk).status == "draft"


def test_a_reviewer_cannot_sign_approve_with_the_dose_check_unticked(page, live_server):
    author = UserFactory(username="author", roles=["Authors"])
    editor = UserFactory(username="editor", roles=["Editors"])
    reviewer = make_board_member("reviewer1", "Priya Raman", "MD")
    article = make_article(author, title="Doses?", body="Give naproxen 500 mg twice daily [1]. Trials agree [2].")
    article = services.article_submit(article=article, actor=author)
    invitation = board.invitation_create(article=article, actor=editor, reviewers=[reviewer])[0]
    board.invitation_accept(invitation=invitation, actor=reviewer, conflict="none")

    log_in(page, live_server, "reviewer1")
    page.goto(f"{live_server.url}/admin/reviewers/invitation/{invitation.pk}/change/")
    assert "The text gives 1 dose" in page.content()
    assert page.locator("input[name=doses_not_applicable]").count() == 0
    assert "Checks of this version" in page.content()
    for field in ("claims_accurate", "references_support", "language_fits_audience"):
        page.check(f"input[name={field}]")
    page.select_option("#id_recommendation", "approve")
    page.fill("#id_password", "pw")
    page.click("input[value='Submit the review']")
    assert "To sign an approval, tick every checklist item" in page.locator(".errornote").inner_text()
    assert page.is_checked("input[name=claims_accurate]") and not page.is_checked("input[name=doses_checked]")
    screenshot(page, "checks-reviewer-refused")
    assert not Review.objects.exists()
