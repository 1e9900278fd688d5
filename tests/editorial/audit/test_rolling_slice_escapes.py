"""The nightly check's rule: every record is re-verified within the cycle, whatever is
written meanwhile, and nothing written correctly is ever reported as a break.

Each test tampers past the application as ``test_chain.tampering`` does (or as the
application's own role may: it updates articles' rows) after a full run left a checkpoint,
then runs ``EDITORIAL_AUDIT_FULL_CYCLE_DAYS`` (here ``NIGHTS``) nightly runs and more: within
the cycle the change must be reported. Ways tried: a chain's length zeroed, a row slipped in
below the checkpoint's mark, a transition committed while a run reads, one long chain, a
trail that grows ahead of the slice.
"""

import threading

import pytest
from django.conf import settings
from django.db import connection

from articles.models import Article
from editorial.models import AuditLink, TransitionRecord
from editorial.notifications.tasks import verify_audit_chain
from editorial.workflow import chain_verify, services
from editorial.workflow.events import record_event
from tests.editorial.audit.test_chain import tampering, verify_audit

NIGHTS = 3

postgres_only = pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"], reason="sequences and a second connection"
)


@pytest.fixture
def approved_articles(in_state, settings) -> list[Article]:
    settings.EDITORIAL_AUDIT_FULL_CYCLE_DAYS = NIGHTS
    articles = [in_state("approved") for _ in range(4)]
    assert chain_verify.verify(full=True).checkpoint.ok
    return articles


def nights(count: int) -> list[dict]:
    return [verify_audit_chain() for _ in range(count)]


@pytest.mark.django_db
@pytest.mark.parametrize("which", [0, 1, -1])
def test_a_change_on_an_article_whose_chain_length_was_zeroed_is_found_within_the_cycle(approved_articles, which):
    """Holds: the slice counts only articles with ``audit_length > 0``, but re-reads every link
    in the range of article ids it spans, so zeroing an article's ``audit_length`` (a column
    the application's own role updates) does not hide it: its old change and its head are
    both reported within the cycle. The first, a middle and the last article are tried."""
    target = approved_articles[which]
    record = TransitionRecord.objects.filter(article=target, transition="approve").get()
    with tampering() as cursor:
        cursor.execute("UPDATE editorial_transitionrecord SET reason = 'Rubber-stamped' WHERE id = %s", [record.pk])
    Article.objects.filter(pk=target.pk).update(audit_length=0)  # no trigger needed: the app's role may
    runs = nights(NIGHTS)
    assert sum(run["breaks"] for run in runs) >= 1, (target.pk, runs)
    assert verify_audit("--full")[0] == 1  # a full run does find it


@postgres_only
@pytest.mark.django_db
def test_a_row_slipped_in_below_the_checkpoints_mark_is_found_within_the_cycle(in_state, settings):
    """New records no link covers are looked for above the last checkpoint's mark
    (``check_unchained``); a row inserted with an id below the mark (ids a rolled-back
    transaction left unused are common: every refused service that had inserted a row leaves
    one) is found by the rolling slice, which looks for its articles' records no link covers
    whatever their id, within the cycle."""
    settings.EDITORIAL_AUDIT_FULL_CYCLE_DAYS = NIGHTS
    first = in_state("approved")
    with connection.cursor() as cursor:  # an id left unused, as by a rolled-back insert
        cursor.execute("SELECT nextval(pg_get_serial_sequence('editorial_transitionrecord', 'id'))")
        [(gap,)] = cursor.fetchall()
    in_state("approved")  # later records: the checkpoint's mark goes past the gap
    assert chain_verify.verify(full=True).checkpoint.ok
    with tampering() as cursor:
        cursor.execute(
            "INSERT INTO editorial_transitionrecord (id, article_id, transition, from_status, to_status,"
            " actor_id, actor_name, actor_role, reason, review_round, created_at)"
            " SELECT %s, article_id, 'approve', 'under_review', 'approved', actor_id, actor_name, actor_role,"
            " 'Approved long ago', 1, '2001-01-01 00:00:00+00' FROM editorial_transitionrecord"
            " WHERE article_id = %s AND transition = 'approve'",
            [gap, first.pk],
        )
    runs = nights(2 * NIGHTS)
    code, output = verify_audit("--full")
    assert code == 1 and f"transition record #{gap}: not in the chain" in output, output
    assert sum(run["breaks"] for run in runs) >= 1, runs


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_transition_committed_during_a_nightly_run_is_no_break(approved_articles, monkeypatch, editor):
    """A run reads the slice's links, then the new links, then the heads: in one snapshot
    (``chain_verify._snapshot``), so an article of the slice whose head moves (another
    connection commits a transition) after its links were read is not reported as a broken
    chain, which would be a false alert to the auditors; the next run reads the new links."""
    run = chain_verify._Run
    target = approved_articles[0]

    # Someone retracts the article, on another connection, just before the heads are read.
    heads = run._check_heads

    def heads_after_a_write(self):
        if target.pk in self.heads and Article.objects.filter(pk=target.pk, status="approved").exists():
            worker = threading.Thread(
                target=lambda: (
                    services.article_retract(
                        article=Article.objects.get(pk=target.pk), actor=editor, reason="Recalled."
                    ),
                    connection.close(),
                )
            )
            worker.start()
            worker.join(timeout=30)
        return heads(self)

    monkeypatch.setattr(run, "_check_heads", heads_after_a_write)
    runs = nights(NIGHTS)
    assert Article.objects.get(pk=target.pk).status == "retracted"  # the write did land during a run
    assert sum(run["breaks"] for run in runs) == 0, runs
    monkeypatch.undo()
    assert verify_audit("--full")[0] == 0  # the chains do hold


