"""Append-only tables on PostgreSQL: a row trigger refuses UPDATE and DELETE.

Used by migrations. TRUNCATE (the test flush) is unaffected. Not on SQLite, whose test
flush deletes rows.
"""

FUNCTION = """
CREATE OR REPLACE FUNCTION editorial_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""


def protect(schema_editor, tables) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)
    for table in tables:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION editorial_refuse_change();",
            params=None,
        )


def unprotect(schema_editor, tables) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in tables:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};", params=None)
