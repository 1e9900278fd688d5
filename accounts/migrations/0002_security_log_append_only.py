"""The security log is append-only on PostgreSQL; DRF's plain-text tokens are dropped.

``rest_framework.authtoken`` is no longer installed (django-rest-knox stores digests): its
table, which held every token in clear, goes too.
"""

from django.db import migrations

from editorial.workflow.append_only import protect, unprotect

TABLES = ("accounts_securityevent",)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_security_log")]

    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: protect(schema_editor, TABLES),
            lambda apps, schema_editor: unprotect(schema_editor, TABLES),
        ),
        migrations.RunSQL("DROP TABLE IF EXISTS authtoken_token;", migrations.RunSQL.noop),
    ]
