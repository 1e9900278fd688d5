"""The audit chain: each tampering is reported (article, record, what differs), nothing otherwise."""

import contextlib
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from articles.models import Article
from editorial.models import AuditLink, TransitionRecord
from editorial.workflow import chain_verify, services


@contextlib.contextmanager
def tampering():
    """Write as someone past the application: on PostgreSQL the append-only triggers are off."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        try:
            yield cursor
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SET session_replication_role = origin")


def verify_audit(*args) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit", *args, stdout=out, stderr=err)
    except CommandError as error:
        return error.returncode, err.getvalue() + str(error)
    return 0, out.getvalue() + err.getvalue()


@pytest.fixture
def approved(in_state) -> Article:
    return in_state("approved")


@pytest.mark.django_db
def test_a_whole_review_is_chained_and_verifies_clean(approved):
    article = Article.objects.get(pk=approved.pk)
    links = list(AuditLink.objects.filter(article=article).order_by("seq"))
    kinds = {link.record_type for link in links}
    assert kinds == {
        "articles.historicalarticle",
        "editorial.transitionrecord",
        "articles.articleversion",
        "reviewers.review",
        "reviewers.signature",
        "editorial.event",
    }
    assert [link.seq for link in links] == list(range(1, len(links) + 1))
    assert (article.audit_head, article.audit_length) == (links[-1].link_hash, len(links))
    code, output = verify_audit("--full")
    assert code == 0 and "0 break(s)" in output, output
    code, output = verify_audit()  # incremental: nothing new since
    assert code == 0 and "0 link(s) verified" in output, output


@pytest.mark.django_db
def test_a_changed_reason_is_reported(approved):
    record = TransitionRecord.objects.filter(article=approved, transition="approve").get()
    assert verify_audit("--full")[0] == 0
    with tampering() as cursor:
        cursor.execute("UPDATE editorial_transitionrecord SET reason = %s WHERE id = %s", ["Rubber-stamped", record.pk])
    code, output = verify_audit("--full")
    assert code == 1
    assert f"article {approved.pk}: transition record #{record.pk}: reason changed since it was written" in output
    assert "Rubber-stamped" in output
    assert output.count("BREAK") == 1, output


@pytest.mark.django_db
def test_a_deleted_row_is_reported(approved):
    record = TransitionRecord.objects.filter(article=approved, transition="start_review").first() or (
        TransitionRecord.objects.filter(article=approved).order_by("id").first()
    )
    with tampering() as cursor:
        cursor.execute("DELETE FROM editorial_transitionrecord WHERE id = %s", [record.pk])
    code, output = verify_audit("--full")
    assert code == 1
    assert f"article {approved.pk}: transition record #{record.pk}: deleted" in output, output
    assert output.count("BREAK") == 1, output


@pytest.mark.django_db
def test_an_inserted_back_dated_row_is_reported_by_the_incremental_run_too(approved, editor):
    assert verify_audit()[0] == 0  # the checkpoint: everything so far holds
    with tampering() as cursor:
        cursor.execute(
            "INSERT INTO editorial_transitionrecord (article_id, transition, from_status, to_status, actor_id,"
            " actor_name, actor_role, reason, review_round, created_at)"
            " VALUES (%s, 'approve', 'under_review', 'approved', %s, 'Ed', 'editor', 'Approved long ago', 1,"
            " '2001-01-01 00:00:00+00')",
            [approved.pk, editor.pk],
        )
    forged = TransitionRecord.objects.get(reason="Approved long ago")
    code, output = verify_audit()
    assert code == 1
    assert f"article {approved.pk}: transition record #{forged.pk}: not in the chain" in output, output
    assert "2001" in output
    assert output.count("BREAK") == 1, output
    assert verify_audit("--full")[0] == 1  # and a full run finds it as well


@pytest.mark.django_db
def test_a_change_after_the_checkpoint_is_found_by_the_incremental_run(in_state):
    assert verify_audit()[0] == 0
    article = in_state("submitted")
    version = article.current_version
    with tampering() as cursor:
        cursor.execute("UPDATE articles_articleversion SET content_hash = %s WHERE id = %s", ["0" * 64, version.pk])
    code, output = verify_audit()
    assert code == 1
    assert f"article version #{version.pk}: content_hash changed" in output, output
    assert "its content no longer hashes" in output


@pytest.mark.django_db
def test_a_rewritten_head_is_reported(approved):
    Article.objects.filter(pk=approved.pk).update(audit_length=1)
    code, output = verify_audit("--full")
    assert code == 1 and f"article {approved.pk}: chain head" in output, output


@pytest.mark.django_db
def test_each_run_stores_a_checkpoint(approved):
    outcome = chain_verify.verify(full=True)
    article = Article.objects.get(pk=approved.pk)
    assert outcome.checkpoint.ok and outcome.checkpoint.links >= article.audit_length > 0
    assert chain_verify.verify().checkpoint.links == 0


@pytest.mark.django_db
def test_a_head_moved_by_another_connection_is_read_under_the_lock(in_state, editor):
    """The head this connection remembers may be stale (another process appended, or a rollback)."""
    article = in_state("submitted")
    connection.__dict__.setdefault("_audit_heads", {})[article.pk] = ("f" * 64, article.audit_length + 5)
    services.article_start_review(article=article, actor=editor)
    links = list(AuditLink.objects.filter(article=article).order_by("seq"))
    assert [link.seq for link in links] == list(range(1, len(links) + 1))
    assert verify_audit("--full")[0] == 0
