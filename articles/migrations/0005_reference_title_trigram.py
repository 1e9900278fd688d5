"""On PostgreSQL, a trigram index on reference titles: the workspace searches them too."""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm", params=None)
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS reference_title_trgm ON articles_reference "
        "USING gin ((UPPER(title::text)) gin_trgm_ops)",
        params=None,
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS reference_title_trgm", params=None)


class Migration(migrations.Migration):
    dependencies = [("articles", "0004_worklist_indexes")]

    operations = [migrations.RunPython(create, drop)]
