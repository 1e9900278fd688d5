"""In a real browser, as a reader: the AI-assistance line of a machine-drafted approved page, and
asking a follow-up question through the page's form (Origin sent by the browser itself).

Screenshots go to test-artifacts/screenshots/.
"""

import pytest

from editorial.models import ReaderQuestion
from tests.browser.conftest import PHONE, screenshot
from tests.browser.test_public_pages import CONTRAST_FAILURES, visit
from tests.editorial.provenance.test_provenance import approved_machine_article

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_reader_sees_the_ai_assistance_and_asks_a_follow_up_question(page, live_server, author, editor, reviewers):
    article = approved_machine_article(author, editor, reviewers)
    visit(page, live_server, article)
    credit = page.locator(".ai-credit")
    assert credit.is_visible()
    text = credit.inner_text()
    assert text.startswith("Drafted with AI assistance (MedDraft, gpt-4o) · reviewed and approved by ")
    assert "Priya Raman, MD" in text and "Tomás Ferreira, DO" in text
    assert text.endswith("(machine-drafted: summary, text for clinicians)")
    assert page.evaluate(CONTRAST_FAILURES) == []
    screenshot(page, "ai-assisted-approved-desktop")

    form = page.locator("form.question-form")
    assert page.get_by_role("heading", name="Have a follow-up question?").is_visible()
    trap = page.locator("#question-website").bounding_box()
    assert trap["x"] + trap["width"] <= 0  # the honeypot is drawn off the page: not for people
    page.get_by_label("Your question").fill("Can I keep playing football with an ankle brace?")
    form.get_by_role("button", name="Send the question").click()
    page.wait_for_url(f"**/articles/{article.slug}/questions/thanks/")
    assert page.get_by_role("heading", name="Thank you for your question").is_visible()
    assert page.context.cookies() == []  # asking left no cookie behind
    question = ReaderQuestion.objects.get()
    assert question.text == "Can I keep playing football with an ankle brace?" and question.article == article


def test_the_ai_line_fits_a_phone_and_is_absent_otherwise(page, live_server, in_state, author, editor, reviewers):
    article = approved_machine_article(author, editor, reviewers)
    visit(page, live_server, article, viewport=PHONE)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "ai-assisted-approved-phone")
    plain = in_state("approved")
    visit(page, live_server, plain)
    assert page.locator(".ai-credit").count() == 0 and "AI assistance" not in page.content()
