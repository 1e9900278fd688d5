"""The relay's notification carries the event: the relay can publish it without reading it.

The trigger of 0011 sent an empty ``NOTIFY``; the relay then claimed the event with one
statement and published it. Now a new event's notification carries what the relay's claim
returns (``editorial.notifications.handover.columns``, as a JSON array in that order), read
when the writing transaction commits (a deferred constraint trigger: the article as the
transaction leaves it). A notification PostgreSQL could not carry (over 7,900 bytes: its
limit is 8,000) or sent for an event put back in the queue (an admin's retry) carries the
event's id alone, and the relay claims it as before.
"""

from importlib import import_module

from django.db import migrations

#: The channel the relay listens on (``editorial.notifications.relay.CHANNEL``).
CHANNEL = "editorial_events"
#: A notification's payload must stay under 8,000 bytes (PostgreSQL's limit), or the commit fails.
LIMIT = 7900

#: The trigger this one replaces, put back by the reverse migration.
OLD = import_module("editorial.migrations.0011_event_relay_and_digest_events").TRIGGER


def new(article_table: str, user_table: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION editorial_event_wake_relay() RETURNS trigger AS $$
DECLARE
    body text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT json_build_array(NEW.id, NEW.kind, NEW.payload::text, NEW.article_id, NEW.actor_id,
                                a.title, a.slug, a.author_id, a.status, a.review_round,
                                u.username, u.first_name, u.last_name, u.is_active)::text
          INTO body
          FROM (SELECT 1) AS one
          LEFT JOIN "{article_table}" a ON a.id = NEW.article_id
          LEFT JOIN "{user_table}" u ON u.id = NEW.actor_id;
    END IF;
    IF body IS NULL OR octet_length(body) > {LIMIT} THEN
        body := NEW.id::text;
    END IF;
    PERFORM pg_notify('{CHANNEL}', body);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER editorial_event_wake_relay
    AFTER INSERT OR UPDATE OF status, relayed_at ON editorial_event
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.status = 'pending' AND NEW.relayed_at IS NULL)
    EXECUTE FUNCTION editorial_event_wake_relay();
"""


def _replace(schema_editor, sql: str) -> None:
    schema_editor.execute("DROP TRIGGER IF EXISTS editorial_event_wake_relay ON editorial_event;", params=None)
    schema_editor.execute(sql, params=None)


def carry_the_event(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        article = apps.get_model("articles", "Article")._meta.db_table
        user = apps.get_model("auth", "User")._meta.db_table
        _replace(schema_editor, new(article, user))


def wake_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _replace(schema_editor, OLD)


class Migration(migrations.Migration):

    dependencies = [
        ("editorial", "0020_audit_rolling_lap"),
        ("articles", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(carry_the_event, wake_only)]
