"""A transition's writes in one statement (PostgreSQL) leave exactly the rows the ORM leaves.

``editorial.workflow.writes`` compiles the article's UPDATE, its history row, the transition
record and the event into one statement of CTEs on PostgreSQL. These tests fire the same
transitions both ways, on twin articles, and compare every column of what was written
(ids, times and the twins' own slugs aside); and they count the round trips, BEGIN and
COMMIT included, that a submit and the other transitions cost.
"""

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django_fsm import ConcurrentTransition

from articles.models import Article
from editorial.models import AuditLink, Event, EventKind, TransitionRecord
from editorial.workflow import board, permissions, services, writes
from editorial.workflow.events import build_event
from editorial.workflow.exceptions import MissingAuditContext
from editorial.workflow.system import system_user
from reviewers.models import Invitation, Review, Signature
from tests.conftest import ALL_TICKED
from tests.factories import make_article, signing_request

pytestmark = pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"], reason="the one-statement path is PostgreSQL's"
)

VOLATILE = {"id", "history_id", "history_date", "created_at", "updated_at", "content_updated_at", "slug"}
VOLATILE |= {"article_id", "current_version_id", "published_version_id", "last_approved_at", "review_due_at"}
VOLATILE |= {"audit_head"}  # the audit chain's head hashes each twin's own ids and times


def written(article: Article) -> dict:
    """What the last transition wrote for ``article``, its volatile columns left out."""

    def plain(row) -> dict:
        return {key: value for key, value in row.items() if key not in VOLATILE}

    history = article.history.order_by("-history_id").values()[0]
    record = TransitionRecord.objects.filter(article=article).order_by("-id").values()[0]
    event = Event.objects.filter(article=article).order_by("-id").values("kind", "actor_id", "status", "payload")[0]
    event["payload"] = {key: value for key, value in event["payload"].items() if key != "letter"}
    row = Article.objects.filter(pk=article.pk).values()[0]
    return {"article": plain(row), "history": plain(history), "record": plain(record), "event": event}


def fire(article, name, actor, reason=""):
    return services.article_transition(
        article=Article.objects.get(pk=article.pk),
        actor=type(actor).objects.get(pk=actor.pk),
        name=name,
        reason=reason,
        password="pw",
        request=signing_request(),
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "name", "who", "reason"),
    [
        ("draft", "submit", "author", ""),
        ("submitted", "reject", "editor", "Out of scope."),
        ("ready", "request_changes", "editor", "Add doses."),
        ("ready", "approve", "editor", ""),
        ("approved", "retract", "editor", "Guidance changed."),
    ],
)
def test_one_statement_writes_what_the_orm_writes(source, name, who, reason, in_state, author, editor, monkeypatch):
    actor = {"author": author, "editor": editor}[who]
    fast = fire(in_state(source), name, actor, reason)
    monkeypatch.setattr(writes, "in_one_statement", lambda connection: False)
    slow = fire(in_state(source), name, actor, reason)
    assert written(fast) == written(slow)
    assert written(fast)["record"]["transition"] == name


@pytest.mark.django_db
def test_the_history_row_still_needs_a_user_and_a_reason(author):
    article = Article.objects.get(pk=make_article(author).pk)  # no one said who acts, nor why
    before = writes.values_of(article)
    article.title = "Another question?"
    with pytest.raises(MissingAuditContext):
        writes.save_with_records(
            article, fields=writes.changed_fields(article, before), state_field="status", state_was="draft", records=[]
        )
    assert Article.objects.get(pk=article.pk).title != "Another question?"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("source", "name", "limit"),
    # The audit chain included (editorial.workflow.chain): every record's link of a transition
    # in one statement at its end (submit: version, history row, transition, event; approve:
    # history row, transition, signature, event; the signature written with the transition).
    [("draft", "submit", 8), ("submitted", "start_review", 6), ("ready", "approve", 10)],
)
def test_round_trips_of_a_transition_count_begin_and_commit(source, name, limit, in_state, author, editor):
    """At most 8 round trips per submit and 10 per approve with its signature (the password
    check and the lockout's count included), BEGIN and COMMIT included; the request has read
    the actor's roles already (the workspace's and the API's doors do, once per request)."""
    article = in_state(source)
    actor = type(author).objects.get(pk=(author if name == "submit" else editor).pk)
    permissions.roles(actor)
    with CaptureQueriesContext(connection) as queries:
        services.article_transition(article=article, actor=actor, name=name, password="pw", request=signing_request())
    statements = [q["sql"] for q in queries.captured_queries]
    assert "BEGIN" in statements and statements[-1] == "COMMIT", statements
    assert len(statements) <= limit, "\n".join(s[:120] for s in statements)


