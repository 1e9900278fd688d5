"""On PostgreSQL, history and transition records are append-only at the database level."""

from django.db import migrations

from editorial.workflow.append_only import protect, unprotect

TABLES = (
    "articles_historicalarticle",
    "articles_historicalreference",
    "articles_historicalspecialty",
    "editorial_transitionrecord",
    "articles_articleversion",
)


class Migration(migrations.Migration):
    dependencies = [
        ("editorial", "0002_roles"),
        ("articles", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: protect(schema_editor, TABLES),
            lambda apps, schema_editor: unprotect(schema_editor, TABLES),
        )
    ]
