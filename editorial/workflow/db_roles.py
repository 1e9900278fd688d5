"""PostgreSQL: the application's own role, and the database's clock on the records it writes.

Migrations, tests and the bench generator run as the tables' owner. The running application
connects as another role (``manage.py create_app_role``) that may read and insert the
append-only records but not change or delete them, update only the columns that move
(deliveries' status and the like), and, not owning anything, cannot TRUNCATE, ALTER (DISABLE
TRIGGER), DROP TRIGGER or replace the trigger functions (only an owner or a superuser can: PostgreSQL's
privileges). FDA 21 CFR Part 11 §11.10(e): "secure, computer-generated, time-stamped audit
trails … Record changes shall not obscure previously recorded information"; EU GMP Annex 11 §9.

A BEFORE INSERT trigger sets each record's time to ``clock_timestamp()`` when the inserting
role is not the table's owner: the application cannot back-date a record; the owner (tests,
the bench generator writing months of history) still can.
"""

from psycopg import sql

#: Records written once: the application reads and inserts them, nothing else.
APPEND_ONLY = (
    "accounts_securityevent",
    "articles_articleversion",
    "articles_contentcheck",
    "articles_contentfinding",
    "articles_historicalarticle",
    "articles_historicalreference",
    "articles_historicalspecialty",
    "articles_workupdate",
    "django_admin_log",
    "editorial_auditcheckpoint",
    "editorial_auditlink",
    "editorial_digest",
    "editorial_historicalreaderquestion",
    "editorial_transitionrecord",
    "reviewers_failedsignatureattempt",
    "reviewers_historicalinvitation",
    "reviewers_historicalreview",
    "reviewers_historicalreviewerprofile",
    "reviewers_historicalreviewerprofile_specialties",
    "reviewers_review",
    "reviewers_signature",
)

#: Records whose content is fixed but whose delivery moves: the columns that may change.
#: An event's kind, article, actor and payload (the decision letter) never change.
UPDATABLE_COLUMNS = {
    "editorial_event": ("status", "relayed_at", "done_at"),
    "editorial_notification": ("status", "attempts", "last_error", "claimed_at", "sent_at", "read_at", "digest_id"),
}

#: Invitations move through their states by full saves (every column in the SET), so their
#: identity is kept by a trigger instead: who was invited, to which round, by whom, when.
IMMUTABLE_COLUMNS = {
    "reviewers_invitation": ("article_id", "review_round", "reviewer_id", "invited_by_id", "invited_at"),
}

#: Read only: the migrations' own record.
READ_ONLY = ("django_migrations",)

#: The time column of each record the database's clock stamps when the application inserts it.
CLOCKED = {
    "accounts_securityevent": "created_at",
    "articles_articleversion": "created_at",
    "articles_contentcheck": "created_at",
    "articles_historicalarticle": "history_date",
    "articles_historicalreference": "history_date",
    "articles_historicalspecialty": "history_date",
    "articles_workupdate": "recorded_at",
    "django_admin_log": "action_time",
    "editorial_auditcheckpoint": "verified_at",
    "editorial_auditlink": "created_at",
    "editorial_event": "created_at",
    "editorial_historicalreaderquestion": "history_date",
    "editorial_notification": "created_at",
    "editorial_transitionrecord": "created_at",
    "reviewers_failedsignatureattempt": "attempted_at",
    "reviewers_historicalinvitation": "history_date",
    "reviewers_historicalreview": "history_date",
    "reviewers_historicalreviewerprofile": "history_date",
    "reviewers_invitation": "invited_at",
    "reviewers_review": "submitted_at",
    "reviewers_signature": "signed_at",
}

#: Clocked tables created after the migration that installs the clocks (editorial 0014): the
#: migration creating each installs its own (``install_clock``), and ``install_triggers`` skips it.
CLOCKED_LATER = ("editorial_historicalreaderquestion",)

CLOCK_FUNCTION = """
CREATE OR REPLACE FUNCTION editorial_database_clock() RETURNS trigger AS $$
BEGIN
    IF current_user <> (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = TG_RELID) THEN
        NEW := jsonb_populate_record(NEW, jsonb_build_object(TG_ARGV[0], clock_timestamp()));
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""

IDENTITY_FUNCTION = """
CREATE OR REPLACE FUNCTION editorial_keep_identity() RETURNS trigger AS $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY TG_ARGV LOOP
        IF to_jsonb(NEW) -> name IS DISTINCT FROM to_jsonb(OLD) -> name THEN
            RAISE EXCEPTION 'audit records keep their identity: % of % cannot change', name, TG_TABLE_NAME;
        END IF;
    END LOOP;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def install_triggers(schema_editor) -> None:
    """The database's clock and the invitations' identity (a migration, as the owner)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CLOCK_FUNCTION, params=None)
    schema_editor.execute(IDENTITY_FUNCTION, params=None)
    for table in CLOCKED:
        if table not in CLOCKED_LATER:
            _clock_trigger(schema_editor, table)
    for table, columns in IMMUTABLE_COLUMNS.items():
        arguments = ", ".join(f"'{column}'" for column in columns)
        schema_editor.execute(
            f"CREATE TRIGGER {table}_keep_identity BEFORE UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION editorial_keep_identity({arguments});",
            params=None,
        )


def install_clock(schema_editor, tables) -> None:
    """The database's clock on ``tables`` added after ``install_triggers`` ran (a migration)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CLOCK_FUNCTION, params=None)
    for table in tables:
        _clock_trigger(schema_editor, table)


def _clock_trigger(schema_editor, table: str) -> None:
    schema_editor.execute(
        f"CREATE TRIGGER {table}_database_clock BEFORE INSERT ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION editorial_database_clock('{CLOCKED[table]}');",
        params=None,
    )


def remove_clock(schema_editor, tables) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in tables:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_database_clock ON {table};", params=None)


def remove_triggers(schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    remove_clock(schema_editor, [table for table in CLOCKED if table not in CLOCKED_LATER])
    for table in IMMUTABLE_COLUMNS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_keep_identity ON {table};", params=None)


def grant_statements(role: str, database: str, tables: list[str]) -> list[sql.Composed]:
    """The statements that give ``role`` exactly the application's rights on ``tables``.

    Idempotent: everything is revoked first, then granted; run again after each migration
    (a new table gets the ordinary rights: SELECT, INSERT, UPDATE, DELETE).
    """
    who = sql.Identifier(role)
    statements = [
        sql.SQL("ALTER ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS").format(who),
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), who),
        sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"),
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(who),
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(who),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(who),
    ]
    for table in tables:
        name = sql.Identifier(table)
        if table in APPEND_ONLY:
            rights = sql.SQL("SELECT, INSERT")
        elif table in UPDATABLE_COLUMNS:
            columns = sql.SQL(", ").join(sql.Identifier(c) for c in UPDATABLE_COLUMNS[table])
            rights = sql.SQL("SELECT, INSERT, UPDATE ({})").format(columns)
        elif table in READ_ONLY:
            rights = sql.SQL("SELECT")
        elif table in IMMUTABLE_COLUMNS:
            rights = sql.SQL("SELECT, INSERT, UPDATE")
        else:
            rights = sql.SQL("SELECT, INSERT, UPDATE, DELETE")
        statements.append(sql.SQL("GRANT {} ON {} TO {}").format(rights, name, who))
    return statements
