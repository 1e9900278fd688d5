"""The index of public articles and the editorial policy page."""

import re

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from articles.models import Article
from editorial.workflow import services
from tests.conftest import clear_page_caches
from tests.factories import make_article, make_specialty


def listed(client, query: str = "") -> list[tuple[str, str]]:
    """(title, status badge) of each article the index lists, in order."""
    response = client.get("/" + query)
    assert response.status_code == 200
    html = response.content.decode()
    titles = re.findall(r'<h2><a href="/articles/[^"]+/" dir="auto">([^<]+)</a></h2>', html)
    badges = re.findall(r'<span class="visually-hidden">Review status: </span>([^<]+)</span>', html)
    return list(zip(titles, badges, strict=True))


@pytest.fixture
def shelf(in_state, author):
    """One article in each status, under distinct titles and specialties."""
    cardio = make_specialty("Cardiology", "cardiology")
    skin = make_specialty("Dermatology", "dermatology")

    def build(status, title, specialty):
        return in_state(status, article=make_article(author, title=title, specialty=specialty))

    return {
        "draft": build("draft", "Draft about hearts?", cardio),
        "submitted": build("submitted", "Submitted about hearts?", cardio),
        "under_review": build("under_review", "Reviewed about skin?", skin),
        "changes_requested": build("changes_requested", "Changes about skin?", skin),
        "approved": build("approved", "Approved about hearts?", cardio),
        "retracted": build("retracted", "Retracted about skin?", skin),
        "rejected": build("rejected", "Rejected about hearts?", cardio),
        "withdrawn": build("withdrawn", "Withdrawn about skin?", skin),
    }


@pytest.mark.django_db
def test_index_lists_public_articles_with_the_status_readers_are_told(client, shelf):
    assert listed(client) == [
        ("Approved about hearts?", "Approved"),
        ("Changes about skin?", "Under review"),
        ("Retracted about skin?", "Retracted"),
        ("Reviewed about skin?", "Under review"),
        ("Submitted about hearts?", "Submitted"),
    ]


@pytest.mark.django_db
@override_settings(EDITORIAL_PUBLIC_FROM="approved")
def test_index_holds_back_pending_articles_when_the_site_says_so(client, shelf):
    assert listed(client) == [("Approved about hearts?", "Approved"), ("Retracted about skin?", "Retracted")]


@pytest.mark.django_db
def test_index_searches_titles_and_filters_by_specialty_and_status(client, shelf):
    assert listed(client, "?q=HEARTS") == [
        ("Approved about hearts?", "Approved"),
        ("Submitted about hearts?", "Submitted"),
    ]
    assert listed(client, "?specialty=dermatology&status=under_review") == [
        ("Changes about skin?", "Under review"),
        ("Reviewed about skin?", "Under review"),
    ]
    assert listed(client, "?specialty=cardiology&status=approved") == [("Approved about hearts?", "Approved")]
    assert listed(client, "?specialty=nothing-like-this") == []
    assert listed(client, "?status=rejected") == []
    assert listed(client, "?q=%3Cscript%3E") == []


@pytest.mark.django_db
def test_index_shows_the_approved_title_while_an_update_is_reviewed(client, in_state, author):
    cardio = make_specialty("Cardiology", "cardiology")
    skin = make_specialty("Dermatology", "dermatology")
    article = in_state("approved", article=make_article(author, title="Old question?", specialty=cardio))
    article = services.article_revise(article=article, actor=author)
    services.article_update(
        article=article,
        expected_row_version=article.row_version,
        actor=author,
        fields={"title": "New question?", "specialty": skin},
        reason="Rewrite",
    )
    assert listed(client) == [("Old question?", "Approved")]
    assert "Update under review" not in client.get("/").content.decode()  # a draft nobody submitted yet
    services.article_submit(article=Article.objects.get(pk=article.pk), actor=author)
    clear_page_caches()
    assert listed(client) == [("Old question?", "Approved")]
    assert "Update under review" in client.get("/").content.decode()
    assert listed(client, "?q=new") == []
    assert listed(client, "?q=old&status=approved&specialty=cardiology") == [("Old question?", "Approved")]
    assert listed(client, "?specialty=dermatology") == []


