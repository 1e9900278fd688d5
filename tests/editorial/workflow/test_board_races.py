"""The board's steps racing each other and the round's closing, on PostgreSQL with real connections.

Each race releases two services at the same instant (``test_concurrency.race``), each in its own
thread and connection. Whatever the order the database picks, the outcome must be one a serial
order could give: one winner where the steps exclude each other, the loser refused with a 409
(``StaleArticle`` or ``WrongState``), nothing half-written, the events counted exactly, the
signature count equal to the rule's, and the audit chains unbroken (``verify_audit --full``).
"""

import datetime
import time

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from articles.models import Article
from editorial.models import Event, EventKind, TransitionRecord
from editorial.workflow import approval, board, services
from editorial.workflow.exceptions import StaleArticle, WrongState
from reviewers.models import Invitation, Review
from tests.conftest import ALL_TICKED
from tests.editorial.workflow.test_concurrency import fresh, race
from tests.factories import make_board_member, signing_request

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="select_for_update is a no-op on SQLite; the PostgreSQL run covers this",
    ),
]

REFUSED = (StaleArticle, WrongState)


def accepted_round(in_state, editor, reviewers) -> tuple[Article, list[Invitation]]:
    """A submitted article whose two reviewers both accepted (the review started with the first)."""
    article = in_state("submitted")
    invitations = board.invitation_create(article=article, actor=editor, reviewers=reviewers)
    for invitation in invitations:
        board.invitation_accept(invitation=invitation, actor=invitation.reviewer, conflict="none")
    return fresh(article), [Invitation.objects.get(pk=invitation.pk) for invitation in invitations]


def submit(invitation, recommendation="approve"):
    return lambda: board.review_submit(
        invitation=invitation,
        actor=invitation.reviewer,
        recommendation=recommendation,
        checklist=ALL_TICKED,
        comments_to_author="Fine.",
        password="pw",
        request=signing_request(),
    )


def assert_the_trail_holds(article) -> None:
    """``verify_audit --full`` finds no break; every history row names a user and a reason."""
    call_command("verify_audit", "--full")  # CommandError (exit 1) on any break
    for model in (Article, Invitation, Review):
        rows = model.history.model.objects.all()
        assert not rows.filter(history_user__isnull=True).exists(), model
        assert not rows.filter(history_change_reason__isnull=True).exists(), model
        assert not rows.filter(history_change_reason="").exists(), model


def assert_signatures_counted(article) -> None:
    current = fresh(article)
    assert current.valid_signatures == len(approval.approval_status(current).valid)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("recommendations", "signatures"),
    [(("approve", "approve"), 2), (("reject", "approve"), 1)],  # two signed; a reject (unsigned) and a signed one
)
@pytest.mark.parametrize("attempt", range(2))
def test_two_reviews_at_once_one_completion_event_and_exact_count(
    in_state, editor, reviewers, recommendations, signatures, attempt
):
    article, invitations = accepted_round(in_state, editor, reviewers)
    outcomes = race(*(submit(i, r) for i, r in zip(invitations, recommendations, strict=True)))
    assert [o[0] for o in outcomes] == ["ok", "ok"], outcomes
    assert Event.objects.filter(article=article, kind=EventKind.REVIEWS_COMPLETE).count() == 1
    assert fresh(article).valid_signatures == signatures
    assert_signatures_counted(article)
    assert_the_trail_holds(article)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("closing", ["cancel", "reject", "withdraw"])
def test_an_acceptance_racing_the_invitation_or_round_closing(in_state, editor, author, reviewers, closing):
    article = in_state("submitted")
    [invitation, _] = board.invitation_create(article=article, actor=editor, reviewers=reviewers)
    copy = fresh(article)
    closers = {
        "cancel": lambda: board.invitation_cancel(
            invitation=Invitation.objects.get(pk=invitation.pk), actor=editor, reason="Not needed"
        ),
        "reject": lambda: services.article_reject(article=copy, actor=editor, reason="Out of scope."),
        "withdraw": lambda: services.article_withdraw(article=copy, actor=author, reason="Pulled."),
    }
    outcomes = race(
        lambda: board.invitation_accept(invitation=invitation, actor=invitation.reviewer, conflict="none"),
        closers[closing],
    )
    kinds = sorted(o[0] for o in outcomes)
    if closing == "cancel":
        assert kinds == ["error", "ok"], outcomes
    assert all(isinstance(o[1], REFUSED) for o in outcomes if o[0] == "error"), outcomes
    current = fresh(article)
    open_left = Invitation.objects.filter(article=article, status__in=["invited", "accepted"])
    if current.status in ("rejected", "withdrawn"):
        assert not open_left.exists(), list(open_left.values_list("status", flat=True))
    starts = TransitionRecord.objects.filter(article=article, transition="start_review").count()
    assert starts <= 1
    assert_the_trail_holds(article)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("decision", ["approve", "request_changes"])
