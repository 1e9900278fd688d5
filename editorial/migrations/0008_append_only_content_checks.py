"""On PostgreSQL, what the checks found and the retraction notices are append-only."""

from django.db import migrations

from editorial.workflow.append_only import protect, unprotect

TABLES = (
    "articles_contentcheck",
    "articles_contentfinding",
    "articles_workupdate",
)


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0009_content_checks_and_cited_works"),
        ("editorial", "0007_event_kind_source_retracted"),
    ]

    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: protect(schema_editor, TABLES),
            lambda apps, schema_editor: unprotect(schema_editor, TABLES),
        )
    ]
