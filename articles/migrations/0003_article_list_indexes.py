"""Indexes for the workspace's article list at scale (measured by bench/workspace.py).

- The list's order (newest change first): without it, every page sorts the whole table.
- On PostgreSQL, a trigram index on the upper-cased title, which is what the admin's
  ``title__icontains`` search compares (``UPPER(title) LIKE UPPER('%term%')``): without it,
  each search reads the whole table twice (the count and the page).
"""

from django.db import migrations, models


def create_title_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm", params=None)
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS article_title_trgm ON articles_article "
        "USING gin ((UPPER(title::text)) gin_trgm_ops)",
        params=None,
    )


def drop_title_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS article_title_trgm", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0002_article_review_due_at_and_more"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="article",
            index=models.Index(fields=["-updated_at", "-id"], name="article_updated"),
        ),
        migrations.RunPython(create_title_trigram_index, drop_title_trigram_index),
    ]
