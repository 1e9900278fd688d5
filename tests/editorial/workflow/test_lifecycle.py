"""The review lifecycle's rules, one regression test per case reproduced in issue 12.

Closing a round ends its invitations; a discarded revision keeps the approved version; only
a retraction takes approved content off the site.
"""

import pytest
from django.conf import settings
from django.urls import reverse

from articles.models import Article, ArticleStatus
from editorial.models import Event, EventKind, Notification, TransitionRecord
from editorial.notifications.emails import render
from editorial.reads import public, worklists
from editorial.workflow import board, services
from editorial.workflow.exceptions import WrongState
from reviewers.models import ROUND_CLOSED, Invitation, InvitationStatus
from tests.conftest import clear_page_caches
from tests.factories import make_board_member, signing_request

pytestmark = pytest.mark.django_db


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


@pytest.fixture
def third(db):
    return make_board_member("reviewer3", "Lena Ortiz", "MD")


def _round_with_open_invitations(in_state, editor, reviewers, third):
    """Round 1 under review: reviewer1 reviewed, reviewer2 accepted (no review), reviewer3 only invited."""
    article = in_state("ready")
    invited = board.invitation_create(article=article, actor=editor, reviewers=[third])[0]
    return article, invited


@pytest.mark.parametrize(
    ("decision", "reason"),
    [("request_changes", "Add doses."), ("reject", "Out of scope."), ("withdraw", "Not needed.")],
)
def test_closing_a_round_ends_its_invitations(decision, reason, in_state, author, editor, reviewers, third):
    article = in_state("under_review")  # reviewer1 accepted, reviewer2 invited
    accepted, invited = Invitation.objects.filter(article=article).order_by("pk")
    actor = author if decision == "withdraw" else editor
    services.article_transition(article=article, actor=actor, name=decision, reason=reason)
    accepted, invited = fresh(accepted), fresh(invited)
    assert (accepted.status, accepted.end_reason) == (InvitationStatus.CLOSED, ROUND_CLOSED)
    assert (invited.status, invited.end_reason) == (InvitationStatus.CANCELLED, ROUND_CLOSED)
    told = Event.objects.filter(article=article, kind=EventKind.ROUND_CLOSED)
    assert told.count() == 1  # the reviewers are told once
    assert sorted(told.get().payload["invitations"]) == sorted([accepted.pk, invited.pk])
    assert not Invitation.objects.filter(article=article, status__in=["invited", "accepted"]).exists()
    for invitation in (accepted, invited):  # each e-mail links to the reader's own invitation, which says it ended
        mail = render(Notification(pk=1, event=told.get(), recipient=invitation.reviewer))
        own = reverse("admin:reviewers_invitation_change", args=[invitation.pk])
        assert f"Your invitation: {settings.SITE_URL}{own}" in mail.body, mail.body


def test_round_2_invitation_cannot_be_accepted_after_round_3_opens(in_state, author, editor, reviewers, third):
    """Issue 12: a round-2 invitation still said "waiting for your answer" in round 3."""
    article = in_state("changes_requested")  # round 1 decided
    article = services.article_resubmit(article=article, actor=author)  # round 2: both reinvited
    round2 = list(Invitation.objects.filter(article=article, review_round=2).order_by("pk"))
    board.invitation_accept(invitation=round2[0], actor=round2[0].reviewer, conflict="none")
    article = services.article_request_changes(article=fresh(article), actor=editor, reason="More doses.")
    services.article_resubmit(article=fresh(article), actor=author)  # round 3
    late = fresh(round2[1])
    assert late.status == InvitationStatus.CANCELLED
    with pytest.raises(WrongState, match="Round 2 of this article's review is closed") as refused:
        board.invitation_accept(invitation=late, actor=late.reviewer, conflict="none")
    assert refused.value.http_status == 409
    assert fresh(late).status == InvitationStatus.CANCELLED
    # An accepted round-2 review without a review is closed: it leaves "Reviews due".
    assert fresh(round2[0]).status == InvitationStatus.CLOSED
    due = Invitation.objects.filter(reviewer=round2[0].reviewer, status=InvitationStatus.ACCEPTED)
    assert list(due.filter(review_round=2)) == []


def test_a_legacy_open_invitation_of_an_old_round_is_refused(in_state, editor, reviewers):
    """Even an invitation left open by data from before the rule cannot be accepted out of round."""
    article = in_state("under_review")
    invitation = Invitation.objects.filter(article=article, status="invited").get()
    Article.objects.filter(pk=article.pk).update(review_round=5)
    with pytest.raises(WrongState, match="Round 1 of this article's review is closed"):
        board.invitation_accept(invitation=invitation, actor=invitation.reviewer, conflict="none")
    assert fresh(invitation).status == InvitationStatus.INVITED


def test_closed_round_invitation_refused_in_the_workspace(in_state, author, editor, reviewers, client):
    article = in_state("under_review")
    invitation = Invitation.objects.filter(article=article, status="invited").get()
    services.article_withdraw(article=article, actor=author, reason="Not needed.")
    client.force_login(invitation.reviewer)
    response = client.post(
        reverse("admin:reviewers_invitation_act", args=[invitation.pk, "accept"]),
        {"conflict": "none", "row_version": fresh(invitation).row_version},
    )
    assert response.status_code == 409
    assert "Round 1 of this article&#x27;s review is closed" in response.content.decode()
    assert fresh(invitation).status == InvitationStatus.CANCELLED


