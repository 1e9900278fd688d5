"""The whole workflow through the API: draft, submit, invite, accept, review, decide, inbox, tokens."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_otp.plugins.otp_static.models import StaticDevice
from knox.models import AuthToken
from rest_framework.test import APIClient

from editorial.models import Notification
from reviewers.models import Invitation, Signature
from tests.conftest import ALL_TICKED
from tests.editorial.notifications.test_notifications import deliver_all
from tests.factories import make_article


def as_(user) -> APIClient:
    client = APIClient(REMOTE_ADDR="127.0.0.1")
    client.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=user)[1]}")
    return client


def ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.content[:500])
    return response.json() if response.content else None


@pytest.mark.django_db
def test_a_machine_draft_goes_from_submission_to_a_decision_through_the_api(author, editor, reviewers):
    pipeline, chief = as_(author), as_(editor)
    article = ok(
        pipeline.post(
            "/api/v1/articles/",
            {
                "title": "What is the first-line treatment for scabies?",
                "summary": "Topical permethrin.",
                "body": "## From the Guidelines\n\nTreat everyone at once [1].",
                "patient_body": "Everyone you live with is treated on the same day [1].",
                "references": [{"title": "Scabies guideline", "authors": "Doe J", "year": 2021}],
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY="pipeline-run-1",
        ),
        201,
    )
    url = f"/api/v1/articles/{article['id']}"
    allowed = ok(pipeline.get(f"{url}/transitions/"))
    assert [t["name"] for t in allowed] == ["submit", "withdraw"]
    assert allowed[1] == {"name": "withdraw", "label": "Withdraw", "reason": "required", "signature": False}
    ok(pipeline.post(f"{url}/transitions/", {"transition": "submit", "row_version": article["row_version"]}))

    invited = ok(
        chief.post(
            "/api/v1/invitations/",
            {"article": article["id"], "reviewers": [r.username for r in reviewers], "reason": "Dermatology"},
            format="json",
        ),
        201,
    )
    assert [i["reviewer"] for i in invited] == ["reviewer1", "reviewer2"]
    for invitation, reviewer in zip(invited, reviewers, strict=True):
        member = as_(reviewer)
        mine = ok(member.get("/api/v1/invitations/"))["results"]
        assert [i["id"] for i in mine] == [invitation["id"]]
        ok(member.post(f"/api/v1/invitations/{invitation['id']}/accept/", {"conflict": "none"}, format="json"))
        unsigned = member.post(
            f"/api/v1/invitations/{invitation['id']}/review/",
            {"recommendation": "approve", "checklist": ALL_TICKED},
            format="json",
        )
        assert unsigned.status_code == 400 and unsigned.json()["code"] == "password_required"
        review = ok(
            member.post(
                f"/api/v1/invitations/{invitation['id']}/review/",
                {"recommendation": "approve", "checklist": ALL_TICKED, "password": "pw", "confidential_comments": "ok"},
                format="json",
            ),
            201,
        )
        assert review["signed"] and review["confidential_comments"] == "ok"

    current = ok(chief.get(f"{url}/"))
    assert "approve" in [t["name"] for t in ok(chief.get(f"{url}/transitions/"))]
    wrong = chief.post(
        f"{url}/transitions/", {"transition": "approve", "row_version": current["row_version"], "password": "nope"}
    )
    assert wrong.status_code == 403 and wrong.json()["code"] == "signature_refused"
    signed = {"transition": "approve", "row_version": current["row_version"], "password": "pw"}
    decided = ok(chief.post(f"{url}/transitions/", signed))
    assert decided["status"] == "approved"
    assert Signature.objects.filter(article_id=article["id"]).count() == 3

    letters = ok(pipeline.get(f"{url}/letters/"))
    assert [(x["decision"], x["round"]) for x in letters] == [("approved", 1)]
    assert letters[0]["letter"].startswith("Decision on round 1") and "Priya Raman" in letters[0]["letter"]
    assert ok(as_(reviewers[0]).get(f"{url}/letters/")) == []  # the workspace shows them no letters either

    history = ok(pipeline.get(f"{url}/history/"))
    assert [r["to_status"] for r in history["results"]][-1] == "approved"
    assert history["count"] == len(history["results"])
    # The author hears of the decision in the inbox (delivered as the worker would), and reads it.
    deliver_all()
    entries = ok(pipeline.get("/api/v1/inbox/?unread=true"))["results"]
    assert entries[0]["kind"] == "article.decision" and entries[0]["article"] == article["id"]
    assert not entries[0]["read"]
    assert ok(pipeline.post("/api/v1/inbox/read/", {"ids": [entries[0]["id"]]}, format="json")) == {"marked": 1}
    assert ok(pipeline.get("/api/v1/inbox/?unread=true"))["count"] == len(entries) - 1


@pytest.mark.django_db
def test_the_inbox_reads_in_a_fixed_number_of_queries(author, in_state):
    pipeline = as_(author)
    in_state("approved")
    in_state("rejected")
    deliver_all()
    assert Notification.objects.filter(recipient=author, channel="inbox").count() >= 2
    with CaptureQueriesContext(connection) as queries:
        ok(pipeline.get("/api/v1/inbox/"))
    assert len(queries) <= 6, [q["sql"] for q in queries.captured_queries]


@pytest.mark.django_db
def test_the_caller_lists_makes_and_revokes_their_own_tokens(author, other_author):
    pipeline = as_(author)
    theirs = AuthToken.objects.create(user=other_author)[0]
    listed = ok(pipeline.get("/api/v1/tokens/"))
    assert [t["token_key"] for t in listed] == [t.token_key for t in AuthToken.objects.filter(user=author)]
    refused = pipeline.post("/api/v1/tokens/", {"code": "000000"}, format="json")
    assert refused.status_code == 403 and "second factor" in refused.json()["detail"]
    device = StaticDevice.objects.create(user=author, name="backup", confirmed=True)
    device.token_set.create(token="demo0001")
    made = ok(pipeline.post("/api/v1/tokens/", {"code": "demo0001"}, format="json"), 201)
    used = pipeline.post("/api/v1/tokens/", {"code": "demo0001"}, format="json")
    assert used.status_code == 403 and "not accepted" in used.json()["detail"]
    assert made["token"].startswith(made["token_key"])
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Token {made['token']}")
    assert fresh.get("/api/v1/articles/").status_code == 200
    assert pipeline.delete(f"/api/v1/tokens/{theirs.token_key}/").status_code == 404
    assert AuthToken.objects.filter(pk=theirs.pk).exists()
    assert pipeline.delete(f"/api/v1/tokens/{made['token_key']}/").status_code == 204
    assert fresh.get("/api/v1/articles/").status_code == 401


@pytest.mark.django_db
def test_invitations_by_idempotency_key_are_made_once(editor, reviewers, in_state):
    article = in_state("submitted")
    chief = as_(editor)
    body = {"article": article.pk, "reviewers": [reviewers[0].username]}
    first = ok(chief.post("/api/v1/invitations/", body, format="json", HTTP_IDEMPOTENCY_KEY="inv-1"), 201)
    again = chief.post("/api/v1/invitations/", body, format="json", HTTP_IDEMPOTENCY_KEY="inv-1")
    assert again.status_code == 201 and again.json() == first and again["Idempotent-Replayed"] == "true"
    assert Invitation.objects.filter(article=article).count() == 1


@pytest.mark.django_db
def test_invitation_input_is_checked(editor, reviewers, author, in_state):
    article = in_state("submitted")
    chief = as_(editor)
    unknown = chief.post("/api/v1/invitations/", {"article": article.pk, "reviewers": ["nobody"]}, format="json")
    assert unknown.status_code == 400 and "nobody" in str(unknown.json()["fields"])
    not_board = chief.post("/api/v1/invitations/", {"article": article.pk, "reviewers": ["author"]}, format="json")
    assert not_board.status_code == 400 and not_board.json()["code"] == "ineligible"
    draft = make_article(author)
    wrong_state = chief.post(
        "/api/v1/invitations/", {"article": draft.pk, "reviewers": [reviewers[0].username]}, format="json"
    )
    assert wrong_state.status_code == 409
    assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_the_invitation_list_reads_in_a_fixed_number_of_queries(author, editor, reviewers, in_state):
    chief = as_(editor)
    in_state("ready")
    ok(chief.get("/api/v1/invitations/"))  # the token's first use is recorded once
    with CaptureQueriesContext(connection) as few:
        ok(chief.get("/api/v1/invitations/"))
    in_state("ready", make_article(author, title="Another question?"))
    with CaptureQueriesContext(connection) as more:
        listed = ok(chief.get("/api/v1/invitations/"))
    assert listed["count"] == 4 and all(i["review"] for i in listed["results"])
    assert len(more) == len(few) <= 8, [q["sql"] for q in more.captured_queries]
