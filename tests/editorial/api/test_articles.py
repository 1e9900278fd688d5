"""The API: same policy, same services, errors as 403 / 409 / 400 with the reason."""

import pytest
from knox.models import AuthToken
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
    _, token = AuthToken.objects.create(user=author)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
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
    response = api.patch(
        f"/api/v1/articles/{article.pk}/",
        {"summary": "Sneaky"},
        format="json",
        HTTP_IF_MATCH=f'"{article.row_version}"',
    )
    assert response.status_code == 403
    assert Article.objects.get(pk=article.pk).summary != "Sneaky"


@pytest.mark.django_db
def test_api_history_lists_transitions(api, editor, in_state):
    article = in_state("approved")
    api.force_authenticate(editor)
    history = api.get(f"/api/v1/articles/{article.pk}/history/").json()
    assert history["count"] == 3
    assert [row["transition"] for row in history["results"]] == ["submit", "start_review", "approve"]


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


# --- Optimistic concurrency, HTTP's way: ETag, If-Match, 428 and 412 -------------------------------


def url(article) -> str:
    return f"/api/v1/articles/{article.pk}/"


@pytest.mark.django_db
def test_a_stale_put_without_if_match_is_refused_and_the_first_change_stands(api, author, editor):
    """The reproduction: two people load the article; one saves; the other PUTs their stale copy."""
    article = make_article(author)
    api.force_authenticate(author)
    first = api.get(url(article))
    api.force_authenticate(editor)
    second = api.get(url(article))
    assert first["ETag"] == second["ETag"] == f'"{article.row_version}"'

    api.force_authenticate(author)
    saved = api.patch(url(article), {"summary": "The author's change."}, format="json", HTTP_IF_MATCH=first["ETag"])
    assert saved.status_code == 200, saved.json()
    assert saved["ETag"] == f'"{article.row_version + 1}"'

    api.force_authenticate(editor)
    stale_copy = {key: second.json()[key] for key in ("title", "summary", "body", "patient_body")}
    without = api.put(url(article), stale_copy, format="json")
    assert without.status_code == 428 and "If-Match" in without.json()["detail"]
    stale = api.put(url(article), stale_copy, format="json", HTTP_IF_MATCH=second["ETag"])
    assert stale.status_code == 412
    assert stale.json()["row_version"] == article.row_version + 1 and stale.json()["etag"] == saved["ETag"]
    assert Article.objects.get(pk=article.pk).summary == "The author's change."


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["", "*", 'W/"1"', '"not-a-version"', '"99999999999999999999"'])
def test_patch_needs_an_if_match_naming_the_current_version(api, author, header):
    article = make_article(author)
    api.force_authenticate(author)
    extra = {"HTTP_IF_MATCH": header} if header else {}
    response = api.patch(url(article), {"summary": "Changed."}, format="json", **extra)
    assert response.status_code == (428 if not header else 412), response.json()
    assert Article.objects.get(pk=article.pk).summary == article.summary


@pytest.mark.django_db
def test_if_match_may_list_several_tags(api, author):
    article = make_article(author)
    api.force_authenticate(author)
    response = api.patch(
        url(article), {"summary": "Changed."}, format="json", HTTP_IF_MATCH=f'"0", "{article.row_version}"'
    )
    assert response.status_code == 200


@pytest.mark.django_db
def test_visibility_and_permission_are_decided_before_the_version(api, author, other_author, auditor, in_state):
    """Nobody learns the version of an article they may not see (404) or edit (403)."""
    theirs = make_article(other_author)
    api.force_authenticate(author)
    hidden = api.patch(url(theirs), {"summary": "x"}, format="json")
    assert hidden.status_code == 404 and "row_version" not in hidden.json()
    api.force_authenticate(auditor)
    refused = api.patch(url(theirs), {"summary": "x"}, format="json")
    assert refused.status_code == 403 and "row_version" not in refused.json()


@pytest.mark.django_db
def test_the_body_cannot_set_the_version(api, author):
    article = make_article(author)
    api.force_authenticate(author)
    response = api.patch(
        url(article), {"summary": "x", "row_version": 1000}, format="json", HTTP_IF_MATCH=f'"{article.row_version}"'
    )
    assert response.status_code == 200 and response.json()["row_version"] == article.row_version + 1


@pytest.mark.django_db
def test_lists_carry_no_texts(api, author):
    make_article(author, body="A long text [1].")
    api.force_authenticate(author)
    row = api.get("/api/v1/articles/").json()["results"][0]
    assert "body" not in row and "patient_body" not in row and "row_version" in row


@pytest.mark.django_db
def test_format_suffixes_and_odd_ids_answer_4xx_as_json(api, editor, in_state):
    article = in_state("approved")
    api.force_authenticate(editor)
    assert api.get(f"/api/v1/articles/{article.pk}/history.json").status_code == 200
    for path in ("/api/v1/articles/false/transitions/", "/api/v1/articles/99999999999999999999/transitions/"):
        response = api.post(path, {"transition": "retract", "reason": "x", "row_version": 1}, format="json")
        assert response.status_code == 404 and response["Content-Type"].startswith("application/json")
    assert api.get("/api/v1/articles/false/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body", [{"specialty": "card\u0000iology"}, {"references": [{"title": "a\u0000b"}]}, {"t\u0000": 1}]
)
def test_a_nul_anywhere_in_a_json_body_is_a_400(api, author, body):
    """The reproduction: a NUL in a related field's slug reached the database before anything checked it."""
    article = make_article(author)
    api.force_authenticate(author)
    response = api.patch(url(article), body, format="json", HTTP_IF_MATCH=f'"{article.row_version}"')
    assert response.status_code == 400 and "NUL" in response.json()["detail"]
    assert Article.objects.get(pk=article.pk).row_version == article.row_version
