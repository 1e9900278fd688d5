"""Readers' follow-up questions: the form on the cached, cookie-less page; its endpoint's Origin
check, honeypot and rate limit; the editors' queue (roles), commission, claim, and the metrics."""

import re

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from articles.models import Article
from editorial.models import QuestionStatus, ReaderQuestion
from editorial.workflow import questions
from editorial.workflow.exceptions import InvalidInput, NotPermitted, WrongState
from editorial.workflow.permissions import Role
from editorial.workspace import metrics
from tests.factories import UserFactory

QUESTION = "Can I take ibuprofen with this treatment?"


def ask(article, text=QUESTION, *, origin="http://testserver", address="203.0.113.7", **extra):
    headers = {"REMOTE_ADDR": address}
    if origin is not None:
        headers["HTTP_ORIGIN"] = origin
    return Client().post(
        reverse("question-ask", args=[article.slug]), {"text": text, "website": "", **extra}, **headers
    )


def queue_url(question=None, action=None):
    if action:
        return reverse("admin:editorial_readerquestion_act", args=[question.pk, action])
    if question:
        return reverse("admin:editorial_readerquestion_change", args=[question.pk])
    return reverse("admin:editorial_readerquestion_changelist")


# --- The form on the public page -----------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_ends_with_the_form_and_stays_cookie_less(in_state):
    article = in_state("approved")
    response = Client().get(reverse("article-detail", args=[article.slug]))
    html = response.content.decode()
    assert "Set-Cookie" not in response.headers and "Cookie" not in response.headers.get("Vary", "")
    assert "csrfmiddlewaretoken" not in html
    follow_up = html.index("Have a follow-up question?")
    assert follow_up > html.index('id="references-heading"') and follow_up < html.index(
        "Professional medical disclaimer"
    )
    form = re.search(r'<form method="post" action="([^"]+)" class="question-form">(.*?)</form>', html, re.S)
    assert form.group(1) == reverse("question-ask", args=[article.slug])
    fields = set(re.findall(r'name="([^"]+)"', form.group(2)))
    assert fields == {"text", "website"}  # the question and the honeypot: nothing about the reader


@pytest.mark.django_db
def test_a_retracted_page_has_no_form_and_its_endpoint_is_404(in_state):
    article = in_state("retracted")
    assert (
        "Have a follow-up question?"
        not in Client().get(reverse("article-detail", args=[article.slug])).content.decode()
    )
    assert ask(article).status_code == 404
    assert not ReaderQuestion.objects.exists()


@pytest.mark.django_db
def test_a_reader_asks_and_the_text_is_kept_as_plain_text(in_state):
    article = in_state("approved")
    response = ask(article, "  <b>Can I</b> take <script>alert(1)</script>ibuprofen &amp; paracetamol\x07 together?  ")
    assert response.status_code == 303 and response["Location"] == reverse("question-thanks", args=[article.slug])
    assert "Set-Cookie" not in response.headers
    question = ReaderQuestion.objects.get()
    assert question.text == "Can I take ibuprofen & paracetamol together?"
    assert question.article == article and question.status == QuestionStatus.OPEN
    thanks = Client().get(response["Location"])
    assert thanks.status_code == 200 and "Thank you for your question" in thanks.content.decode()
    assert "Set-Cookie" not in thanks.headers


@pytest.mark.django_db
@pytest.mark.parametrize("origin", [None, "null", "https://evil.example", "http://testserver.evil.example"])
def test_a_post_from_anywhere_else_is_refused(in_state, origin):
    article = in_state("approved")
    response = ask(article, origin=origin)
    assert response.status_code == 403
    assert "only from its page on our site" in response.content.decode()
    assert not ReaderQuestion.objects.exists()


@pytest.mark.django_db
@override_settings(SITE_URL="https://answers.example.org")
def test_the_site_url_is_an_accepted_origin(in_state):
    assert ask(in_state("approved"), origin="https://answers.example.org").status_code == 303
    assert ReaderQuestion.objects.count() == 1


@pytest.mark.django_db
def test_the_honeypot_is_answered_like_a_person_and_nothing_is_kept(in_state):
    article = in_state("approved")
    response = ask(article, website="http://spam.example")
    assert response.status_code == 303
    assert not ReaderQuestion.objects.exists()


