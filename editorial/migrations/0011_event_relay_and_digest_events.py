"""The relay: events wait for it (``relayed_at``), and on PostgreSQL a trigger wakes it at commit.

Digests become outbox events of their own: a digest still unsent gets its event here, so the
relay hands it over like any other.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

#: The channel the relay listens on (``editorial.notifications.relay.CHANNEL``).
CHANNEL = "editorial_events"

TRIGGER = f"""
CREATE OR REPLACE FUNCTION editorial_event_wake_relay() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER editorial_event_wake_relay
    AFTER INSERT OR UPDATE OF status, relayed_at ON editorial_event
    FOR EACH ROW WHEN (NEW.status = 'pending' AND NEW.relayed_at IS NULL)
    EXECUTE FUNCTION editorial_event_wake_relay();
"""


def install_trigger(apps, schema_editor):
    """NOTIFY is sent inside the writing transaction and delivered when it commits.

    Identical notifications of one transaction are folded into one by PostgreSQL, so a
    transaction that writes several events wakes the relay once.
    """
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER, params=None)


def remove_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS editorial_event_wake_relay ON editorial_event;", params=None)
        schema_editor.execute("DROP FUNCTION IF EXISTS editorial_event_wake_relay();", params=None)


def digests_to_events(apps, schema_editor):
    """Each digest not yet sent gets its event: the relay then hands it over."""
    Digest = apps.get_model("editorial", "Digest")
    Event = apps.get_model("editorial", "Event")
    for digest in Digest.objects.exclude(status="sent").filter(event__isnull=True):
        digest.event = Event.objects.create(kind="digest", payload={"digest": digest.pk})
        digest.save(update_fields=["event"])


class Migration(migrations.Migration):

    dependencies = [
        ('editorial', '0010_backfill_actor_credits'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='event',
            name='event_pending',
        ),
        migrations.RenameField(model_name='event', old_name='requeued_at', new_name='relayed_at'),
        migrations.AddField(
            model_name='digest',
            name='event',
            field=models.OneToOneField(blank=True, help_text='Its delivery.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='digest', to='editorial.event'),
        ),
        migrations.AlterField(
            model_name='event',
            name='relayed_at',
            field=models.DateTimeField(blank=True, help_text='When the event was last handed to the broker (by the relay, or again by the beat); empty while it waits for the relay.', null=True),
        ),
        migrations.RunPython(digests_to_events, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='digest',
            name='attempts',
        ),
        migrations.RemoveField(
            model_name='digest',
            name='claimed_at',
        ),
        migrations.RemoveField(
            model_name='digest',
            name='last_error',
        ),
        migrations.RemoveField(
            model_name='digest',
            name='sent_at',
        ),
        migrations.RemoveField(
            model_name='digest',
            name='status',
        ),
        migrations.AlterField(
            model_name='event',
            name='kind',
            field=models.CharField(choices=[('article.submitted', 'Article submitted'), ('article.decision', 'Decision'), ('article.withdrawn', 'Article withdrawn'), ('article.retracted', 'Article retracted'), ('article.rereview_due', 'Re-review due'), ('article.source_retracted', 'A cited source was retracted'), ('invitation.invited', 'Reviewers invited'), ('invitation.declined', 'Invitation declined'), ('invitation.expired', 'Invitation expired'), ('invitation.cancelled', 'Invitation cancelled'), ('review.due_soon', 'Review due soon'), ('review.overdue', 'Review overdue'), ('review.escalated', 'Overdue review escalated'), ('round.reviews_complete', 'All reviews in'), ('digest', 'Daily digest')], max_length=40),
        ),
        migrations.AlterField(
            model_name='notificationpreference',
            name='kind',
            field=models.CharField(choices=[('article.submitted', 'Article submitted'), ('article.decision', 'Decision'), ('article.withdrawn', 'Article withdrawn'), ('article.retracted', 'Article retracted'), ('article.rereview_due', 'Re-review due'), ('article.source_retracted', 'A cited source was retracted'), ('invitation.invited', 'Reviewers invited'), ('invitation.declined', 'Invitation declined'), ('invitation.expired', 'Invitation expired'), ('invitation.cancelled', 'Invitation cancelled'), ('review.due_soon', 'Review due soon'), ('review.overdue', 'Review overdue'), ('review.escalated', 'Overdue review escalated'), ('round.reviews_complete', 'All reviews in'), ('digest', 'Daily digest')], max_length=40),
        ),
        migrations.AddIndex(
            model_name='event',
            index=models.Index(condition=models.Q(('status', 'pending')), fields=['relayed_at', 'id'], name='event_pending_relay'),
        ),
        migrations.RunPython(install_trigger, remove_trigger),
    ]
