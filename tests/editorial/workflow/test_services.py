"""The services: the trail they leave, what they refuse, and that they are all-or-nothing."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from articles.models import Article, ArticleVersion
from editorial.models import Event, EventKind, TransitionRecord
from editorial.workflow import board, services
from editorial.workflow.exceptions import NotReady, ReasonRequired, StaleArticle
from reviewers.models import Invitation
from tests.conftest import ALL_TICKED
from tests.factories import make_article, signing_request


@pytest.mark.django_db
def test_round_trip_leaves_the_full_trail(author, editor, reviewers):
    first, second = reviewers
    article = make_article(author)
    article = services.article_submit(article=article, actor=author, reason="First version.")
    invitations = board.invitation_create(article=article, actor=editor, reviewers=reviewers)
    accepted = [
        board.invitation_accept(invitation=invitations[0], actor=first, conflict="none"),
        board.invitation_accept(invitation=invitations[1], actor=second, conflict="none"),
    ]
    board.review_submit(
        invitation=accepted[0],
        actor=first,
        recommendation="minor_revisions",
        comments_to_author="Add doses.",
        confidential_comments="Otherwise fine.",
    )
    board.review_submit(
        invitation=accepted[1],
        actor=second,
        recommendation="approve",
        password="pw",
        checklist=ALL_TICKED,
        request=signing_request(),
    )
    article = services.article_request_changes(
        article=Article.objects.get(pk=article.pk), actor=editor, reason="Add doses."
    )
    article = services.article_update(
        article=article,
        expected_row_version=article.row_version,
        actor=author,
        fields={"body": "Doses added [1] [2]."},
        reason="Added doses.",
    )
    article = services.article_resubmit(article=article, actor=author, reason="Doses added.")
    for invitation in Invitation.objects.filter(article=article, review_round=2):
        invitation = board.invitation_accept(invitation=invitation, actor=invitation.reviewer, conflict="none")
        board.review_submit(
            invitation=invitation,
            actor=invitation.reviewer,
            recommendation="approve",
            password="pw",
            checklist=ALL_TICKED,
            request=signing_request(),
        )
    article = services.article_approve(
        article=Article.objects.get(pk=article.pk),
        actor=editor,
        password="pw",
        request=signing_request(),
        reason="Accurate now.",
    )

    records = list(TransitionRecord.objects.filter(article=article).order_by("created_at", "id"))
    assert [
        (r.transition, r.from_status, r.to_status, r.actor.username, r.reason, r.review_round) for r in records
    ] == [
        ("submit", "draft", "submitted", "author", "First version.", 1),
        ("start_review", "submitted", "under_review", "editorial-system", "Review started: a reviewer accepted", 1),
        ("request_changes", "under_review", "changes_requested", "editor", "Add doses.", 1),
        ("resubmit", "changes_requested", "submitted", "author", "Doses added.", 2),
        ("start_review", "submitted", "under_review", "editorial-system", "Review started: a reviewer accepted", 2),
        ("approve", "under_review", "approved", "editor", "Accurate now.", 2),
    ]

    history = list(article.history.order_by("history_date", "history_id"))
    assert [(h.status, h.history_user.username, h.history_change_reason) for h in history] == [
        ("draft", "author", "Draft created"),
        ("submitted", "author", "First version."),
        ("under_review", "editorial-system", "Review started: a reviewer accepted"),
        ("changes_requested", "editor", "Add doses."),
        ("changes_requested", "author", "Added doses."),
        ("submitted", "author", "Doses added."),
        ("under_review", "editorial-system", "Review started: a reviewer accepted"),
        ("approved", "editor", "Accurate now."),
    ]
    for row in article.references.model.history.filter(article_id=article.pk):
        assert row.history_user == author and row.history_change_reason
    # Round 2 was offered to the round-1 reviewers by the system, on the record.
    reinvited = Invitation.history.filter(article_id=article.pk, review_round=2, history_type="+")
    assert {(h.reviewer_id, h.history_user.username) for h in reinvited} == {
        (first.pk, "editorial-system"),
        (second.pk, "editorial-system"),
    }

    article.refresh_from_db()
    assert article.review_round == 2
    assert article.last_approved_at is not None and article.review_due_at > article.last_approved_at
    versions = list(ArticleVersion.objects.filter(article=article).order_by("review_round"))
    assert [v.review_round for v in versions] == [1, 2]
    assert versions[1].content["body"] == "Doses added [1] [2]."
    assert versions[0].content_hash != versions[1].content_hash
    assert article.published_version == versions[1]

    kinds = list(Event.objects.filter(article=article).order_by("id").values_list("kind", flat=True))
    assert kinds == [
        EventKind.SUBMITTED,
        EventKind.INVITED,
        EventKind.REVIEWS_COMPLETE,
        EventKind.DECISION,
        EventKind.INVITED,
        EventKind.SUBMITTED,
        EventKind.REVIEWS_COMPLETE,
        EventKind.DECISION,
    ]  # round 2: the re-invitation is written within the resubmission, just before its own event


@pytest.mark.django_db
def test_revise_keeps_the_approved_version_published(in_state, author):
    article = in_state("approved")
    published = article.published_version
    article = services.article_revise(article=article, actor=author)
    assert article.status == "draft"
    assert article.published_version == published
    article = services.article_update(
        article=article, expected_row_version=article.row_version, actor=author, fields={"summary": "Updated."}
    )
    article = services.article_submit(article=article, actor=author)
    assert article.review_round == 2
    assert article.published_version == published
    assert article.current_version.content["summary"] == "Updated."


@pytest.mark.django_db
def test_stale_copy_is_refused_and_changes_nothing(author, editor):
    article = make_article(author)
    stale_copy = Article.objects.get(pk=article.pk)
    services.article_update(
        article=article, expected_row_version=article.row_version, actor=author, fields={"summary": "Changed."}
    )
    before = (article.history.count(), TransitionRecord.objects.count())
    with pytest.raises(StaleArticle, match="changed meanwhile") as refused:
        services.article_submit(article=stale_copy, actor=author)
    assert refused.value.http_status == 409
    assert Article.objects.get(pk=article.pk).status == "draft"
    assert (article.history.count(), TransitionRecord.objects.count()) == before


@pytest.mark.django_db
def test_stale_content_edit_is_refused(author):
    article = make_article(author)
    stale_copy = Article.objects.get(pk=article.pk)
    services.article_update(
        article=article, expected_row_version=article.row_version, actor=author, fields={"summary": "Mine."}
    )
    with pytest.raises(StaleArticle):
        services.article_update(
            article=stale_copy, expected_row_version=stale_copy.row_version, actor=author, fields={"summary": "Theirs."}
        )
    assert Article.objects.get(pk=article.pk).summary == "Mine."


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["request_changes", "reject", "withdraw", "retract"])
def test_decisions_that_need_a_reason_refuse_a_blank_one(name, in_state, author, editor):
    source = {
        "request_changes": "under_review",
        "reject": "submitted",
        "withdraw": "draft",
        "retract": "approved",
    }
    article = in_state(source[name])
    actor = author if name == "withdraw" else editor
    with pytest.raises(ReasonRequired):
        services.article_transition(article=article, actor=actor, name=name, reason="   ")
    assert Article.objects.get(pk=article.pk).status == source[name]


@pytest.mark.django_db
def test_incomplete_draft_is_not_ready(author):
    article = services.article_create(actor=author, fields={"title": "Only a question?"})
    with pytest.raises(NotReady) as refused:
        services.article_submit(article=article, actor=author)
    assert "a summary" in refused.value.message and "at least one reference" in refused.value.message
    assert Article.objects.get(pk=article.pk).status == "draft"


@pytest.mark.django_db
def test_a_failure_inside_a_service_rolls_everything_back(author, monkeypatch, django_capture_on_commit_callbacks):
    article = make_article(author)
    before = (
        article.history.count(),
        TransitionRecord.objects.count(),
        Event.objects.count(),
        ArticleVersion.objects.count(),
    )

    def explode(*args, **kwargs):
        raise IntegrityError("disk full")

    monkeypatch.setattr("editorial.workflow.writes.save_with_records", explode)  # after the version is written
    with django_capture_on_commit_callbacks(execute=False) as callbacks, pytest.raises(IntegrityError):
        services.article_submit(article=article, actor=author)

    assert Article.objects.get(pk=article.pk).status == "draft"
    assert Article.objects.get(pk=article.pk).review_round == 0
    after = (
        article.history.count(),
        TransitionRecord.objects.count(),
        Event.objects.count(),
        ArticleVersion.objects.count(),
    )
    assert after == before
    assert callbacks == []


@pytest.mark.django_db
def test_a_service_writes_its_event_and_never_touches_the_broker(author, monkeypatch):
    """No broker I/O in a request: the relay hands the committed event over, not the service."""

    def no_broker(*args, **kwargs):
        raise AssertionError("a service published to the broker")

    monkeypatch.setattr("celery.app.base.Celery.send_task", no_broker)
    article = make_article(author)
    with transaction.atomic():
        services.article_submit(article=article, actor=author)
    event = Event.objects.get(article=article)
    assert (event.status, event.relayed_at) == (Event.Status.PENDING, None)  # waiting for the relay


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "source", "limit"),
    [
        # submit: + the lints' record of the new version (its check and, when any, its findings).
        # Each record of the article's trail adds to its audit chain the head and the link (one
        # statement on PostgreSQL, two on SQLite), on PostgreSQL a re-read of a history row's or
        # version's time, and one more when another connection moved the head last (read under
        # the lock): submit and approve chain 4 records, request changes and retract 3, start
        # review 1 (docs/benchmarks.md). The limits are SQLite's, the higher. The decisions and
        # retract: + the closing of the round (its open invitations, one query).
        ("submit", "draft", 23),
        ("start_review", "submitted", 12),
        ("approve", "ready", 26),  # + the lockout's count of failed attempts (django-axes, one query)
        ("request_changes", "ready", 18),
        ("retract", "approved", 17),
    ],
)
def test_query_count_of_each_transition(name, source, limit, in_state, author, editor):
    article = in_state(source)
    author_copy = type(author).objects.get(pk=author.pk)
    editor_copy = type(editor).objects.get(pk=editor.pk)
    actor = author_copy if name == "submit" else editor_copy
    reason = "Because." if name in ("request_changes", "retract") else ""
    with CaptureQueriesContext(connection) as queries:
        services.article_transition(
            article=article, actor=actor, name=name, reason=reason, password="pw", request=signing_request()
        )
    assert len(queries) <= limit, "\n".join(q["sql"] for q in queries)


@pytest.mark.django_db
def test_query_count_does_not_grow_with_references(author):
    """Snapshotting a submission reads the references in one query, however many there are."""
    counts = []
    for n in (1, 30):
        article = make_article(type(author).objects.get(pk=author.pk), title=f"Q{n}?", references=n)
        actor = type(author).objects.get(pk=author.pk)
        with CaptureQueriesContext(connection) as queries:
            services.article_submit(article=article, actor=actor)
        counts.append(len(queries))
    assert counts[0] == counts[1]


@pytest.mark.django_db
def test_query_counts_of_the_content_services(author):
    actor = type(author).objects.get(pk=author.pk)
    refs = [{"title": f"Source {n}"} for n in range(5)]
    with CaptureQueriesContext(connection) as created:
        article = services.article_create(
            actor=actor, fields={"title": "Q?", "summary": "A."}, references=refs, reason="New"
        )
    # roles, slug check, article + history (+ its chain link: 3, or 4 on PostgreSQL), the
    # references and their history in bulk
    assert len(created) <= 14, [q["sql"] for q in created]
    actor = type(author).objects.get(pk=author.pk)
    with CaptureQueriesContext(connection) as updated:
        services.article_update(
            article=article,
            expected_row_version=article.row_version,
            actor=actor,
            fields={"summary": "B."},
            reason="Edit",
        )
    assert len(updated) <= 12, [q["sql"] for q in updated]  # + the history row's chain link