def test_a_review_racing_the_editors_decision(in_state, editor, reviewers, decision):
    """Two signatures stand from two other reviewers; a third reviewer's review races the decision."""
    article = in_state("ready")
    third = make_board_member("reviewer3", "Grace Adeyemi", "PharmD")
    [late] = board.invitation_create(article=article, actor=editor, reviewers=[third])
    late = board.invitation_accept(invitation=late, actor=third, conflict="none")
    copy = fresh(article)
    deciders = {
        "approve": lambda: services.article_approve(
            article=copy, actor=editor, password="pw", request=signing_request()
        ),
        "request_changes": lambda: services.article_request_changes(article=copy, actor=editor, reason="Add doses."),
    }
    outcomes = race(submit(Invitation.objects.get(pk=late.pk)), deciders[decision])
    assert all(isinstance(o[1], REFUSED) for o in outcomes if o[0] == "error"), outcomes
    assert outcomes[1][0] == "ok", outcomes  # the decision never depends on the late review
    current = fresh(article)
    late_now = Invitation.objects.get(pk=late.pk)
    if outcomes[0][0] == "ok":
        assert late_now.status == "completed"
    else:
        assert late_now.status == "closed" and not Review.objects.filter(invitation=late_now).exists()
    assert not Invitation.objects.filter(article=article, status__in=["invited", "accepted"]).exists()
    assert current.status == {"approve": "approved", "request_changes": "changes_requested"}[decision]
    assert_the_trail_holds(article)


@pytest.mark.django_db(transaction=True)
def test_a_decline_racing_the_expiry(in_state, editor, reviewers):
    article = in_state("submitted")
    past = timezone.now() + datetime.timedelta(seconds=2)
    [invitation, _] = board.invitation_create(
        article=article, actor=editor, reviewers=reviewers, respond_by=past, due_at=past + datetime.timedelta(days=9)
    )
    while timezone.now() <= past:
        pass
    outcomes = race(
        lambda: board.invitation_decline(invitation=invitation, actor=invitation.reviewer, reason="Too busy."),
        lambda: board.invitation_expire(invitation=Invitation.objects.get(pk=invitation.pk)),
    )
    assert sorted(o[0] for o in outcomes) == ["error", "ok"], outcomes
    assert all(isinstance(o[1], REFUSED) for o in outcomes if o[0] == "error"), outcomes
    final = Invitation.objects.get(pk=invitation.pk)
    assert final.status in ("declined", "expired")
    kinds = Event.objects.filter(article=article, kind__in=[EventKind.DECLINED, EventKind.EXPIRED])
    assert kinds.count() == 1
    assert final.history.count() == 2  # created, then the one change
    assert_the_trail_holds(article)


def held(function, seconds):
    """``function`` that, once done, keeps its caller's transaction (and locks) ``seconds`` longer:
    widens a race's window so that the other side surely waits on the lock."""

    def slow(*args, **kwargs):
        result = function(*args, **kwargs)
        time.sleep(seconds)
        return result

    return slow


def later(call, seconds):
    def delayed():
        time.sleep(seconds)
        return call()

    return delayed


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("closing", ["reject", "withdraw"])
def test_an_invitation_made_while_the_round_closes_is_closed_with_it(
    in_state, editor, author, reviewers, monkeypatch, closing
):
    """The closing transition must see an invitation committed while it waited for the article's
    lock. Read in the locking statement itself, it was not seen (that statement's snapshot is
    older than the wait): ``close_round`` skipped, and the invitation stayed ``invited`` on a
    rejected (withdrawn) article (the product's rule: obligations end with the round)."""
    from editorial.workflow import invitations as invitation_rows

    article = in_state("submitted")  # no invitation yet: nothing open
    copy = fresh(article)
    monkeypatch.setattr(invitation_rows, "create_invitations", held(invitation_rows.create_invitations, 1.0))
    closers = {
        "reject": lambda: services.article_reject(article=copy, actor=editor, reason="Out of scope."),
        "withdraw": lambda: services.article_withdraw(article=copy, actor=author, reason="Pulled."),
    }
    outcomes = race(
        lambda: board.invitation_create(article=fresh(article), actor=editor, reviewers=reviewers[:1]),
        later(closers[closing], 0.3),
    )
    assert [o[0] for o in outcomes] == ["ok", "ok"], outcomes
    assert fresh(article).status == {"reject": "rejected", "withdraw": "withdrawn"}[closing]
    left_open = list(
        Invitation.objects.filter(article=article, status__in=["invited", "accepted"]).values("pk", "status")
    )
    assert left_open == [], f"open invitations on a closed round: {left_open}"