#: Every place an article can stand, a first version or a revision of an approved one.
SITUATIONS = [
    ("submitted", None),
    ("under_review", None),
    ("ready", None),
    ("changes_requested", None),
    ("approved", None),
    ("retracted", None),
    ("revision", None),  # a revision draft, never submitted
    ("revision", "submitted"),
    ("revision", "under_review"),
    ("revision", "ready"),
    ("revision", "changes_requested"),
    ("revision", "approved"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("first", "then"), SITUATIONS)
def test_the_index_says_an_update_is_under_review_exactly_when_the_article_page_does(client, in_state, first, then):
    """One rule for the note (``reads.public.update_in_review``): the index once said it of a revision draft."""
    article = in_state(first)
    if then:
        article = in_state(then, article=article)
    clear_page_caches()
    index = client.get("/").content.decode()
    page = client.get(f"/articles/{article.slug}/")
    if page.status_code == 404:
        assert article.slug not in index
        return
    noted = "An update to this article is being reviewed" in page.content.decode()
    assert ("Update under review" in index) == noted
    assert noted == (first == "revision" and then in ("submitted", "under_review", "ready"))


@pytest.mark.django_db
def test_index_queries_do_not_grow_with_the_number_of_articles(client, in_state, author):
    def queries() -> int:
        clear_page_caches()
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/?specialty=cardiology").status_code == 200
        return len(captured)

    cardio = make_specialty("Cardiology", "cardiology")
    in_state("approved", article=make_article(author, title="One?", specialty=cardio))
    few = queries()
    for n in range(4):
        in_state("submitted", article=make_article(author, title=f"More {n}?", specialty=cardio))
    assert queries() == few <= 4


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["?q=" + "a" * 5000, "?q=%ff%fe", "?q=%01%1f", "?page=-1", "?page=999"])
def test_index_survives_odd_queries(client, in_state, query):
    in_state("submitted")
    assert client.get("/" + query).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["?q=%00", "?specialty=%00", "?status=%00x"])
def test_a_nul_character_is_a_400_in_the_readers_style(client, in_state, query):
    in_state("submitted")
    response = client.get("/" + query)
    assert response.status_code == 400
    assert "NUL" in response.content.decode() and "Reviewed <span>Medical</span> Answers" in response.content.decode()


@pytest.mark.django_db
def test_index_paginates(client, author):
    for n in range(27):
        services.article_submit(article=make_article(author, title=f"Question {n:02}?"), actor=author)
    assert len(listed(client)) == 25
    second = client.get("/?page=2").content.decode()
    assert "Question 26?" in second and 'rel="prev"' in second
    assert client.get("/?page=banana").status_code == 200


@pytest.mark.django_db
@override_settings(EDITORIAL_APPROVAL_QUORUM=3, EDITORIAL_REREVIEW_MONTHS=6, EDITORIAL_PUBLIC_FROM="approved")
def test_policy_states_the_rules_that_apply(client):
    html = client.get("/editorial-policy/").content.decode()
    assert "at least 3 board members have signed" in html
    assert "6 months after their approval" in html
    assert "does not count towards the 3 approvals" in html
    assert "It stays hidden from readers until it is approved." in html
    assert '<svg viewBox="0 0 420 540" role="img"' in html and '<title id="workflow-title">' in html
    assert "Conflicts of interest" in html


@pytest.mark.django_db
@override_settings(EDITORIAL_APPROVAL_QUORUM=1, EDITORIAL_REREVIEW_MONTHS=1)
def test_policy_reads_well_for_a_quorum_of_one(client):
    html = client.get("/editorial-policy/").content.decode()
    assert "at least 1 board member has signed" in html
    assert "1 month after their approval" in html
    assert "pending human review" in html, "the default shows articles from submission, with the banner"


@pytest.mark.django_db
def test_the_site_icon_is_where_browsers_look_for_it(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("editorial/favicon.svg")