@pytest.mark.django_db
def test_the_night_that_reaches_one_long_chain_reads_all_of_it(approved_articles, editor):
    """Holds as documented ("its share plus at most one article's chain"), measured: with one
    article holding most links, the night whose slice reaches it re-reads that whole chain."""
    long_one = approved_articles[-1]
    for n in range(60):  # a long chain: events on one article
        record_event(kind="article.rereview_due", actor=editor, article=long_one, payload={"n": n})
    assert chain_verify.verify(full=True).checkpoint.ok
    total, budget = AuditLink.objects.count(), chain_verify.rolling_budget()
    longest = Article.objects.get(pk=long_one.pk).audit_length
    runs = nights(NIGHTS + 1)
    print(f"total={total} budget={budget} longest={longest} per night={[r['rolling_links'] for r in runs]}")
    assert max(run["rolling_links"] for run in runs) <= budget + longest


@pytest.mark.django_db
def test_a_change_is_found_within_the_cycle_while_the_trail_grows(approved_articles, author, editor):
    """Each night's share is 1/NIGHTS of the links there are *that night*, but the way round to
    a changed record grows with every article written ahead of the slice meanwhile (an
    import, a busy week): a night also reads as far as it must to come round to where the
    slice stood NIGHTS runs ago, so a record changed just behind it is re-read within NIGHTS
    nights; no night reads more than one lap."""
    from tests.factories import make_article

    first = approved_articles[0]
    assert nights(1)[0]["rolling_article"] >= first.pk  # the first night re-read the first article
    record = TransitionRecord.objects.filter(article=first, transition="approve").get()
    with tampering() as cursor:
        cursor.execute("UPDATE editorial_transitionrecord SET reason = 'Rubber-stamped' WHERE id = %s", [record.pk])
    runs = nights(1)
    for _ in range(10):  # the trail grows: ten new articles of 30 links, ahead of the slice
        article = make_article(author)
        for n in range(30 - Article.objects.get(pk=article.pk).audit_length):
            record_event(kind="article.rereview_due", actor=editor, article=article, payload={"n": n})
    runs += nights(NIGHTS - 1)  # NIGHTS nights since the change
    print("RUNS", first.pk, runs)
    assert sum(run["breaks"] for run in runs) >= 1, runs
    assert max(run["rolling_links"] for run in runs) <= AuditLink.objects.count()


@pytest.mark.django_db
def test_a_change_behind_a_slice_that_stopped_mid_trail_is_found_while_the_trail_grows(
    approved_articles, author, editor
):
    """The same rule when the slice stops short of the last article (one chain longer than the
    others): the nights after a week that grows the trail ahead of the slice come round to a
    record changed just behind it within NIGHTS nights of its change (the night that must,
    reads as far as where the slice stood NIGHTS runs before)."""
    from tests.factories import make_article

    first, third = approved_articles[0], approved_articles[2]
    for n in range(10):  # the third chain is longer: the second night stops on it
        record_event(kind="article.rereview_due", actor=editor, article=third, payload={"n": n})
    assert chain_verify.verify(full=True).checkpoint.ok
    assert nights(1)[0]["rolling_article"] == approved_articles[1].pk  # the first two articles
    record = TransitionRecord.objects.filter(article=first, transition="approve").get()
    with tampering() as cursor:
        cursor.execute("UPDATE editorial_transitionrecord SET reason = 'Rubber-stamped' WHERE id = %s", [record.pk])
    runs = nights(1)
    assert runs[0]["rolling_article"] == third.pk  # mid-trail: the fourth article is ahead
    for _ in range(10):  # the trail grows ahead of the slice
        article = make_article(author)
        for n in range(30 - Article.objects.get(pk=article.pk).audit_length):
            record_event(kind="article.rereview_due", actor=editor, article=article, payload={"n": n})
    runs += nights(NIGHTS - 1)
    assert sum(run["breaks"] for run in runs) >= 1, runs
    assert max(run["rolling_links"] for run in runs) <= AuditLink.objects.count()
