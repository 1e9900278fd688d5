"""The board's pages with stale or odd forms: every answer a refusal on the page
(a 4xx with its message) or a success; never a 500; a refusal writes nothing."""

import pytest
from django.urls import reverse

from editorial.models import AuditLink, Event
from editorial.workflow import board
from reviewers.models import REVIEW_BOXES, Invitation, Review

#: None of them the current version (" 1 " and "١" would be: int() reads both as 1).
ODD_VERSIONS = ["", "abc", "-1", "0", "99999999999999999999999999", "1e3", "7"]


def act(invitation, action):
    return reverse("admin:reviewers_invitation_act", args=[invitation.pk, action])


def written() -> tuple:
    return (Event.objects.count(), AuditLink.objects.count(), Invitation.history.count(), Review.objects.count())


def refused_or_done(client, url, data) -> int:
    before = written()
    response = client.post(url, data)
    assert response.status_code in (302, 400, 403, 404, 409), (url, data, response.status_code)
    if response.status_code != 302:
        assert written() == before, (url, data)
        assert b"errornote" in response.content or b"error" in response.content
    return response.status_code


@pytest.fixture
def round_open(in_state, editor, reviewers):
    article = in_state("submitted")
    invitations = board.invitation_create(article=article, actor=editor, reviewers=reviewers)
    board.invitation_accept(invitation=invitations[1], actor=invitations[1].reviewer, conflict="none")
    return article, [Invitation.objects.get(pk=i.pk) for i in invitations]


@pytest.mark.django_db
@pytest.mark.parametrize("version", ODD_VERSIONS)
def test_odd_row_versions_are_refused_as_stale(client, round_open, editor, version):
    _, (invited, accepted) = round_open
    client.force_login(invited.reviewer)
    assert refused_or_done(client, act(invited, "accept"), {"row_version": version, "conflict": "none"}) == 409
    assert refused_or_done(client, act(invited, "decline"), {"row_version": version, "reason": "Busy"}) == 409
    client.force_login(accepted.reviewer)
    review = {"row_version": version, "recommendation": "approve", "password": "pw"}
    review |= {field: "on" for field in REVIEW_BOXES}
    assert refused_or_done(client, act(accepted, "review"), review) == 409
    client.force_login(editor)
    assert refused_or_done(client, act(invited, "cancel"), {"row_version": version, "reason": "No"}) == 409


@pytest.mark.django_db
def test_a_form_read_before_the_round_closed(client, round_open, editor):
    """The reviewer's review form, read before the editor rejected the article: refused, nothing written."""
    from editorial.workflow import services

    article, (invited, accepted) = round_open
    seen = accepted.row_version
    services.article_reject(article=type(article).objects.get(pk=article.pk), actor=editor, reason="Out of scope.")
    client.force_login(accepted.reviewer)
    review = {"row_version": seen, "recommendation": "approve", "password": "pw"}
    review |= {field: "on" for field in REVIEW_BOXES}
    assert refused_or_done(client, act(accepted, "review"), review) == 409
    client.force_login(invited.reviewer)
    refused_or_done(client, act(invited, "accept"), {"row_version": invited.row_version, "conflict": "none"})
    refused_or_done(client, act(invited, "decline"), {"row_version": invited.row_version, "reason": "x"})


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        {"conflict": "declared", "conflict_description": "   "},
        {"conflict": "maybe"},
        {"conflict": "none", "row_version": ["1", "2"]},
        {"conflict": "declared", "conflict_description": "x" * 100_000},
    ],
)
def test_odd_acceptances(client, round_open, data):
    _, (invited, _) = round_open
    client.force_login(invited.reviewer)
    refused_or_done(client, act(invited, "accept"), {"row_version": invited.row_version, **data})


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        {"recommendation": "approve", "password": ""},
        {"recommendation": "approve", "password": "wrong"},
        {"recommendation": "nonsense"},
        {"recommendation": "reject", "comments_to_author": "x" * 200_000},
        {"recommendation": "minor_revisions", "claims_accurate": "yes"},
    ],
)
def test_odd_reviews(client, round_open, data):
    _, (_, accepted) = round_open
    client.force_login(accepted.reviewer)
    refused_or_done(client, act(accepted, "review"), {"row_version": accepted.row_version, **data})


@pytest.mark.django_db
def test_a_mistyped_password_on_a_closed_round_is_no_failed_signature(client, round_open, editor):
    """A reviewer whose round was closed meanwhile (the editor rejected) and who mistypes the
    password is told the round is closed (409), and no failed signature is counted towards their
    lockout: the wrong moment is refused before the password is read, as ``article_approve``
    does (a refusal that has nothing to do with the password is no failed signature)."""
    from editorial.workflow import services
    from reviewers.models import FailedSignatureAttempt

    article, (_, accepted) = round_open
    services.article_reject(article=type(article).objects.get(pk=article.pk), actor=editor, reason="Out of scope.")
    client.force_login(accepted.reviewer)
    review = {"row_version": accepted.row_version, "recommendation": "approve", "password": "typo"}
    review |= {field: "on" for field in REVIEW_BOXES}
    status = refused_or_done(client, act(accepted, "review"), review)
    assert not FailedSignatureAttempt.objects.exists()
    assert status == 409
