"""PostgreSQL: as the application's role, the audit records cannot be changed, and its clock wins."""

from datetime import timedelta

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from editorial.models import TransitionRecord
from editorial.workflow import board, services
from tests.factories import make_article

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="database roles exist on PostgreSQL only")

AUDIT_TABLES = [
    "editorial_transitionrecord",
    "articles_historicalarticle",
    "articles_articleversion",
    "reviewers_review",
    "reviewers_signature",
    "editorial_auditlink",
    "accounts_securityevent",
    "django_admin_log",
]


def app_role() -> str:
    return f"{connection.settings_dict['NAME']}_app"


def connect_as_app() -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        host=db.get("HOST") or "127.0.0.1",
        port=db.get("PORT") or 5432,
        dbname=db["NAME"],
        user=app_role(),
        autocommit=True,
    )


def refused(conn: psycopg.Connection, statement: str) -> str:
    """The error PostgreSQL gives the application's role for ``statement`` (fails if none)."""
    with pytest.raises(psycopg.Error) as error:
        conn.execute(statement)
    return str(error.value)


def not_owner(message: str) -> bool:
    return "must be owner" in message or "permission denied for schema" in message


@pytest.mark.django_db(transaction=True)
def test_the_application_role_cannot_change_or_disarm_the_audit_trail(author, editor, reviewers):
    call_command("create_app_role", app_role())
    article = services.article_submit(article=make_article(author), actor=author)
    board.invitation_create(article=article, actor=editor, reviewers=reviewers)
    record = TransitionRecord.objects.get(article=article)
    with connect_as_app() as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == app_role()
        for table in AUDIT_TABLES:
            assert "permission denied" in refused(conn, f"UPDATE {table} SET id = id")  # noqa: S608 - table names of our own
            assert "permission denied" in refused(conn, f"DELETE FROM {table}")  # noqa: S608
            assert "permission denied" in refused(conn, f"TRUNCATE {table}")
            assert "must be owner" in refused(conn, f"ALTER TABLE {table} DISABLE TRIGGER ALL")
        assert "must be owner" in refused(
            conn, "DROP TRIGGER editorial_transitionrecord_append_only ON editorial_transitionrecord"
        )
        assert not_owner(
            refused(
                conn,
                "CREATE OR REPLACE FUNCTION editorial_refuse_change() RETURNS trigger AS $$ BEGIN RETURN NEW; END; $$ "
                "LANGUAGE plpgsql",
            )
        )
        assert not_owner(
            refused(
                conn,
                "CREATE OR REPLACE FUNCTION editorial_database_clock() RETURNS trigger AS $$ BEGIN RETURN NEW; END; $$ "
                "LANGUAGE plpgsql",
            )
        )
        assert "permission denied" in refused(conn, "SET session_replication_role = replica")
        # The decision letter is in the event's payload: only the delivery columns move.
        assert "permission denied" in refused(conn, "UPDATE editorial_event SET payload = '{}'")
        conn.execute("UPDATE editorial_event SET relayed_at = now() WHERE id = -1")
        assert "permission denied" in refused(conn, "DELETE FROM editorial_event")
        assert "permission denied" in refused(conn, "UPDATE editorial_notification SET recipient_id = recipient_id")
        assert (
            "cannot change" in refused(conn, "UPDATE reviewers_invitation SET reviewer_id = reviewer_id + 1")
            or not conn.execute("SELECT 1 FROM reviewers_invitation").fetchone()
        )
        assert "permission denied" in refused(conn, "DELETE FROM reviewers_invitation")

        # A back-dated insert gets the database's time.
        conn.execute(
            "INSERT INTO editorial_transitionrecord (article_id, transition, from_status, to_status, actor_id,"
            " actor_name, actor_role, reason, review_round, created_at)"
            " VALUES (%s, 'approve', 'under_review', 'approved', %s, '', '', 'Back-dated', 1, '2001-01-01 00:00+00')",
            [article.pk, author.pk],
        )
    forged = TransitionRecord.objects.get(reason="Back-dated")
    assert abs(forged.created_at - timezone.now()) < timedelta(minutes=1), forged.created_at
    assert record.created_at.year > 2001


@pytest.mark.django_db(transaction=True)
def test_the_owner_may_still_write_historical_times(author):
    """Tests and the bench generator run as the owner and write months of history."""
    article = make_article(author)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO editorial_transitionrecord (article_id, transition, from_status, to_status, actor_id,"
            " actor_name, actor_role, reason, review_round, created_at)"
            " VALUES (%s, 'submit', 'draft', 'submitted', %s, '', '', 'Generated', 1, '2025-01-01 00:00+00')",
            [article.pk, author.pk],
        )
    assert TransitionRecord.objects.get(reason="Generated").created_at.year == 2025
