"""The API: same policy, same services, errors as 403 / 409 / 400 with the reason."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from articles.models import Article
from tests.factories import make_article


@pytest.fixture
def api():
    return APIClient()


def transition(api, article, name, reason="", row_version=None):
    return api.post(
        f"/api/v1/articles/{article.pk}/transitions/",
        {
            "transition": name,
            "reason": reason,
            "row_version": article.row_version if row_version is None else row_version,
        },
        format="json",
    )


@pytest.mark.django_db
def test_a_drafting_pipeline_creates_and_submits_with_a_token(api, author):
    token = Token.objects.create(user=author)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = api.post(
        "/api/v1/articles/",
        {
            "title": "What is the first-line treatment for scabies?",
            "summary": "Topical permethrin for the patient and close contacts.",
            "body": "Treat everyone in the household at once [1].",
            "patient_body": "Everyone you live with should be treated on the same day [1].",
            "references": [{"title": "Scabies guideline", "year": 2021}],
            "change_reason": "Drafted by the pipeline",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft" and body["references"][0]["number"] == 1
    assert body["available_transitions"] == ["submit", "withdraw"]
    article = Article.objects.get(pk=body["id"])
    assert article.history.get().history_change_reason == "Drafted by the pipeline"

    submitted = transition(api, article, "submit")
    assert submitted.status_code == 200, submitted.json()
    assert submitted.json()["status"] == "submitted"


@pytest.mark.django_db
def test_api_errors_say_which_refusal_it_was(api, author, editor, in_state):
    article = in_state("submitted")
    api.force_authenticate(author)
    wrong_person = transition(api, article, "approve")
    assert wrong_person.status_code == 403 and wrong_person.json()["code"] == "not_permitted"

    api.force_authenticate(editor)
    wrong_state = transition(api, article, "approve")
    assert wrong_state.status_code == 409 and wrong_state.json()["code"] == "wrong_state"

    stale = transition(api, article, "start_review", row_version=article.row_version - 1)
    assert stale.status_code == 409 and stale.json()["code"] == "stale"

    no_reason = transition(api, article, "reject")
    assert no_reason.status_code == 400 and no_reason.json()["code"] == "reason_required"

    assert Article.objects.get(pk=article.pk).status == "submitted"


@pytest.mark.django_db
def test_api_hides_other_authors_articles(api, author, other_author):
    theirs = make_article(other_author)
    api.force_authenticate(author)
    assert api.get(f"/api/v1/articles/{theirs.pk}/").status_code == 404
    assert transition(api, theirs, "withdraw", reason="x").status_code == 404
    assert api.patch(f"/api/v1/articles/{theirs.pk}/", {"summary": "x"}, format="json").status_code == 404
    assert api.get("/api/v1/articles/").json()["count"] == 0


@pytest.mark.django_db
def test_api_content_edit_refused_outside_editable_states(api, author, in_state):
    article = in_state("under_review")
    api.force_authenticate(author)
    response = api.patch(f"/api/v1/articles/{article.pk}/", {"summary": "Sneaky"}, format="json")
    assert response.status_code == 403
    assert Article.objects.get(pk=article.pk).summary != "Sneaky"


@pytest.mark.django_db
def test_api_history_lists_transitions(api, editor, in_state):
    article = in_state("approved")
    api.force_authenticate(editor)
    history = api.get(f"/api/v1/articles/{article.pk}/history/").json()
    assert [row["transition"] for row in history] == ["submit", "start_review", "approve"]


@pytest.mark.django_db
def test_anonymous_gets_nothing(api, in_state):
    article = in_state("approved")
    assert api.get("/api/v1/articles/").status_code in (401, 403)
    assert transition(api, article, "retract", reason="x").status_code in (401, 403)


@pytest.mark.django_db
def test_openapi_schema_is_served(api):
    response = api.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/articles/{id}/transitions/" in response.content


@pytest.mark.django_db
def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"