@pytest.mark.django_db
@override_settings(EDITORIAL_QUESTION_RATE="2/h")
def test_each_address_may_ask_only_so_often(in_state):
    article = in_state("approved")
    assert [ask(article).status_code for _ in range(2)] == [303, 303]
    refused = ask(article)
    assert refused.status_code == 429 and refused["Retry-After"]
    assert "several questions already" in refused.content.decode()
    assert ask(article, website="bot").status_code == 429  # robots count too
    assert ask(article, address="198.51.100.2").status_code == 303  # another address is not held back
    assert ReaderQuestion.objects.count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text, why",
    [
        ("Why?", "at least 10 characters"),
        ("x" * 1001, "under 1000 characters"),
        ("Please write to me at jo.reader@example.com about my dose", "leave out e-mail addresses"),
        ("My number is +44 20 7946 0958, can you call me?", "telephone numbers"),
    ],
)
def test_a_question_that_cannot_be_kept_is_a_400_saying_why(in_state, text, why):
    response = ask(in_state("approved"), text)
    assert response.status_code == 400 and why in response.content.decode()
    assert not ReaderQuestion.objects.exists()
    # The form comes back holding what the reader wrote (at most the form's 1,000 characters), to correct.
    page = response.content.decode()
    assert f'aria-describedby="question-hint">{escape(text[:1000])}</textarea>' in page
    assert "Error 400" not in page


@pytest.mark.django_db
def test_the_endpoint_takes_only_posts(in_state):
    article = in_state("approved")
    assert Client().get(reverse("question-ask", args=[article.slug])).status_code == 405


# --- The editors' queue -------------------------------------------------------------------------


@pytest.fixture
def asked(in_state):
    article = in_state("approved")
    return [
        questions.question_ask(article=article, text=QUESTION),
        questions.question_ask(article=article, text="Is ibuprofen safe alongside this treatment?"),
    ]


@pytest.mark.django_db
def test_who_sees_the_queue(client, asked, editor, auditor, author, board_member):
    for user, seen in ((editor, 2), (auditor, 2), (author, 0)):
        client.force_login(user)
        response = client.get(queue_url())
        assert response.status_code == 200
        assert response.content.decode().count('class="field-short_text"') == seen, user
    client.force_login(board_member)
    assert client.get(queue_url()).status_code == 403
    client.force_login(author)
    assert client.get(queue_url(asked[0])).status_code in (302, 404)  # an open question is not theirs to see


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["dismiss", "commission", "merge"])
def test_only_editors_triage(client, asked, author, auditor, action):
    for user in (author, auditor):
        client.force_login(user)
        response = client.post(queue_url(asked[0], action), {"into": asked[1].pk})
        assert response.status_code in (403, 404)
    assert ReaderQuestion.objects.filter(status=QuestionStatus.OPEN).count() == 2


@pytest.mark.django_db
def test_an_editor_merges_a_duplicate_and_dismisses(client, asked, editor):
    client.force_login(editor)
    page = client.get(queue_url(asked[1])).content.decode()
    assert f'<option value="{asked[0].pk}">' in page  # the other question on the page is offered
    response = client.post(queue_url(asked[1], "merge"), {"into": asked[0].pk, "reason": "Same question"})
    assert response.status_code == 302
    merged = ReaderQuestion.objects.get(pk=asked[1].pk)
    assert (
        merged.status == QuestionStatus.MERGED and merged.merged_into_id == asked[0].pk and merged.handled_by == editor
    )
    again = client.post(queue_url(asked[1], "dismiss"))
    assert again.status_code == 409 and "only an open one" in again.content.decode()
    with pytest.raises(InvalidInput):
        questions.question_merge(question=asked[0], actor=editor, into=asked[0])


@pytest.mark.django_db
def test_the_queue_and_the_page_show_each_questions_number(client, asked, editor):
    """A merge into a question asked on another page asks for its number: it must be shown."""
    client.force_login(editor)
    listing = client.get(reverse("admin:editorial_readerquestion_changelist")).content.decode()
    page = client.get(queue_url(asked[0])).content.decode()
    assert f"#{asked[0].pk}</a>" in listing and f"#{asked[1].pk}</a>" in listing
    assert f"(question #{asked[0].pk})" in page