# --- The board's steps: invitations, acceptances, declines, reviews and signatures --------------

#: Columns that differ between twins by construction: ids, times, and the twins' own texts' hashes.
BOARD_VOLATILE = VOLATILE | {"invitation_id", "review_id", "version_id", "invited_by_id", "content_hash"}
BOARD_VOLATILE |= {"invited_at", "responded_at", "completed_at", "signed_at", "submitted_at", "respond_by", "due_at"}


def board_rows(article: Article) -> dict:
    """Every row the board's steps wrote for ``article``, in the order written, volatile columns out."""

    def plain(rows) -> list:
        return [{key: value for key, value in row.items() if key not in BOARD_VOLATILE} for row in rows]

    invitation_ids = list(Invitation.objects.filter(article=article).order_by("pk").values_list("pk", flat=True))
    reviews = Review.objects.filter(invitation__article=article)
    events = []
    for event in Event.objects.filter(article=article).order_by("pk").values("kind", "actor_id", "status", "payload"):
        payload = {
            key: value for key, value in event["payload"].items() if key not in ("letter", "respond_by", "due_at")
        }
        for key in ("invitation", "invitations"):  # ids, as positions among the article's invitations
            if key in payload:
                ids = payload[key] if isinstance(payload[key], list) else [payload[key]]
                payload[key] = [invitation_ids.index(pk) for pk in ids]
        events.append({**event, "payload": payload})
    return {
        "article": plain(Article.objects.filter(pk=article.pk).values()),
        "invitations": plain(Invitation.objects.filter(article=article).order_by("pk").values()),
        "invitation history": plain(Invitation.history.filter(article_id=article.pk).order_by("history_id").values()),
        "reviews": plain(reviews.order_by("pk").values()),
        "review history": plain(
            Review.history.filter(invitation_id__in=invitation_ids).order_by("history_id").values()
        ),
        "signatures": plain(Signature.objects.filter(article=article).order_by("pk").values()),
        "events": events,
        "chain": list(AuditLink.objects.filter(article=article).order_by("seq").values_list("seq", "record_type")),
    }


def board_round(article: Article, editor, members) -> Article:
    """Invite three members; one declines, two accept (the first starts the review) and sign."""
    fresh = type(editor).objects.get
    invitations = board.invitation_create(article=article, actor=fresh(pk=editor.pk), reviewers=members)
    first, second, third = invitations
    board.invitation_decline(invitation=third, actor=fresh(pk=third.reviewer_id), reason="On leave.")
    accepted = [
        board.invitation_accept(invitation=invitation, actor=fresh(pk=invitation.reviewer_id), conflict="none")
        for invitation in (first, second)
    ]
    for invitation, recommendation in zip(accepted, ("approve", "minor_revisions"), strict=True):
        board.review_submit(
            invitation=invitation,
            actor=fresh(pk=invitation.reviewer_id),
            recommendation=recommendation,
            checklist=ALL_TICKED,
            comments_to_author="Clear.",
            password="pw",
            request=signing_request(),
        )
    return Article.objects.get(pk=article.pk)


