"""The public pages in a real browser: what readers see, the audience switch, phone widths.

Screenshots of every state at desktop and phone widths go to test-artifacts/screenshots/.
"""

import pytest

from editorial.demo.content import HIP
from editorial.workflow import services
from tests.browser.conftest import DESKTOP, PHONE, screenshot, watched_context
from tests.factories import make_article

pytestmark = pytest.mark.django_db(transaction=True)

BANNER = "Educational purpose only • Exercise caution as content is pending human review"

# Every text node whose colour does not meet WCAG 2.1 AA against its effective background
# (4.5:1, or 3:1 for large text). Hidden and visually hidden text is left out.
CONTRAST_FAILURES = """() => {
  const rgb = (value) => (value.match(/[\\d.]+/g) || []).map(Number);
  const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c;
    }
    return [255, 255, 255];
  };
  const failures = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || el.closest(".visually-hidden, svg, .skip-link")) continue;
    if (!el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    const [a, b] = [luminance(rgb(style.color)), luminance(background(el))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (parseInt(style.fontWeight, 10) >= 700 && size >= 18.66);
    const text = walker.currentNode.textContent.trim().slice(0, 40);
    if (ratio < (large ? 3 : 4.5)) failures.push(`${ratio.toFixed(2)}: ${text}`);
  }
  return failures;
}"""


def reference_article(author):
    """The reference page's article (demo content): six references, both texts."""
    fields = {name: HIP[name] for name in ("title", "summary", "body", "patient_body")}
    article = make_article(author, references=0, **fields)
    services.references_replace(article=article, actor=author, references=HIP["references"], reason="Sources")
    return article


def visit(page, live_server, article, viewport=DESKTOP):
    page.set_viewport_size(viewport)
    response = page.goto(f"{live_server.url}/articles/{article.slug}/")
    assert response.status == 200
    assert "set-cookie" not in response.headers
    return response


def current_step(page) -> str:
    """The current step as a screen reader reads it (its visually hidden state included)."""
    return " ".join(page.locator('.tracker [aria-current="step"]').inner_text().split())


def check_layout(page, name: str) -> None:
    """Readable as it is: nothing wider than the screen, every text with enough contrast."""
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} scrolls sideways"
    assert page.evaluate(CONTRAST_FAILURES) == [], name
    screenshot(page, f"{name}-{width}")


def test_submitted_reference_article_shows_the_banner_and_the_tracker_at_submitted(page, live_server, in_state, author):
    article = in_state("submitted", article=reference_article(author))
    visit(page, live_server, article)
    assert page.get_by_role("heading", level=1).inner_text() == HIP["title"]
    assert page.get_by_text(BANNER).is_visible()
    assert current_step(page) == "Submitted (current step)"
    assert [" ".join(text.split()) for text in page.locator(".tracker li").all_inner_texts()] == [
        "Submitted (current step)",
        "Under Review (not yet reached)",
        "Approved (not yet reached)",
    ]
    page.get_by_role("link", name="[5]").first.click()
    assert page.evaluate("location.hash") == "#ref-5"
    for viewport in (DESKTOP, PHONE):
        visit(page, live_server, article, viewport)
        check_layout(page, "reference-article-submitted")


def test_approved_article_names_its_reviewers_and_drops_the_banner(page, live_server, in_state, author):
    article = in_state("approved", article=reference_article(author))
    visit(page, live_server, article)
    assert current_step(page) == "Approved (completed)"
    assert page.get_by_text(BANNER).count() == 0
    reviewed = page.locator(".review-info li").all_inner_texts()
    assert sorted(line.split(" on ")[0] for line in reviewed) == [
        "Medically reviewed by Priya Raman, MD",
        "Medically reviewed by Tomás Ferreira, DO",
    ]
    assert page.get_by_text("Last reviewed").is_visible() and page.get_by_text("Next review due").is_visible()
    for viewport in (DESKTOP, PHONE):
        visit(page, live_server, article, viewport)
        check_layout(page, "reference-article-approved")


