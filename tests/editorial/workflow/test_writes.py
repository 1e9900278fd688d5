"""A transition's writes in one statement (PostgreSQL) leave exactly the rows the ORM leaves.

``editorial.workflow.writes`` compiles the article's UPDATE, its history row, the transition
record and the event into one statement of CTEs on PostgreSQL. These tests fire the same
transitions both ways, on twin articles, and compare every column of what was written
(ids, times and the twins' own slugs aside); and they count the round trips, BEGIN and
COMMIT included, that a submit and the other transitions cost.
"""

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles.models import Article
from editorial.models import Event, TransitionRecord
from editorial.workflow import permissions, services, writes
from editorial.workflow.exceptions import MissingAuditContext
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
