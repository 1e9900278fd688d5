"""The Medical Advisory Board: invitations, competing interests, reviews, signatures, rounds."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from articles import content
from articles.models import Article
from editorial.models import Event, EventKind
from editorial.reads import worklists
from editorial.reads.rounds import suggest_reviewers
from editorial.workflow import board, services
from editorial.workflow.approval import approval_status
from editorial.workflow.exceptions import (
    Ineligible,
    NotPermitted,
    NotReady,
    ReasonRequired,
    SignatureRefused,
    StaleArticle,
    WrongState,
)
from editorial.workflow.invitations import create_invitations
from reviewers.models import FailedSignatureAttempt, Invitation, Review, Signature
from tests.conftest import ALL_TICKED, review_round
from tests.factories import make_article, make_board_member, make_specialty, signing_request


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def review(invitation, recommendation="approve", **kwargs):
    defaults = {
        "comments_to_author": "To the author.",
        "confidential_comments": "Just for the editor.",
        "password": "pw",
        "checklist": ALL_TICKED,
        "request": signing_request(),
    }
    return board.review_submit(
        invitation=fresh(invitation), actor=invitation.reviewer, recommendation=recommendation, **{**defaults, **kwargs}
    )


@pytest.fixture
def submitted(in_state):
    return in_state("submitted")


# --- Invitations -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_invitation_lifecycle_invited_accepted_completed(submitted, editor, reviewers):
    first = board.invitation_create(article=submitted, actor=editor, reviewers=reviewers[:1])[0]
    assert first.status == "invited" and first.review_round == 1
    accepted = board.invitation_accept(invitation=first, actor=reviewers[0], conflict="none")
    assert accepted.status == "accepted"
    assert fresh(submitted).status == "under_review"  # the first acceptance starts the review
    review(accepted)
    done = fresh(first)
    assert done.status == "completed" and done.completed_at is not None
    rows = list(done.history.order_by("history_date", "history_id"))
    assert [(r.status, r.history_user.username) for r in rows] == [
        ("invited", "editor"),
        ("accepted", "reviewer1"),
        ("completed", "reviewer1"),
    ]
    assert all(r.history_change_reason for r in rows)


@pytest.mark.django_db
def test_decline_needs_a_reason_and_is_final(submitted, editor, reviewers):
    invitation = board.invitation_create(article=submitted, actor=editor, reviewers=reviewers[:1])[0]
    with pytest.raises(ReasonRequired):
        board.invitation_decline(invitation=invitation, actor=reviewers[0], reason=" ")
    declined = board.invitation_decline(invitation=invitation, actor=reviewers[0], reason="On leave")
    assert (declined.status, declined.decline_reason) == ("declined", "On leave")
    with pytest.raises(WrongState, match="declined"):
        board.invitation_accept(invitation=declined, actor=reviewers[0], conflict="none")
    assert fresh(submitted).status == "submitted"


@pytest.mark.django_db
def test_expiry_after_the_respond_by_date_only(submitted, editor, reviewers):
    on_time = board.invitation_create(article=submitted, actor=editor, reviewers=reviewers[:1])[0]
    with pytest.raises(WrongState, match="can still be answered"):
        board.invitation_expire(invitation=on_time)
    past = timezone.now() - timedelta(days=1)
    late = create_invitations(
        article=submitted,
        reviewers=reviewers[1:],
        invited_by=editor,
        actor=editor,
        respond_by=past,
        due_at=past + timedelta(days=14),
        reason="old",
    )[0]
    with pytest.raises(WrongState, match="respond-by date"):
        board.invitation_accept(invitation=late, actor=reviewers[1], conflict="none")
    expired = board.invitation_expire(invitation=late)
    assert expired.status == "expired"
    assert expired.history.latest("history_date").history_user.username == "editorial-system"


@pytest.mark.django_db
def test_cancel_by_the_editor_closes_the_invitation(submitted, editor, reviewers):
    invitation = board.invitation_create(article=submitted, actor=editor, reviewers=reviewers[:1])[0]
    with pytest.raises(NotPermitted):
        board.invitation_cancel(invitation=invitation, actor=reviewers[0], reason="x")
    cancelled = board.invitation_cancel(invitation=invitation, actor=editor, reason="Enough reviewers")
    assert cancelled.status == "cancelled"
    with pytest.raises(WrongState):
        board.invitation_accept(invitation=cancelled, actor=reviewers[0], conflict="none")


@pytest.mark.django_db
def test_invitations_refuse_the_author_non_members_and_duplicates(submitted, editor, author, reviewers, other_author):
    inactive = make_board_member("retired", "Old Member", "MD")
    inactive.reviewer_profile.is_active = False
    inactive.reviewer_profile._history_user, inactive.reviewer_profile._change_reason = editor, "Retired"
    inactive.reviewer_profile.save()
    for person, message in [
        (author, "wrote this article"),
        (other_author, "not an active member"),
        (inactive, "not an active member"),
    ]:
        with pytest.raises(Ineligible, match=message) as refused:
            board.invitation_create(article=submitted, actor=editor, reviewers=[person])
        assert refused.value.http_status == (409 if "member" in message else 400)  # no longer on the board: 409
    board.invitation_create(article=submitted, actor=editor, reviewers=reviewers[:1])
    with pytest.raises(Ineligible, match="already invited"):
        board.invitation_create(article=submitted, actor=editor, reviewers=reviewers)
    assert Invitation.objects.filter(article=submitted).count() == 1  # nothing half-written
    with pytest.raises(NotPermitted):
        board.invitation_create(article=submitted, actor=reviewers[1], reviewers=[reviewers[1]])


@pytest.mark.django_db
def test_invitations_only_while_submitted_or_under_review(in_state, editor, reviewers):
    for state in ("draft", "approved", "changes_requested"):
        with pytest.raises(WrongState):
            board.invitation_create(article=in_state(state), actor=editor, reviewers=reviewers[:1])


@pytest.mark.django_db
def test_suggestions_rank_by_specialty_then_load_and_mark_conflicts_last(author, editor):
    """Issue 12: a member who declared competing interests vanished from the list without a word."""
    hips = make_specialty("Hips", "hips")
    article = services.article_submit(article=make_article(author, specialty=hips), actor=author)
    busy_match = make_board_member("busy", "Busy Match", "MD", specialties=[hips])
    make_board_member("free", "Free Match", "MD", specialties=[hips])
    other = make_board_member("other", "No Match", "MD")
    conflicted = make_board_member("conflicted", "Conflicted", "MD", specialties=[hips])
    elsewhere = services.article_submit(article=make_article(author, title="Else?"), actor=author)
    board.invitation_create(article=elsewhere, actor=editor, reviewers=[busy_match])
    invitation = board.invitation_create(article=article, actor=editor, reviewers=[conflicted])[0]
    board.invitation_accept(invitation=invitation, actor=conflicted, conflict="declared", description="Shares")
    board.invitation_cancel(invitation=fresh(invitation), actor=editor, reason="Conflict")
    with CaptureQueriesContext(connection) as queries:
        suggestions = suggest_reviewers(fresh(article))
        names = [s.profile.printed_name for s in suggestions]
    assert names == ["Free Match", "Busy Match", "No Match", "Conflicted"]
    assert [s.declared for s in suggestions] == [None, None, None, (1, "Shares")]
    assert len(queries) <= 3
    with pytest.raises(Ineligible, match="declared competing interests on this article \\(round 1: “Shares”\\)"):
        board.invitation_create(article=fresh(article), actor=editor, reviewers=[conflicted])
    again = board.invitation_create(
        article=fresh(article), actor=editor, reviewers=[conflicted], conflict_override="Only one in the field."
    )[0]
    assert "invited despite declared competing interests of" in again.history.latest().history_change_reason
    assert "Only one in the field." in again.history.latest().history_change_reason
    assert other  # ranked after the matches: no specialty match


# --- Reviews and signatures ---------------------------------------------------------------------


@pytest.mark.django_db
def test_wrong_password_signs_nothing_and_is_recorded(in_state, reviewers):
    article = in_state("under_review")
    invitation = Invitation.objects.get(article=article, status="accepted")
    with pytest.raises(SignatureRefused):
        review(invitation, password="wrong", request=signing_request())
    assert not Review.objects.exists() and not Signature.objects.exists()
    assert fresh(invitation).status == "accepted"
    attempt = FailedSignatureAttempt.objects.get()
    assert (attempt.user, attempt.article_id) == (invitation.reviewer, article.pk)


@pytest.mark.django_db
def test_signature_keeps_the_hash_of_the_exact_text_and_the_signer_as_printed(in_state, reviewers):
    article = in_state("under_review")
    invitation = Invitation.objects.get(article=article, status="accepted")
    signature = review(invitation).signature
    version = fresh(article).current_version
    assert signature.content_hash == version.content_hash
    assert signature.content_hash == content.content_hash(content.snapshot(article, article.references.all()))
    assert (signature.printed_name, signature.credentials) == ("Priya Raman", "MD")
    assert signature.get_meaning_display() == "Approved as medically accurate"
    assert signature.signed_at is not None
    # The printed name is kept as it was: a later change of profile does not rewrite it.
    profile = invitation.reviewer.reviewer_profile
    profile.printed_name, profile._history_user, profile._change_reason = "Priya Raman-Smith", profile.user, "Name"
    profile.save()
    assert fresh(signature).printed_name == "Priya Raman"


@pytest.mark.django_db
def test_review_refused_on_cancelled_invitations_and_twice_in_a_round(in_state, editor, reviewers):
    article = in_state("under_review")
    accepted = Invitation.objects.get(article=article, status="accepted")
    review(accepted, "minor_revisions")
    with pytest.raises(WrongState, match="already reviewed"):
        review(accepted, "approve")
    other = Invitation.objects.get(article=article, status="invited")
    board.invitation_cancel(invitation=other, actor=editor, reason="Not needed")
    with pytest.raises(WrongState, match="cancelled"):
        review(other, "approve")
    assert Review.objects.count() == 1


@pytest.mark.django_db
def test_only_the_invited_member_reviews(in_state, reviewers, board_member, editor):
    article = in_state("under_review")
    invitation = Invitation.objects.get(article=article, status="accepted")
    for intruder in (reviewers[1], board_member, editor):
        with pytest.raises(NotPermitted):
            board.review_submit(invitation=fresh(invitation), actor=intruder, recommendation="reject")
    assert not Review.objects.exists()


@pytest.mark.django_db
def test_stale_invitation_copy_is_refused(submitted, editor, reviewers):
    invitation = board.invitation_create(article=submitted, actor=editor, reviewers=reviewers[:1])[0]
    stale = fresh(invitation)
    board.invitation_accept(invitation=invitation, actor=reviewers[0], conflict="none")
    with pytest.raises(StaleArticle, match="changed meanwhile"):
        board.invitation_decline(invitation=stale, actor=reviewers[0], reason="Changed my mind")
    assert fresh(invitation).status == "accepted"


# --- The approval rule ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_quorum_not_reached_then_reached(in_state, editor):
    article = in_state("under_review")
    with pytest.raises(NotReady, match="0 of the 2"):
        services.article_approve(article=article, actor=editor, password="pw", request=signing_request())
    accepted = Invitation.objects.get(article=article, status="accepted")
    review(accepted)
    with pytest.raises(NotReady, match="1 of the 2"):
        services.article_approve(article=fresh(article), actor=editor, password="pw", request=signing_request())
    second = Invitation.objects.get(article=article, status="invited")
    review(board.invitation_accept(invitation=second, actor=second.reviewer, conflict="none"))
    approved = services.article_approve(article=fresh(article), actor=editor, password="pw", request=signing_request())
    assert approved.status == "approved"
    editor_signature = Signature.objects.get(article=article, meaning="publication")
    assert editor_signature.content_hash == approved.published_version.content_hash


@pytest.mark.django_db
def test_a_content_change_voids_earlier_signatures(in_state, author, editor, reviewers):
    article = in_state("ready")
    assert approval_status(article).quorum_reached
    article = services.article_request_changes(article=article, actor=editor, reason="One more thing")
    article = services.article_update(
        article=article, expected_row_version=article.row_version, actor=author, fields={"summary": "Changed."}
    )
    article = services.article_resubmit(article=article, actor=author)
    status = approval_status(fresh(article))
    assert len(status.valid) == 0  # the round-1 signatures stay on record but no longer count
    assert fresh(article).valid_signatures == 0  # the worklists' count agrees
    assert Signature.objects.filter(article=article).count() == 2
    with pytest.raises((NotReady, WrongState)):
        services.article_approve(article=fresh(article), actor=editor, password="pw", request=signing_request())


@pytest.mark.django_db
def test_a_disqualifying_conflict_does_not_count(in_state, editor, reviewers):
    article = in_state("submitted")
    invitations = board.invitation_create(article=article, actor=editor, reviewers=reviewers)
    first = board.invitation_accept(invitation=invitations[0], actor=reviewers[0], conflict="none")
    second = board.invitation_accept(
        invitation=invitations[1], actor=reviewers[1], conflict="declared", description="Paid speaker for the maker"
    )
    review(first)
    review(second)
    assert approval_status(fresh(article)).quorum_reached
    ready = worklists.ready_for_decision(Article.objects.all())
    assert (fresh(article).valid_signatures, list(ready)) == (2, [article])
    board.invitation_rule_conflict(invitation=fresh(second), actor=editor, disqualifying=True, reason="Direct interest")
    status = approval_status(fresh(article))
    assert len(status.valid) == 1 and "disqualifying" in status.explain()
    assert (fresh(article).valid_signatures, list(ready.all())) == (1, [])
    with pytest.raises(NotReady, match="1 of the 2"):
        services.article_approve(article=fresh(article), actor=editor, password="pw", request=signing_request())
    board.invitation_rule_conflict(invitation=fresh(second), actor=editor, disqualifying=False, reason="Reconsidered")
    assert (fresh(article).valid_signatures, list(ready.all())) == (2, [article])


@pytest.mark.django_db
def test_an_open_reject_blocks_until_overridden_with_a_reason(in_state, editor, reviewers):
    third = make_board_member("reviewer3", "Third Member", "PharmD")
    article = review_round(in_state("submitted"), editor, reviewers)
    extra = board.invitation_create(article=article, actor=editor, reviewers=[third])[0]
    review(board.invitation_accept(invitation=extra, actor=third, conflict="none"), "reject")
    with pytest.raises(NotReady, match="recommend rejection"):
        services.article_approve(article=fresh(article), actor=editor, password="pw", request=signing_request())
    assert fresh(article).status == "under_review"
    approved = services.article_approve(
        article=fresh(article),
        actor=editor,
        password="pw",
        request=signing_request(),
        override_reason="The concern is addressed in [3].",
    )
    assert approved.status == "approved"
    record = approved.transitions.get(transition="approve")
    assert "overriding a reject recommendation: The concern is addressed in [3]." in record.reason


@pytest.mark.django_db
def test_editor_decision_needs_the_editors_password(in_state, editor):
    article = in_state("ready")
    with pytest.raises(SignatureRefused):
        services.article_approve(article=article, actor=editor, password="nope", request=signing_request())
    assert fresh(article).status == "under_review"
    assert FailedSignatureAttempt.objects.filter(user=editor, meaning="publication").count() == 1


# --- Who reads what ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_decision_letter_never_carries_confidential_comments_or_names(in_state, editor, author):
    article = in_state("ready")
    services.article_request_changes(article=article, actor=editor, reason="Please tighten the doses.")
    event = article.events.get(kind="article.decision")
    letter = event.payload["letter"]
    assert "Please tighten the doses." in letter and "Comments to the author on invitation" in letter
    assert "Confidential" not in letter and "Priya" not in letter and "Reviewer 1" in letter


@pytest.mark.django_db
def test_reviewers_see_only_their_own_invitations_and_confidential_comments(client, in_state, editor, reviewers):
    mine = in_state("ready")
    someone_elses = in_state("submitted", make_article(mine.author, title="Another?"))
    stranger = make_board_member("stranger", "Stranger", "RN")
    invitation = board.invitation_create(article=someone_elses, actor=editor, reviewers=[stranger])[0]

    own, other = (Invitation.objects.get(article=mine, reviewer=r) for r in reviewers)
    client.force_login(reviewers[0])
    page = client.get(reverse("admin:articles_article_change", args=[mine.pk])).content.decode()
    assert f"Confidential note on invitation {own.pk}." in page
    assert f"Confidential note on invitation {other.pk}." not in page
    assert f"Comments to the author on invitation {other.pk}." not in page
    assert client.get(reverse("admin:articles_article_change", args=[someone_elses.pk])).status_code == 302
    assert client.get(reverse("admin:reviewers_invitation_change", args=[invitation.pk])).status_code == 404
    listing = client.get(reverse("admin:reviewers_invitation_changelist")).content.decode()
    assert "Another?" not in listing


@pytest.mark.django_db
def test_a_reviewer_loses_sight_of_the_article_once_the_invitation_closes(in_state, editor, reviewers):
    from editorial.workflow import permissions

    article = in_state("submitted")
    invitation = board.invitation_create(article=article, actor=editor, reviewers=reviewers[:1])[0]
    assert permissions.may_view_article(reviewers[0], article)
    board.invitation_decline(invitation=invitation, actor=reviewers[0], reason="Busy")
    assert not permissions.may_view_article(reviewers[0], fresh(article))
    assert not permissions.visible_articles(reviewers[0]).filter(pk=article.pk).exists()


@pytest.mark.django_db
def test_the_author_never_sees_confidential_comments(client, in_state, author, editor):
    article = in_state("ready")
    services.article_request_changes(article=article, actor=editor, reason="Revise, please.")
    client.force_login(author)
    for url in (
        reverse("admin:articles_article_change", args=[article.pk]),
        reverse("admin:articles_article_history", args=[article.pk]),
    ):
        html = client.get(url).content.decode()
        assert "Confidential note" not in html
    assert client.get(reverse("admin:reviewers_invitation_changelist")).status_code == 403


# --- Rounds -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_round_two_reinvites_and_shows_what_changed(client, in_state, author, editor, reviewers):
    article = in_state("ready")
    article = services.article_request_changes(article=article, actor=editor, reason="Add the dose.")
    article = services.article_update(
        article=article,
        expected_row_version=article.row_version,
        actor=author,
        fields={"body": article.body + "\n\nIbuprofen 400 mg [1]."},
        reason="Dose",
    )
    article = services.article_resubmit(article=article, actor=author)
    round_two = Invitation.objects.filter(article=article, review_round=2)
    assert {i.reviewer for i in round_two} == set(reviewers)
    invitation = round_two.get(reviewer=reviewers[0])
    client.force_login(reviewers[0])
    page = client.get(reverse("admin:reviewers_invitation_change", args=[invitation.pk])).content.decode()
    assert "What changed since the version you reviewed in round 1" in page
    assert "<ins>" in page and "400" in page


# --- Query counts --------------------------------------------------------------------------------


def count(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_reviewer_list_and_decision_page_run_a_bounded_number_of_queries(client, in_state, editor, reviewers, author):
    first = in_state("ready")
    client.force_login(reviewers[0])
    small_list = count(client, reverse("admin:reviewers_invitation_changelist"))
    client.force_login(editor)
    small_page = count(client, reverse("admin:articles_article_change", args=[first.pk]))
    small_decision = count(client, reverse("admin:articles_article_transition", args=[first.pk, "approve"]))
    more = [make_board_member(f"extra{n}", f"Extra {n}", "MD") for n in range(4)]
    for n in range(4):
        article = in_state("ready", make_article(author, title=f"More {n}?"))
    big = review_round(in_state("submitted", make_article(author, title="Big?")), editor, [*reviewers, *more])
    client.force_login(reviewers[0])
    assert count(client, reverse("admin:reviewers_invitation_changelist")) == small_list
    client.force_login(editor)
    assert count(client, reverse("admin:articles_article_change", args=[big.pk])) == small_page
    assert count(client, reverse("admin:articles_article_transition", args=[big.pk, "approve"])) == small_decision
    assert max(small_list, small_page, small_decision) <= 25
    assert article


@pytest.mark.django_db
def test_reviewers_stay_anonymous_to_the_author_until_approval(client, in_state, author, editor, reviewers):
    from rest_framework.test import APIClient

    article = in_state("ready")
    article = services.article_request_changes(article=article, actor=editor, reason="Revise.")
    client.force_login(author)
    pages = [
        client.get(reverse("admin:articles_article_change", args=[article.pk])),
        client.get(reverse("admin:articles_article_history", args=[article.pk])),
    ]
    api = APIClient()
    api.force_authenticate(author)
    pages.append(api.get(f"/api/v1/articles/{article.pk}/history/"))
    for response in pages:
        text = response.content.decode()
        assert response.status_code == 200
        for name in ("Priya", "Raman", "reviewer1", "Tomás", "reviewer2"):
            assert name not in text, (response.request["PATH_INFO"], name)
    client.force_login(editor)
    history = client.get(reverse("admin:articles_article_history", args=[article.pk])).content.decode()
    assert "The board&#x27;s steps" in history or "The board's steps" in history
    assert "Priya Raman" in history and "Approved as medically accurate" in history


@pytest.mark.django_db
def test_the_round_is_complete_when_its_last_open_invitation_is_reviewed(in_state, editor, reviewers, board_member):
    """``round.reviews_complete`` once, with the review that leaves no invitation invited or accepted."""
    article = in_state("submitted")
    first, second, third = board.invitation_create(article=article, actor=editor, reviewers=[*reviewers, board_member])
    for invitation in (first, second):
        board.invitation_accept(invitation=fresh(invitation), actor=invitation.reviewer, conflict="none")

    def completions() -> int:
        return Event.objects.filter(article=article, kind=EventKind.REVIEWS_COMPLETE).count()

    review(fresh(first))
    assert completions() == 0  # the second reviewer is still at work, the third not answered
    board.invitation_accept(invitation=fresh(third), actor=third.reviewer, conflict="none")
    review(fresh(second), "minor_revisions")
    assert completions() == 0  # the third accepted and has not reviewed
    review(fresh(third))
    assert completions() == 1