def test_approval_closes_the_round_and_leaves_every_dashboard(in_state, editor, reviewers, third, client):
    article, invited = _round_with_open_invitations(in_state, editor, reviewers, third)
    services.article_approve(article=article, actor=editor, password="pw", request=signing_request())
    assert fresh(invited).status == InvitationStatus.CANCELLED
    assert worklists.overdue_reviews().count() == 0
    client.force_login(third)
    page = client.get(reverse("admin:index"))
    assert page.status_code == 200
    assert article.title not in page.content.decode()


# --- Revisions of approved articles -----------------------------------------------------


def test_withdrawing_a_revision_of_an_approved_article_is_refused(in_state, author):
    """Issue 12: withdrawing a revision took the approved, signed article off the site (404)."""
    article = in_state("revision")
    with pytest.raises(WrongState, match="only an editor's retraction removes approved content") as refused:
        services.article_withdraw(article=article, actor=author, reason="Never mind.")
    assert refused.value.http_status == 409
    assert fresh(article).status == ArticleStatus.DRAFT
    assert public.public_page(article.slug) is not None


@pytest.mark.parametrize("stage", ["draft", "submitted", "under_review", "changes_requested"])
def test_discard_revision_returns_to_the_approved_version(stage, in_state, author, editor, reviewers, client):
    article = in_state("approved")
    approved_version = article.published_version_id
    before = client.get(reverse("article-detail", args=[article.slug])).content
    article = services.article_revise(article=article, actor=author)
    article = services.article_update(
        article=article,
        actor=author,
        fields={"summary": "A rewritten answer nobody approved."},
        references=[{"title": "A new source"}, {"title": "Another new source"}],
        expected_row_version=article.row_version,
    )
    if stage != "draft":
        article = services.article_submit(article=fresh(article), actor=author)
    if stage in ("under_review", "changes_requested"):
        invitation = board.invitation_create(article=article, actor=editor, reviewers=reviewers[:1])[0]
        board.invitation_accept(invitation=invitation, actor=invitation.reviewer, conflict="none")
    if stage == "changes_requested":
        services.article_request_changes(article=fresh(article), actor=editor, reason="Doses.")
    records = TransitionRecord.objects.filter(article=article).count()
    result = services.article_discard_revision(article=fresh(article), actor=author)
    assert result.status == ArticleStatus.APPROVED
    assert (result.published_version_id, result.current_version_id) == (approved_version, approved_version)
    assert result.summary == "A short answer."  # the working text is the approved one again
    assert list(result.references.values_list("title", flat=True)) == ["Source 1", "Source 2"]
    assert TransitionRecord.objects.filter(article=article).count() == records + 1
    assert not Invitation.objects.filter(article=article, status__in=["invited", "accepted"]).exists()
    clear_page_caches()  # what the page says now, not what a cache kept
    assert client.get(reverse("article-detail", args=[article.slug])).content == before


def test_discarding_without_a_revision_is_a_409(in_state, author):
    for state in ("draft", "approved"):
        article = in_state(state)
        with pytest.raises(WrongState) as refused:
            services.article_discard_revision(article=article, actor=author)
        assert refused.value.http_status == 409
        assert fresh(article).status == state


def test_only_retract_takes_approved_content_off(in_state, editor):
    article = in_state("approved")
    services.article_retract(article=article, actor=editor, reason="Guidance changed.")
    page = public.public_page(article.slug)
    assert page is not None and page.status == public.ReaderStatus.RETRACTED


# --- Competing interests in later rounds ----------------------------------------------------


def test_invite_page_shows_a_declared_member_and_the_editor_may_invite_after_confirming(
    in_state, author, editor, reviewers, client
):
    """Issue 12: a member who declared a minor competing interest in round 1 vanished from later rounds."""
    article = in_state("submitted")
    invitation = board.invitation_create(article=article, actor=editor, reviewers=reviewers[:1])[0]
    board.invitation_accept(invitation=invitation, actor=reviewers[0], conflict="declared", description="Gave a talk")
    article = services.article_request_changes(article=fresh(article), actor=editor, reason="Doses.")
    article = services.article_resubmit(article=article, actor=author)  # round 2: not reinvited (no review)
    url = reverse("admin:articles_article_invite", args=[article.pk])
    client.force_login(editor)
    page = client.get(url).content.decode()
    assert "declared competing interests (round 1): “Gave a talk”" in page
    refused = client.post(url, {"reviewer": [reviewers[0].pk], "respond_by": "", "due_at": ""})
    assert refused.status_code == 400
    assert "confirm and give your reason" in refused.content.decode()
    assert not Invitation.objects.filter(article=article, review_round=2).exists()
    done = client.post(
        url,
        {"reviewer": [reviewers[0].pk], "confirm_conflicts": "yes", "conflict_override": "A minor interest."},
    )
    assert done.status_code == 302
    again = Invitation.objects.get(article=article, review_round=2)
    assert "A minor interest." in again.history.latest().history_change_reason
