"""What the chain costs a transition, in round trips to the database (not a timing)."""

import contextlib

import pytest
from django.db import connection
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext

from editorial.models import AuditLink
from editorial.workflow import chain, services
from tests.factories import signing_request


@contextlib.contextmanager
def without_the_chain():
    """The services as they were before the chain: its receivers disconnected."""
    for record_type, (model, _, _) in chain.CHAINED.items():
        post_save.disconnect(sender=model, dispatch_uid=f"editorial.workflow.chain.{record_type}")
    try:
        yield
    finally:
        chain.connect()


def round_trips(build, name, actor):
    article = build()
    actor = type(actor).objects.get(pk=actor.pk)  # a fresh copy each time: nothing cached on it
    with CaptureQueriesContext(connection) as queries:
        services.article_transition(
            article=article, actor=actor, name=name, reason="", password="pw", request=signing_request()
        )
    return len(queries), article


#: Records each transition writes into the article's trail: its history row, the transition
#: record, and for submit the version and the event, for approve the signature and the event.
RECORDS = {"submit": 4, "approve": 4}


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "source"), [("submit", "draft"), ("approve", "ready")])
def test_the_chain_costs_one_round_trip_per_transition(name, source, in_state, author, editor):
    actor = author if name == "submit" else editor
    with without_the_chain():
        before, _ = round_trips(lambda: in_state(source), name, actor)
    after, article = round_trips(lambda: in_state(source), name, actor)
    chained = AuditLink.objects.filter(article=article).order_by("-seq")[: RECORDS[name]]
    assert len(chained) == RECORDS[name]
    extra = after - before
    # All the transition's records at once, at its end (chain.together): move the head and
    # write the links, one statement on PostgreSQL, two on SQLite. The times the database's
    # clock may set come back with each INSERT.
    expected = 1 if connection.vendor == "postgresql" else 2
    print(f"{name} on {connection.vendor}: {before} round trips without the chain, {after} with it")
    assert extra == expected, (before, after)
