"""The nightly check's rolling slice: a record changed long ago is found without ``--full``.

Each nightly run re-reads whole older chains after where the last one stopped, at least
1/EDITORIAL_AUDIT_FULL_CYCLE_DAYS of the links, wrapping: in that many nights every link is
re-read, and no night reads more than its share plus one article's chain.
"""

import pytest

from articles.models import Article
from editorial.models import AuditLink, Event, EventKind, TransitionRecord
from editorial.notifications import delivery, inbox
from editorial.notifications.tasks import verify_audit_chain
from editorial.workflow import chain_verify
from tests.editorial.audit.test_chain import tampering

NIGHTS = 3


@pytest.fixture
def approved_articles(in_state, settings) -> list[Article]:
    settings.EDITORIAL_AUDIT_FULL_CYCLE_DAYS = NIGHTS
    articles = [in_state("approved") for _ in range(5)]
    assert chain_verify.verify(full=True).checkpoint.ok  # every link so far is old for the nights below
    return articles


@pytest.mark.django_db
def test_a_record_changed_long_ago_is_found_within_the_cycle_and_auditors_are_alerted(approved_articles, auditor):
    last = approved_articles[-1]  # the last article in the slices' order: found on the cycle's last night at most
    record = TransitionRecord.objects.filter(article=last, transition="approve").get()
    with tampering() as cursor:
        cursor.execute("UPDATE editorial_transitionrecord SET reason = 'Rubber-stamped' WHERE id = %s", [record.pk])
    runs = [verify_audit_chain() for _ in range(NIGHTS)]
    assert all(run["links"] == 0 for run in runs)  # nothing new: only the slice can find it
    assert sum(run["breaks"] for run in runs) == 1, runs  # one pass over every chain finds it once
    alert = Event.objects.filter(kind=EventKind.AUDIT_CHAIN_BROKEN).latest("id")
    assert alert.payload["first_article"] == last.pk
    assert any(f"transition record #{record.pk}: reason changed" in line for line in alert.payload["first"])
    delivery.deliver(alert.pk)
    assert alert.pk in [n.event_id for n in inbox.inbox(auditor)]


def covered(after: int, through: int) -> set[int]:
    """The articles a slice from ``after`` to ``through`` re-read (wrapping past the last one)."""
    articles = Article.objects.filter(audit_length__gt=0)
    if through > after:
        return set(articles.filter(pk__gt=after, pk__lte=through).values_list("pk", flat=True))
    return set(articles.exclude(pk__gt=through, pk__lte=after).values_list("pk", flat=True))


@pytest.mark.django_db
def test_each_night_reads_its_share_and_the_cycle_covers_every_link(approved_articles):
    total = AuditLink.objects.count()
    longest = max(Article.objects.values_list("audit_length", flat=True))
    budget = chain_verify.rolling_budget()
    assert budget * NIGHTS >= total
    seen: set[int] = set()
    runs, start = [], 0
    for _ in range(NIGHTS):
        run = verify_audit_chain()
        assert run["breaks"] == 0 and run["links"] == 0  # nothing new was written
        assert budget <= run["rolling_links"] <= budget + longest  # bounded cost per night
        seen |= covered(start, run["rolling_article"])
        runs.append(run)
        start = run["rolling_article"]
    assert sum(run["rolling_links"] for run in runs) >= total
    assert {a.pk for a in approved_articles} <= seen
    # The cursor is kept between runs and wraps: within a few more nights a slice starts over.
    ends = [run["rolling_article"] for run in runs] + [verify_audit_chain()["rolling_article"] for _ in range(2)]
    assert any(later < earlier for earlier, later in zip(ends, ends[1:], strict=False)), ends


@pytest.mark.django_db
def test_a_full_run_reads_no_slice_and_the_next_night_goes_on_from_where_the_last_stopped(approved_articles):
    first = verify_audit_chain()
    outcome = chain_verify.verify(full=True)
    assert outcome.checkpoint.rolling_links == 0
    assert outcome.checkpoint.rolling_article == first["rolling_article"]
    second = verify_audit_chain()
    assert second["rolling_article"] != first["rolling_article"]


@pytest.mark.django_db
def test_a_declared_chain_start_counts_as_a_lap_and_the_nights_after_read_their_share(approved_articles):
    """``mark_chain_start`` (the bench data's) is a full, clean checkpoint: like a full run it
    counts a lap, so the nights after it read their share, not a whole lap each to catch up."""
    for _ in range(NIGHTS + 1):
        verify_audit_chain()
    chain_verify.mark_chain_start("Declared before the chain.")
    budget, longest = chain_verify.rolling_budget(), max(Article.objects.values_list("audit_length", flat=True))
    runs = [verify_audit_chain() for _ in range(NIGHTS)]
    assert all(run["rolling_links"] <= budget + longest for run in runs), runs