def test_audience_switch_shows_one_text_and_remembers_it_without_a_cookie(page, context, live_server, in_state):
    article = in_state("submitted")
    set_cookies = []
    page.on("response", lambda response: set_cookies.extend([response.url] if "set-cookie" in response.headers else []))
    visit(page, live_server, article)
    clinician, patient = page.locator("#for-clinicians"), page.locator("#for-patients")
    assert page.get_by_role("radio", name="Clinician").is_checked()
    assert clinician.is_visible() and patient.is_hidden()

    page.get_by_text("Patient or carer").click()
    assert patient.is_visible() and clinician.is_hidden()
    assert page.get_by_text("Most people get better").is_visible()
    assert page.get_by_text("Treat it").is_hidden()

    page.reload()
    assert page.get_by_role("radio", name="Patient or carer").is_checked()
    assert patient.is_visible() and clinician.is_hidden()
    assert context.cookies() == []
    assert set_cookies == []

    page.get_by_role("radio", name="Clinician").check()
    assert clinician.is_visible() and patient.is_hidden()


def test_without_javascript_both_texts_are_readable(browser, live_server, in_state):
    article = in_state("under_review")
    with watched_context(browser, viewport=PHONE, java_script_enabled=False) as context:
        page = context.new_page()
        visit(page, live_server, article, PHONE)
        assert page.get_by_text("Treat it").is_visible()
        assert page.get_by_text("Most people get better").is_visible()
        assert page.locator("[data-audience-chooser]").is_hidden(), "no switch that would do nothing"
        assert current_step(page) == "Under Review (current step)"


STATES = ["submitted", "under_review", "changes_requested", "approved", "revised", "retracted"]


@pytest.mark.parametrize("state", STATES)
def test_every_state_reads_well_at_desktop_and_phone_widths(page, live_server, in_state, author, state):
    article = in_state("approved" if state == "revised" else state)
    if state == "revised":
        article = services.article_revise(article=article, actor=author, reason="Update")
        # The update note shows only once the revision is submitted (a draft is nobody's business).
        article = services.article_submit(article=article, actor=author)
    expected = {
        "submitted": "Submitted (current step)",
        "under_review": "Under Review (current step)",
        "changes_requested": "Under Review (current step)",
        "approved": "Approved (completed)",
        "revised": "Approved (completed)",
    }
    for viewport in (DESKTOP, PHONE):
        visit(page, live_server, article, viewport)
        if state == "retracted":
            assert page.get_by_role("heading", name="This article has been retracted").is_visible()
            assert page.locator(".tracker").count() == 0 and page.get_by_text("Treat it").count() == 0
        else:
            assert current_step(page) == expected[state]
            assert page.get_by_text(BANNER).count() == (state not in ("approved", "revised"))
        assert page.get_by_text("An update to this article is being reviewed").count() == (state == "revised")
        check_layout(page, f"article-{state}")


def test_index_and_policy_read_well_at_desktop_and_phone_widths(page, live_server, in_state):
    in_state("approved")
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        page.goto(f"{live_server.url}/?q=condition")
        assert page.locator(".article-list li").count() == 1
        check_layout(page, "index")
        page.goto(f"{live_server.url}/editorial-policy/")
        assert page.get_by_role("img", name="The review workflow").is_visible()
        check_layout(page, "editorial-policy")


def test_hostile_text_stays_text_and_fits_a_phone(page, live_server, in_state, author):
    long_word = "Hydroxychloroquine" * 20
    article = make_article(
        author,
        title=f"{long_word[:230]} <img src=x onerror=window.pwned=1>?",  # the column holds 300
        summary="\u05d8\u05d9\u05e4\u05d5\u05dc \u05d1\u05db\u05d0\u05d1 \u05d9\u05e8\u05da <b>bold?</b>",
        body=(
            f"## Doses\n\n| drug | dose |\n|---|---|\n| {long_word} | {long_word} |\n\n"
            f"https://example.org/{long_word}\n\n<script>window.pwned = 1</script> **unclosed [1]"
        ),
        patient_body="\u0627\u0644\u0639\u0644\u0627\u062c [2] `code " + long_word,
    )
    article = in_state("submitted", article=article)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    visit(page, live_server, article, PHONE)
    assert page.evaluate("window.pwned") is None and dialogs == []
    assert page.locator("main img").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "article-hostile-375")