@pytest.mark.django_db
def test_a_dismissal_must_say_why(client, asked, editor):
    client.force_login(editor)
    page = client.get(queue_url(asked[0])).content.decode()
    assert 'id="id_dismiss_reason" name="reason" rows="2" cols="60" maxlength="2000" required' in page
    refused = client.post(queue_url(asked[0], "dismiss"), {"reason": "  "})
    assert refused.status_code == 400 and "Say why the question is dismissed" in refused.content.decode()
    assert ReaderQuestion.objects.get(pk=asked[0].pk).status == QuestionStatus.OPEN
    assert client.post(queue_url(asked[0], "dismiss"), {"reason": "Answered on the page"}).status_code == 302
    assert ReaderQuestion.objects.get(pk=asked[0].pk).status == QuestionStatus.DISMISSED


@pytest.mark.django_db
def test_commission_then_an_author_claims_and_drafts(client, asked, editor, author, other_author):
    client.force_login(editor)
    assert client.post(queue_url(asked[0], "commission"), {"reason": "Worth an article"}).status_code == 302

    client.force_login(author)
    listing = client.get(queue_url()).content.decode()
    assert listing.count('class="field-short_text"') == 1 and QUESTION in listing
    with CaptureQueriesContext(connection) as queries:
        response = client.post(queue_url(asked[0], "claim"))
    assert response.status_code == 302
    assert len(queries) <= 30, len(queries)
    question = ReaderQuestion.objects.get(pk=asked[0].pk)
    draft = Article.objects.get(pk=question.draft_id)
    assert response["Location"] == reverse("admin:articles_article_change", args=[draft.pk])
    assert (draft.title, draft.author, draft.status) == (QUESTION, author, "draft")
    assert question.status == QuestionStatus.DRAFTING and question.claimed_by == author

    client.force_login(other_author)
    assert client.post(queue_url(asked[0], "claim")).status_code in (404, 409)
    with pytest.raises(WrongState):
        questions.question_claim(question=question, actor=other_author)
    assert Article.objects.filter(title=QUESTION).count() == 1


@pytest.mark.django_db
def test_editors_cannot_claim_and_a_pipeline_account_can(asked, editor):
    questions.question_commission(question=asked[0], actor=editor)
    with pytest.raises(NotPermitted):
        questions.question_claim(question=asked[0], actor=editor)
    pipeline = UserFactory(username="drafting-pipeline", roles=[Role.AUTHOR])
    draft = questions.question_claim(question=asked[0], actor=pipeline)
    assert draft.author == pipeline and draft.title == QUESTION


@pytest.mark.django_db
def test_a_long_question_becomes_a_title_cut_at_a_word():
    title = questions.draft_title("word " * 100)
    assert len(title) <= 300 and title.endswith("word…")


@pytest.mark.django_db
def test_metrics_count_questions_and_those_that_became_articles(client, asked, editor, author):
    questions.question_commission(question=asked[0], actor=editor)
    questions.question_claim(question=asked[0], actor=author)
    figures = metrics.summary(days=30)
    assert figures["questions_asked"] == 2 and figures["questions_to_articles"] == 1
    client.force_login(editor)
    page = client.get(reverse("admin:metrics")).content.decode()
    card = re.search(r'id="metric-questions">(.*?)</div>', page, re.S).group(1)
    assert ">2</span>" in card and "<strong>1</strong> became articles" in card


@pytest.mark.django_db
def test_the_public_page_never_shows_a_draft_answer(client, asked, editor, author, in_state):
    questions.question_commission(question=asked[0], actor=editor)
    draft = questions.question_claim(question=asked[0], actor=author)
    assert Client().get(reverse("article-detail", args=[draft.slug])).status_code == 404
    page = Client().get(reverse("article-detail", args=[asked[0].article.slug])).content.decode()
    assert QUESTION not in page


@pytest.mark.django_db
def test_the_queue_costs_the_same_queries_for_two_or_twenty_questions(client, asked, editor):
    client.force_login(editor)
    with CaptureQueriesContext(connection) as few:
        assert client.get(queue_url()).status_code == 200
    for n in range(18):
        questions.question_ask(article=asked[0].article, text=f"Another follow-up question number {n}?")
    with CaptureQueriesContext(connection) as many:
        assert client.get(queue_url()).status_code == 200
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
