"""The public article page: who sees what, in every status, and what readers are told."""

import json
import re
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from articles.models import Article, ArticleVersion, Reference
from editorial.workflow import services
from editorial.workflow.exceptions import WrongState
from reviewers.models import Signature, SignatureMeaning
from tests.conftest import clear_page_caches
from tests.factories import citing_body, make_article

BANNER = "Educational purpose only • Exercise caution as content is pending human review"


def url(article: Article) -> str:
    return reverse("article-detail", args=[article.slug])


class Page(HTMLParser):
    """What a reader (or a screen reader) gets from the page, without a browser."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.stack, self.ids, self.errors = [], [], []
        self.tags, self.current_step, self.hidden_texts, self.json_ld = [], None, [], []
        self._in_current = self._in_json_ld = False
        self.feed(html)
        self.close()
        if self.stack:
            self.errors.append(f"unclosed {self.stack}")

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if attrs.get("aria-current") == "step":
            self.current_step, self._in_current = "", True
        if tag == "script" and attrs.get("type") == "application/ld+json":
            self._in_json_ld = True
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()
        if tag == "li":
            self._in_current = False
        if tag == "script":
            self._in_json_ld = False

    def handle_data(self, data):
        if self._in_current:
            self.current_step += data
        if self._in_json_ld:
            self.json_ld.append(json.loads(data))

    def count(self, tag: str) -> int:
        return sum(1 for name, _ in self.tags if name == tag)

    def attrs(self, tag: str) -> list[dict]:
        return [attrs for name, attrs in self.tags if name == tag]


def get_page(client, article) -> tuple[str, Page]:
    response = client.get(url(article))
    assert response.status_code == 200
    html = response.content.decode()
    page = Page(html)
    assert page.errors == []
    assert len(page.ids) == len(set(page.ids)), "ids are unique"
    return html, page


def step(page: Page) -> str:
    return " ".join(page.current_step.split())


# --- Who sees what ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["draft", "withdrawn", "rejected"])
def test_drafts_withdrawn_and_rejected_articles_are_never_public(client, in_state, status):
    article = in_state(status)
    response = client.get(url(article))
    assert response.status_code == 404
    assert article.title not in response.content.decode()


@pytest.mark.django_db
def test_an_unknown_slug_is_a_404_with_the_site_page(client):
    response = client.get("/articles/no-such-article/")
    assert response.status_code == 404
    assert "We can’t find that page" in response.content.decode()
    assert "Reviewed <span>Medical</span> Answers" in response.content.decode()  # the readers' style


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "current"),
    [
        ("submitted", "Submitted (current step)"),
        ("under_review", "Under Review (current step)"),
        ("ready", "Under Review (current step)"),
        ("changes_requested", "Under Review (current step)"),
        ("approved", "Approved (completed)"),
    ],
)
def test_the_tracker_marks_the_step_readers_are_at(client, in_state, status, current):
    html, page = get_page(client, in_state(status))
    assert "Article Review Status" in html
    assert step(page) == current
    assert len(re.findall(r'aria-current="step"', html)) == 1
    assert "Changes requested" not in html, "readers are told it is under review"
    if status == "approved":
        assert html.count("(completed)") == 3
    else:
        assert "(not yet reached)" in html


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["submitted", "under_review", "changes_requested"])
def test_pending_articles_carry_the_banner_and_are_not_indexed(client, in_state, status):
    html, page = get_page(client, in_state(status))
    assert BANNER in html
    assert {"name": "robots", "content": "noindex"} in page.attrs("meta")
    assert page.json_ld == []
    assert "Medically reviewed by" not in html


@pytest.mark.django_db
def test_approved_article_names_its_board_reviewers_and_review_dates(client, in_state):
    article = in_state("approved")
    html, page = get_page(client, article)
    assert BANNER not in html
    assert {"name": "robots", "content": "noindex"} not in page.attrs("meta")
    assert re.search(r"Medically reviewed by <strong[^>]*>Priya Raman, MD</strong> on <time", html)
    assert re.search(r"Medically reviewed by <strong[^>]*>Tomás Ferreira, DO</strong> on <time", html)
    assert html.count("Medically reviewed by") == 2, "the editor's publication signature is not a medical review"
    assert f'<dt>Last reviewed</dt><dd><time datetime="{article.last_approved_at:%Y-%m-%d}">' in html
    assert f'<dt>Next review due</dt><dd><time datetime="{article.review_due_at:%Y-%m-%d}">' in html


@pytest.mark.django_db
def test_approved_article_describes_itself_as_a_reviewed_medical_web_page(client, in_state):
    article = in_state("approved")
    _, page = get_page(client, article)
    [data] = page.json_ld
    assert data["@type"] == "MedicalWebPage"
    assert data["name"] == article.title
    assert data["lastReviewed"] == f"{article.last_approved_at:%Y-%m-%d}"
    assert sorted((p["@type"], p["name"], p["honorificSuffix"]) for p in data["reviewedBy"]) == [
        ("Person", "Priya Raman", "MD"),
        ("Person", "Tomás Ferreira", "DO"),
    ]
    assert data["url"].endswith(url(article))


@pytest.mark.django_db
def test_retracted_article_shows_a_notice_instead_of_its_content(client, in_state):
    article = in_state("retracted")
    html, page = get_page(client, article)
    assert "This article has been retracted" in html
    for gone in (article.summary, "Treat it", "Most people get better", "Source 1", "Article Review Status", BANNER):
        assert gone not in html
    assert {"name": "robots", "content": "noindex"} in page.attrs("meta")
    assert page.json_ld == []


@pytest.mark.django_db
@override_settings(EDITORIAL_PUBLIC_FROM="approved")
@pytest.mark.parametrize(("status", "code"), [("submitted", 404), ("changes_requested", 404), ("approved", 200)])
def test_the_site_can_hold_articles_back_until_approved(client, in_state, status, code):
    assert client.get(url(in_state(status))).status_code == code


# --- What readers read ---------------------------------------------------------------------


@pytest.mark.django_db
def test_page_has_the_question_both_texts_references_and_disclaimer(client, in_state):
    article = in_state("submitted")
    html, page = get_page(client, article)
    assert page.count("h1") == 1
    assert re.search(r"<h1[^>]*>How is condition X treated\?</h1>", html)
    assert "All articles are reviewed for accuracy by our Medical Advisory Board" in html
    assert f'Last updated <time datetime="{article.content_updated_at:%Y-%m-%d}">' in html
    assert '<a href="/editorial-policy/">View editorial policy</a>' in html
    assert "Which best describes you?" in html
    # Without JavaScript both texts are there, clinicians' first; the chooser waits for the script.
    assert html.index("Treat it") < html.index("Most people get better")
    [chooser] = [attrs for attrs in page.attrs("section") if "data-audience-chooser" in attrs]
    assert "hidden" in chooser
    assert 'href="#ref-1"' in html and 'id="ref-1"' in html and 'id="ref-2"' in html
    assert "Professional medical disclaimer" in html
    for landmark in ("header", "nav", "main", "footer"):
        assert page.count(landmark) >= 1, landmark


@pytest.mark.django_db
def test_references_link_to_doi_pubmed_and_web_addresses_only(client, author):
    article = make_article(author, references=0, body=citing_body(2))
    services.references_replace(
        article=article,
        actor=author,
        reason="Sources",
        references=[
            {"title": "With ids", "doi": "10.1000/xyz<1>", "pmid": "12345678", "url": "https://example.org/guideline"},
            {"title": "Plain"},
        ],
    )
    # A value that slipped past validation (written straight to the table) still never links.
    Reference.objects.filter(article=article, title="Plain").update(url="javascript:alert(1)")
    services.article_submit(article=article, actor=author)
    html, page = get_page(client, article)
    hrefs = [attrs.get("href", "") for attrs in page.attrs("a")]
    assert "https://doi.org/10.1000/xyz%3C1%3E" in hrefs
    assert "https://pubmed.ncbi.nlm.nih.gov/12345678/" in hrefs
    assert "https://example.org/guideline" in hrefs
    assert not [href for href in hrefs if "javascript" in href.lower()]


@pytest.mark.django_db
def test_hostile_text_renders_as_text(client, author):
    long_word = "Pneumono" * 80
    article = make_article(
        author,
        title='</script><script>alert("t")</script> Is \u05e9\u05dc\u05d5\u05dd safe?',
        summary="<img src=x onerror=alert(1)>",
        patient_body="\u202eRTL override\u202c and \u0645\u0631\u062d\u0628\u0627 [1]",
    )
    article = services.article_submit(article=article, actor=author)
    # Text the services refuse today (a javascript: link, a dangling [99]), as if submitted before
    # the rules: the page (which shows the submitted version) must still show it as text.
    submitted = article.current_version
    hostile = ArticleVersion.objects.create(
        article=article,
        review_round=submitted.review_round + 1,
        content={
            **submitted.content,
            "body": f"## Unclosed **bold [1\n\n<script>alert(1)</script>\n\n{long_word}\n\n"
            "[x](javascript:alert(1)) [99]",
        },
        content_hash="0" * 64,
        created_by=author,
    )
    Article.objects.filter(pk=article.pk).update(current_version=hostile)
    html, page = get_page(client, article)
    assert "<script>alert" not in html
    assert not [a for a in page.attrs("img")]
    assert not [t for t, attrs in page.tags for name in attrs if name.startswith("on")]
    assert long_word in html
    assert 'dir="auto"' in html


@pytest.mark.django_db
def test_json_ld_cannot_be_broken_out_of(client, in_state, author):
    title = 'Q </script><script>alert("x")</script> & <!-- ?'
    article = in_state("approved", article=make_article(author, title=title))
    html, page = get_page(client, article)
    block = html.split('<script type="application/ld+json">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block and ">" not in block
    assert page.json_ld[0]["name"] == title


# --- An update in review -----------------------------------------------------------------


def revise(article, author, *, submit=False):
    article = services.article_revise(article=article, actor=author, reason="Update")
    article = services.article_update(
        article=article,
        expected_row_version=article.row_version,
        actor=author,
        fields={"title": "A new question?", "body": "New clinical words [1].", "patient_body": "New plain words."},
        references=[{"title": "A newer source"}],
        reason="Rewritten",
    )
    if submit:
        article = services.article_submit(article=article, actor=author)
    return article


@pytest.mark.django_db
@pytest.mark.parametrize("submit", [False, True])
def test_readers_keep_the_approved_version_while_an_update_is_reviewed(client, in_state, author, submit):
    approved = in_state("approved")
    article = revise(approved, author, submit=submit)
    assert article.status == ("submitted" if submit else "draft")
    html, page = get_page(client, article)
    assert "How is condition X treated?" in html and "Treat it" in html and "Source 1" in html
    for new in ("A new question?", "New clinical words", "New plain words", "A newer source"):
        assert new not in html
    assert step(page) == "Approved (completed)"
    assert BANNER not in html
    # Issue 12: the note showed as soon as a revision draft was opened; only a submitted update is in review.
    assert ("An update to this article is being reviewed" in html) is submit
    assert html.count("Medically reviewed by") == 2
    assert page.json_ld[0]["name"] == "How is condition X treated?"


@pytest.mark.django_db
@override_settings(EDITORIAL_PUBLIC_FROM="approved")
def test_an_update_in_review_keeps_the_approved_version_public_when_holding_back(client, in_state, author):
    article = revise(in_state("approved"), author, submit=True)
    html, _ = get_page(client, article)
    assert "How is condition X treated?" in html


@pytest.mark.django_db
def test_a_discarded_update_keeps_the_approved_article_on_the_site(client, in_state, author):
    """Issue 12: withdrawing an update took the approved article off the site; now it is refused,
    and discarding the revision keeps the page readers had."""
    approved = in_state("approved")
    before = client.get(url(approved)).content
    article = revise(approved, author)
    with pytest.raises(WrongState):
        services.article_withdraw(article=article, actor=author, reason="Not needed")
    services.article_discard_revision(article=Article.objects.get(pk=article.pk), actor=author)
    clear_page_caches()
    response = client.get(url(article))
    assert response.status_code == 200 and response.content == before


# --- Cost --------------------------------------------------------------------------------------


def uncached_queries(client, article) -> int:
    with override_settings(EDITORIAL_PUBLIC_CACHE_SECONDS=0), CaptureQueriesContext(connection) as queries:
        assert client.get(url(article)).status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_uncached_page_queries_do_not_grow_with_references(client, author):
    few = services.article_submit(article=make_article(author, title="Few?", references=2), actor=author)
    many = services.article_submit(article=make_article(author, title="Many?", references=12), actor=author)
    assert uncached_queries(client, few) == uncached_queries(client, many) <= 2


@pytest.mark.django_db
def test_uncached_approved_page_queries_do_not_grow_with_signers(client, in_state, board_member):
    article = in_state("approved")
    before = uncached_queries(client, article)
    version = article.published_version
    for n in range(4):
        Signature.objects.create(
            article=article,
            version=version,
            content_hash=version.content_hash,
            signer=board_member,
            printed_name=f"Extra Member {n}",
            credentials="RN",
            meaning=SignatureMeaning.MEDICALLY_ACCURATE,
        )
    html = client.get(url(article)).content.decode()
    assert html.count("Medically reviewed by") == 6
    assert uncached_queries(client, article) == before <= 2


@pytest.mark.django_db
def test_an_approved_article_without_a_recorded_version_still_renders(client, in_state):
    """Rows approved before versions were kept: readers get the live text, never a 500."""
    article = in_state("approved")
    Article.objects.filter(pk=article.pk).update(published_version=None)
    html, page = get_page(client, article)
    assert step(page) == "Approved (completed)"
    assert "Treat it" in html and "Medically reviewed by" not in html


@pytest.mark.django_db
def test_readers_never_see_working_text_nobody_submitted(client, in_state, author):
    """Issue 12: an article in changes_requested showed the author's unsubmitted edit at once."""
    article = in_state("changes_requested")
    services.article_update(
        article=article,
        actor=author,
        fields={"summary": "An edit saved a minute ago, never submitted."},
        expected_row_version=article.row_version,
    )
    clear_page_caches()
    html, _ = get_page(client, article)
    assert "never submitted" not in html
    assert "A short answer." in html  # the last submitted version
    index = client.get(reverse("article-index"), {"q": "condition"}).content.decode()
    assert "never submitted" not in index


@pytest.mark.django_db
def test_the_update_note_shows_only_while_an_update_is_submitted_or_in_review(client, in_state, author, editor):
    """Issue 12: the note showed for a revision draft and stayed while changes were requested."""
    article = revise(in_state("approved"), author, submit=True)
    assert "An update to this article is being reviewed" in get_page(client, article)[0]
    article = services.article_start_review(article=article, actor=editor)
    clear_page_caches()
    assert "An update to this article is being reviewed" in get_page(client, article)[0]
    article = services.article_request_changes(article=article, actor=editor, reason="Doses.")
    clear_page_caches()
    assert "An update to this article is being reviewed" not in get_page(client, article)[0]
