"""The nightly check's rule as a property over any interleaving of writes and nightly runs:
every record changed past the application is reported within ``EDITORIAL_AUDIT_FULL_CYCLE_DAYS``
runs of its change, whatever is written meanwhile (new articles ahead of the slice, links on
old chains, nothing at all); nothing written through the application is ever reported; no
run's slice reads more than one lap of the links.

Each example runs in a savepoint rolled back at its end, after a full run of its own.
"""

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from articles.models import Article
from editorial.models import AuditLink, TransitionRecord
from editorial.workflow import chain_verify
from editorial.workflow.events import record_event
from tests.editorial.audit.test_chain import tampering
from tests.factories import make_article

NIGHTS = 3

steps = st.lists(
    st.one_of(
        st.just(("night",)),
        st.tuples(st.just("article"), st.integers(0, 30)),  # a new article, with that many events
        st.tuples(st.just("grow"), st.integers(0, 20), st.integers(1, 12)),  # events on an article
        st.tuples(st.just("tamper"), st.integers(0, 20)),  # a transition record changed past the app
    ),
    min_size=1,
    max_size=14,
)


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=steps)
@example(steps=[("night",), ("tamper", 0), ("night",), *[("article", 30)] * 4])  # the trail grows ahead of the slice
def test_every_change_is_reported_within_the_cycle_and_nothing_else(steps, in_state, author, editor, settings):
    settings.EDITORIAL_AUDIT_FULL_CYCLE_DAYS = NIGHTS
    if not Article.objects.filter(status="approved").exists():
        for _ in range(3):
            in_state("approved")
    with transaction.atomic():
        assert chain_verify.verify(full=True).checkpoint.ok
        articles = list(Article.objects.order_by("pk").values_list("pk", flat=True))
        tampered: set[str] = set()  # every record changed (the slice reports one again on each lap)
        waiting: dict[str, int] = {}  # record changed -> nights run since its change, until reported
        for step in [*steps, *[("night",)] * NIGHTS]:  # the cycle's nights after the last step
            if step[0] == "article":
                article = make_article(author)
                for n in range(step[1]):
                    record_event(kind="article.rereview_due", actor=editor, article=article, payload={"n": n})
                articles.append(article.pk)
            elif step[0] == "grow":
                article = Article.objects.get(pk=articles[step[1] % len(articles)])
                for n in range(step[2]):
                    record_event(kind="article.rereview_due", actor=editor, article=article, payload={"n": n})
            elif step[0] == "tamper":
                records = TransitionRecord.objects.order_by("pk")
                record = records[step[1] % records.count()]
                with tampering() as cursor:
                    cursor.execute(
                        "UPDATE editorial_transitionrecord SET reason = reason || ' (edited)' WHERE id = %s",
                        [record.pk],
                    )
                name = chain_verify._name(TransitionRecord._meta.label_lower, record.pk)
                tampered.add(name)
                waiting.setdefault(name, 0)
            else:
                outcome = chain_verify.verify()
                named = {found.record for found in outcome.breaks}
                assert named <= tampered, outcome.breaks  # no false alarm
                assert outcome.checkpoint.rolling_links <= AuditLink.objects.count()  # at most one lap
                for name in list(waiting):
                    if name in named:
                        del waiting[name]
                    else:
                        waiting[name] += 1
                        assert waiting[name] < NIGHTS, (name, steps)  # not reported within the cycle
        transaction.set_rollback(True)
    assert connection.in_atomic_block  # the example ran inside the test's transaction
