"""On PostgreSQL, the board's history, reviews and signatures are append-only."""

from django.db import migrations

from editorial.workflow.append_only import protect, unprotect

TABLES = (
    "reviewers_historicalreviewerprofile",
    "reviewers_historicalreviewerprofile_specialties",
    "reviewers_historicalinvitation",
    "reviewers_historicalreview",
    "reviewers_review",
    "reviewers_signature",
    "reviewers_failedsignatureattempt",
)


class Migration(migrations.Migration):
    dependencies = [
        ("reviewers", "0001_initial"),
        ("editorial", "0003_append_only_records"),
    ]

    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: protect(schema_editor, TABLES),
            lambda apps, schema_editor: unprotect(schema_editor, TABLES),
        )
    ]