@pytest.mark.django_db(transaction=True)
def test_a_member_leaving_while_the_editor_cancels_their_invitation(in_state, editor, reviewers, monkeypatch):
    """Leaving the board locks the member's articles, then their invitations, in the order every
    board step takes them: it locked the invitations first, and with the editor's cancel the two
    deadlocked (PostgreSQL aborted one: a 500 for whoever clicked)."""
    from editorial.workflow import membership

    article = in_state("submitted")
    [invitation, _] = board.invitation_create(article=article, actor=editor, reviewers=reviewers)
    monkeypatch.setattr(membership, "system_user", held(membership.system_user, 1.0))  # invitations locked

    def deactivate():
        member = type(invitation.reviewer).objects.get(pk=invitation.reviewer_id)
        member.is_active = False
        member.save()

    outcomes = race(
        deactivate,
        later(lambda: board.invitation_cancel(invitation=invitation, actor=editor, reason="Not needed"), 0.3),
    )
    assert all(o[0] == "ok" or isinstance(o[1], REFUSED) for o in outcomes), outcomes
    assert Invitation.objects.get(pk=invitation.pk).status == "cancelled"


@pytest.mark.django_db(transaction=True)
def test_a_submission_waiting_for_a_declaration_of_ai_provenance_keeps_it_or_is_refused(author, monkeypatch):
    """The submit's lock reads ``ai_declared`` in its locking statement, which cannot see a
    declaration committed while it waited. The declaration moves the article's row_version, so
    the waiting submit is refused as stale (409) and nothing is submitted without the provenance."""
    from editorial.workflow import provenance
    from tests.factories import make_article

    article = make_article(author)
    copy = fresh(article)
    monkeypatch.setattr(provenance, "write_declaration", held(provenance.write_declaration, 1.0))
    declared = {
        "tool": "DraftBot",
        "model": "example-llm",
        "model_version": "1",
        "run_id": "run-1",
        "generated_at": "2026-11-29T10:00:00+00:00",
        "sections": ["body"],
    }
    outcomes = race(
        lambda: provenance.provenance_declare(article=fresh(article), actor=author, provenance=declared),
        later(lambda: services.article_submit(article=copy, actor=author), 0.3),
    )
    assert outcomes[0][0] == "ok", outcomes
    current = fresh(article)
    if outcomes[1][0] == "ok":  # submitted after the declaration: the version keeps it
        assert provenance.is_machine_drafted(current.current_version)
    else:
        assert isinstance(outcomes[1][1], StaleArticle), outcomes
        assert current.status == "draft"


@pytest.mark.django_db(transaction=True)
def test_the_same_review_sent_twice_at_once(in_state, editor, reviewers):
    """A double click: one review, one signature, one completion; the other a 409."""
    article, invitations = accepted_round(in_state, editor, reviewers)
    invitation = invitations[0]
    outcomes = race(submit(Invitation.objects.get(pk=invitation.pk)), submit(Invitation.objects.get(pk=invitation.pk)))
    assert sorted(o[0] for o in outcomes) == ["error", "ok"], outcomes
    assert all(isinstance(o[1], REFUSED) for o in outcomes if o[0] == "error"), outcomes
    assert Review.objects.filter(invitation=invitation).count() == 1
    assert fresh(article).valid_signatures == 1
    assert_signatures_counted(article)
    assert_the_trail_holds(article)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("disqualifying", [True, False])
def test_a_signed_review_racing_the_ruling_on_its_competing_interest(in_state, editor, reviewers, disqualifying):
    article = in_state("submitted")
    invitations = board.invitation_create(article=article, actor=editor, reviewers=reviewers)
    board.invitation_accept(
        invitation=invitations[0], actor=invitations[0].reviewer, conflict="declared", description="Paid talks."
    )
    declared = Invitation.objects.get(pk=invitations[0].pk)
    outcomes = race(
        submit(declared),
        lambda: board.invitation_rule_conflict(
            invitation=Invitation.objects.get(pk=declared.pk),
            actor=editor,
            disqualifying=disqualifying,
            reason="Ruled.",
        ),
    )
    assert all(o[0] == "ok" or isinstance(o[1], REFUSED) for o in outcomes), outcomes
    assert_signatures_counted(article)
    assert_the_trail_holds(article)
