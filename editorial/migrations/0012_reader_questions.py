"""Readers' follow-up questions; and, on PostgreSQL, AI provenance kept with a version is written once.

A draft's declaration (version empty) may be replaced or withdrawn; the copy kept with a
submitted version may not: a row trigger refuses UPDATE and DELETE of those rows.
"""

import django.db.models.deletion
import django.db.models.functions.datetime
from django.conf import settings
from django.db import migrations, models

from editorial.workflow.append_only import FUNCTION

KEPT_PROVENANCE = """
CREATE TRIGGER articles_aiprovenance_kept BEFORE UPDATE OR DELETE ON articles_aiprovenance
FOR EACH ROW WHEN (OLD.version_id IS NOT NULL) EXECUTE FUNCTION editorial_refuse_change();
"""


def protect_kept_provenance(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)
        schema_editor.execute(KEPT_PROVENANCE, params=None)


def unprotect_kept_provenance(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS articles_aiprovenance_kept ON articles_aiprovenance;", params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('articles', '0012_ai_provenance'),
        ('editorial', '0011_event_relay_and_digest_events'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ReaderQuestion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('text', models.TextField(help_text='Plain text, sanitised.', max_length=1000)),
                ('status', models.CharField(choices=[('open', 'Open'), ('dismissed', 'Dismissed'), ('merged', 'Merged into another'), ('commissioned', 'Commissioned, waiting for an author'), ('drafting', 'Claimed: an article is being drafted')], default='open', max_length=20)),
                ('asked_at', models.DateTimeField(db_default=django.db.models.functions.datetime.Now(), db_index=True)),
                ('handled_at', models.DateTimeField(blank=True, null=True)),
                ('note', models.TextField(blank=True, max_length=2000, verbose_name="editor's note")),
                ('claimed_at', models.DateTimeField(blank=True, null=True)),
                ('article', models.ForeignKey(help_text='Asked from its page.', on_delete=django.db.models.deletion.PROTECT, related_name='reader_questions', to='articles.article')),
                ('claimed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('draft', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='from_question', to='articles.article')),
                ('handled_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('merged_into', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='duplicates', to='editorial.readerquestion')),
            ],
            options={
                'ordering': ['-asked_at', '-id'],
                'indexes': [models.Index(fields=['status', '-asked_at'], name='question_status_asked')],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('claimed_by__isnull', False), ('draft__isnull', False), ('status', 'drafting')), models.Q(models.Q(('status', 'drafting'), _negated=True), ('draft__isnull', True)), _connector='OR'), name='question_draft_when_claimed')],
            },
        ),
        migrations.RunPython(protect_kept_provenance, unprotect_kept_provenance),
    ]
