"""The board's steps through the API with odd input: every answer a 4xx with a message, or a
success; never a 500, and a refusal writes nothing.

A lone surrogate (``"\\ud800"``, valid JSON that no UTF-8 text can hold) was a 500 where a
field's error echoed it (a ChoiceField, the unknown-checklist-items message): the parser now
refuses it in any string or key (``editorial.api.parsers``).
"""

import json

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from editorial.models import AuditLink, Event
from editorial.workflow import board
from reviewers.models import Invitation, Review

LONE_SURROGATE = "\ud800"  # valid in JSON ("\\ud800"), not encodable as UTF-8


def client_of(user) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=user)[1]}")
    return client


def written() -> tuple:
    return (
        Event.objects.count(),
        AuditLink.objects.count(),
        Invitation.history.count(),
        Review.objects.count(),
        Invitation.objects.count(),
    )


@pytest.fixture
def round_open(in_state, editor, reviewers):
    article = in_state("submitted")
    invitations = board.invitation_create(article=article, actor=editor, reviewers=reviewers)
    board.invitation_accept(invitation=invitations[1], actor=invitations[1].reviewer, conflict="none")
    return article, invitations


def answer_of(client, url, body):
    before = written()
    # Sent as JSON text with escapes, as any client may (\ud800 is valid JSON).
    response = client.post(url, json.dumps(body), content_type="application/json")
    assert response.status_code != 500, (url, body, response.content[:300])
    if 400 <= response.status_code < 500:
        assert response.json().get("detail") or response.json().get("fields"), response.content[:300]
        assert written() == before, (url, body)  # a refusal writes nothing
    return response.status_code


ODD_TEXT = [LONE_SURROGATE, "x" * 100_000, ["a list"], {"a": "dict"}, 12, None, True]


@pytest.mark.django_db
@pytest.mark.parametrize("odd", ODD_TEXT, ids=["surrogate", "huge", "list", "dict", "int", "null", "bool"])
def test_decline_cancel_accept_with_odd_text(round_open, editor, odd):
    article, invitations = round_open
    invited = invitations[0]
    member = client_of(invited.reviewer)
    answer_of(member, f"/api/v1/invitations/{invited.pk}/decline/", {"reason": odd})
    answer_of(member, f"/api/v1/invitations/{invited.pk}/accept/", {"conflict": "declared", "description": odd})
    answer_of(member, f"/api/v1/invitations/{invited.pk}/accept/", {"conflict": odd})
    answer_of(client_of(editor), f"/api/v1/invitations/{invited.pk}/cancel/", {"reason": odd})


@pytest.mark.django_db
@pytest.mark.parametrize("odd", ODD_TEXT, ids=["surrogate", "huge", "list", "dict", "int", "null", "bool"])
def test_review_with_odd_input(round_open, odd):
    article, invitations = round_open
    accepted = invitations[1]
    member = client_of(accepted.reviewer)
    url = f"/api/v1/invitations/{accepted.pk}/review/"
    answer_of(member, url, {"recommendation": "minor_revisions", "comments_to_author": odd})
    answer_of(member, url, {"recommendation": "minor_revisions", "confidential_comments": odd})
    answer_of(member, url, {"recommendation": odd})
    answer_of(member, url, {"recommendation": "minor_revisions", "checklist": odd})
    answer_of(member, url, {"recommendation": "approve", "checklist": {"x": odd}, "password": "pw"})
    answer_of(member, url, {"recommendation": "approve", "password": odd})
    answer_of(member, url, {"recommendation": "minor_revisions", "checklist": {str(odd)[:10]: True}})


@pytest.mark.django_db
@pytest.mark.parametrize("odd", ODD_TEXT, ids=["surrogate", "huge", "list", "dict", "int", "null", "bool"])
def test_invite_with_odd_input(round_open, editor, board_member, odd):
    article, _ = round_open
    client = client_of(editor)
    answer_of(
        client, "/api/v1/invitations/", {"article": article.pk, "reviewers": [board_member.username], "reason": odd}
    )
    answer_of(client, "/api/v1/invitations/", {"article": article.pk, "reviewers": [odd]})
    answer_of(client, "/api/v1/invitations/", {"article": odd, "reviewers": [board_member.username]})
    answer_of(
        client,
        "/api/v1/invitations/",
        {"article": article.pk, "reviewers": [board_member.username], "respond_by": odd},
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "respond_by, due_at",
    [
        ("9999-12-31T23:59:59Z", None),
        ("9999-12-31T00:00:00Z", "9999-12-31T23:59:59Z"),
        ("0001-01-01T00:00:00Z", None),
        ("2030-01-01T00:00:00", "2030-01-02T00:00:00"),  # naive
    ],
)
def test_invite_with_extreme_dates(round_open, editor, board_member, respond_by, due_at):
    article, _ = round_open
    body = {"article": article.pk, "reviewers": [board_member.username], "respond_by": respond_by}
    if due_at:
        body["due_at"] = due_at
    answer_of(client_of(editor), "/api/v1/invitations/", body)


@pytest.mark.django_db
def test_a_transition_named_with_a_lone_surrogate_is_a_400(in_state, editor):
    """The transitions endpoint's ChoiceField would echo it in its error: refused where the body is read."""
    article = in_state("submitted")
    body = {"transition": LONE_SURROGATE, "row_version": article.row_version, "reason": "x"}
    answer_of(client_of(editor), f"/api/v1/articles/{article.pk}/transitions/", body)


@pytest.mark.django_db
def test_a_checklist_item_named_with_a_lone_surrogate_is_a_400(round_open):
    """The unknown-items message would name the key it was sent: refused where the body is read."""
    _, invitations = round_open
    accepted = invitations[1]
    body = {"recommendation": "minor_revisions", "checklist": {LONE_SURROGATE: True}}
    answer_of(client_of(accepted.reviewer), f"/api/v1/invitations/{accepted.pk}/review/", body)
