"""Conflicting transitions at the same moment, on PostgreSQL with real concurrent connections."""

import threading

import pytest
from django.conf import settings
from django.db import connection

from articles.models import Article
from editorial.models import TransitionRecord
from editorial.workflow import board, services
from editorial.workflow.exceptions import StaleArticle, WrongState
from editorial.workflow.permissions import Role
from reviewers.models import Invitation
from tests.factories import UserFactory, make_board_member, signing_request

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="select_for_update is a no-op on SQLite; the PostgreSQL run covers this",
    ),
]


def race(*calls):
    """Run each call in its own thread and connection, released at the same instant."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = ("ok", call())
        except Exception as error:  # noqa: BLE001 - the outcome is what the test asserts
            outcomes[index] = ("error", error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def fresh(article):
    return Article.objects.get(pk=article.pk)


@pytest.mark.django_db(transaction=True)
def test_two_approvals_at_once_one_wins(in_state):
    article = in_state("ready")
    first, second = UserFactory(roles=[Role.EDITOR]), UserFactory(roles=[Role.EDITOR])
    copies = [fresh(article), fresh(article)]
    outcomes = race(
        lambda: services.article_approve(article=copies[0], actor=first, password="pw", request=signing_request()),
        lambda: services.article_approve(article=copies[1], actor=second, password="pw", request=signing_request()),
    )
    wins = [o for o in outcomes if o[0] == "ok"]
    losses = [o[1] for o in outcomes if o[0] == "error"]
    assert len(wins) == 1 and len(losses) == 1, outcomes
    assert isinstance(losses[0], StaleArticle)
    assert "changed meanwhile" in losses[0].message
    assert TransitionRecord.objects.filter(article=article, transition="approve").count() == 1
    assert fresh(article).status == "approved"
    assert fresh(article).history.filter(status="approved").count() == 1


@pytest.mark.django_db(transaction=True)
def test_approve_against_withdraw_one_wins(in_state, author, editor):
    article = in_state("ready")
    copies = [fresh(article), fresh(article)]
    outcomes = race(
        lambda: services.article_approve(article=copies[0], actor=editor, password="pw", request=signing_request()),
        lambda: services.article_withdraw(article=copies[1], actor=author, reason="Pulled"),
    )
    assert sorted(o[0] for o in outcomes) == ["error", "ok"], outcomes
    loser = next(o[1] for o in outcomes if o[0] == "error")
    assert isinstance(loser, StaleArticle | WrongState)
    final = fresh(article)
    assert final.status in ("approved", "withdrawn")
    records = TransitionRecord.objects.filter(article=article, transition__in=["approve", "withdraw"])
    assert records.count() == 1 and records.get().to_status == final.status


@pytest.mark.django_db(transaction=True)
def test_many_simultaneous_submissions_make_one_transition(author):
    from tests.factories import make_article

    article = make_article(author)
    copies = [fresh(article) for _ in range(6)]
    actors = [type(author).objects.get(pk=author.pk) for _ in copies]
    outcomes = race(
        *[lambda c=c, a=a: services.article_submit(article=c, actor=a) for c, a in zip(copies, actors, strict=True)]
    )
    assert [o[0] for o in outcomes].count("ok") == 1, outcomes
    assert all(isinstance(o[1], StaleArticle) for o in outcomes if o[0] == "error")
    assert TransitionRecord.objects.filter(article=article).count() == 1
    assert fresh(article).review_round == 1
    assert fresh(article).versions.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_acceptances_all_succeed_and_the_review_starts_once(in_state, editor):
    """Issue 12: of reviewers accepting at once, all but one got "changed meanwhile" (20 of 20 tries)."""
    article = in_state("submitted")
    members = [make_board_member(f"racer{n}", f"Racer {n}", "MD") for n in range(4)]
    invitations = board.invitation_create(article=article, actor=editor, reviewers=members)
    outcomes = race(
        *(
            (
                lambda invitation=invitation: board.invitation_accept(
                    invitation=invitation,
                    actor=invitation.reviewer,
                    conflict="declared",
                    description="Consulted for a maker of X.",
                )
            )
            for invitation in invitations
        )
    )
    assert [o[0] for o in outcomes] == ["ok"] * len(members), outcomes
    assert fresh(article).status == "under_review"
    assert TransitionRecord.objects.filter(article=article, transition="start_review").count() == 1
    assert fresh(article).history.filter(status="under_review").count() == 1
    accepted = Invitation.objects.filter(article=article, status="accepted", conflict="declared")
    assert accepted.count() == len(members)  # every declaration kept