@pytest.mark.django_db
def test_the_boards_steps_in_one_statement_write_what_the_orm_writes(
    in_state, editor, reviewers, board_member, monkeypatch
):
    members = [*reviewers, board_member]
    fast = board_round(in_state("submitted"), editor, members)
    monkeypatch.setattr(writes, "in_one_statement", lambda connection: False)
    slow = board_round(in_state("submitted"), editor, members)
    one, other = board_rows(fast), board_rows(slow)
    for kind in one:  # say which row and column differ
        assert len(one[kind]) == len(other[kind]), kind
        for a, b in zip(one[kind], other[kind], strict=True):
            assert a == b, (kind, {column: (a[column], b.get(column)) for column in a if a[column] != b.get(column)})
    rows = board_rows(fast)
    assert rows["article"][0]["status"] == "under_review" and rows["article"][0]["valid_signatures"] == 1
    assert [event["kind"] for event in rows["events"]][-3:] == [
        "invitation.invited",
        "invitation.declined",
        "round.reviews_complete",
    ]
    assert len(rows["invitation history"]) == 3 + 1 + 2 + 2 and len(rows["review history"]) == 2


@pytest.mark.django_db(transaction=True)
def test_round_trips_of_the_boards_steps_count_begin_and_commit(in_state, editor, reviewers):
    """The board's steps, BEGIN and COMMIT included (each actor's roles read by the request's door):
    invite 8, the first acceptance with the review's start 9, another acceptance 5, a signed
    review 10 (its password check and the lockout's count included)."""
    article = in_state("submitted")
    system_user()  # the account the review's start is credited to exists from its first use on

    def counted(call, actor) -> int:
        actor = type(actor).objects.get(pk=actor.pk)
        permissions.roles(actor)
        with CaptureQueriesContext(connection) as queries:
            call(actor)
        statements = [q["sql"] for q in queries.captured_queries]
        assert statements[-1] == "COMMIT", statements
        return len(statements)

    invitations = []
    costs = {
        "invite": counted(
            lambda actor: invitations.extend(
                board.invitation_create(article=article, actor=actor, reviewers=reviewers)
            ),
            editor,
        )
    }
    for step, invitation in zip(("accept + start review", "accept"), invitations, strict=True):
        costs[step] = counted(
            lambda actor, invitation=invitation: board.invitation_accept(
                invitation=invitation, actor=actor, conflict="none"
            ),
            invitation.reviewer,
        )
    invitation = Invitation.objects.select_related("article").get(pk=invitations[0].pk)  # as the door loads it
    costs["review + sign"] = counted(
        lambda actor: board.review_submit(
            invitation=invitation,
            actor=actor,
            recommendation="approve",
            checklist=ALL_TICKED,
            password="pw",
            request=signing_request(),
        ),
        invitation.reviewer,
    )
    assert costs == {"invite": 8, "accept + start review": 9, "accept": 5, "review + sign": 10}


@pytest.mark.django_db
@pytest.mark.parametrize("one_statement", [True, False])
def test_a_row_no_longer_in_its_state_writes_nothing_of_the_others(in_state, one_statement, monkeypatch):
    """Several rows written together: one stale row (its state moved meanwhile) and nothing of
    the others is left once the caller's transaction ends with the error."""
    if not one_statement:
        monkeypatch.setattr(writes, "in_one_statement", lambda connection: False)
    article = in_state("under_review")
    invitation = Invitation.objects.filter(article=article, status="accepted").first()
    events_before, history_before = Event.objects.count(), Invitation.history.count()
    invitation_before = writes.values_of(invitation)
    invitation.end_reason = "a change that must not stay"
    invitation._history_user, invitation._change_reason = article.author, "Test"
    article.valid_signatures += 5
    stale = writes.Update(article, [Article._meta.get_field("valid_signatures")], "status", "submitted", history=False)
    changed = writes.Update(invitation, writes.changed_fields(invitation, invitation_before), "status", "accepted")
    event = build_event(kind=EventKind.DECLINED, actor=article.author, article=article, payload={})
    with pytest.raises(ConcurrentTransition), transaction.atomic():
        writes.write_together([changed, stale], [event])
    assert Invitation.objects.get(pk=invitation.pk).end_reason == ""
    assert Article.objects.get(pk=article.pk).valid_signatures == 0
    assert (Event.objects.count(), Invitation.history.count()) == (events_before, history_before)


@pytest.mark.django_db(transaction=True)
def test_rows_are_written_together_only_in_the_callers_transaction(in_state):
    article = in_state("submitted")
    with pytest.raises(TransactionManagementError):
        writes.write_together([], [build_event(kind=EventKind.DECLINED, actor=article.author, article=article)])
