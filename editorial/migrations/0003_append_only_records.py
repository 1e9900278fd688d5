"""On PostgreSQL, history and transition records are append-only at the database level.

A row trigger refuses UPDATE and DELETE; TRUNCATE (used by test flushes) is unaffected.
Not on SQLite: its test flush deletes rows (see ENGINEERING.md).
"""

from django.db import migrations

TABLES = (
    "articles_historicalarticle",
    "articles_historicalreference",
    "articles_historicalspecialty",
    "editorial_transitionrecord",
    "articles_articleversion",
)

FUNCTION = """
CREATE OR REPLACE FUNCTION editorial_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION editorial_refuse_change();",
            params=None,
        )


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};", params=None)
    schema_editor.execute("DROP FUNCTION IF EXISTS editorial_refuse_change();", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("editorial", "0002_roles"),
        ("articles", "0001_initial"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
