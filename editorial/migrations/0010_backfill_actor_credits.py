"""Records written before they kept their actor's name and roles get them now, once.

From the accounts as they are at migration time (the best knowledge there is of "then"),
so that no later rename changes them. On PostgreSQL these tables are append-only: their
triggers are lifted for this one UPDATE, in the migration's transaction.
"""

from django.db import migrations

from editorial.workflow.append_only import protect, unprotect

#: (app, model, the user column, the two columns to fill)
CREDITED = [
    ("articles", "HistoricalArticle", "history_user_id", "history_actor_name", "history_actor_role"),
    ("articles", "HistoricalReference", "history_user_id", "history_actor_name", "history_actor_role"),
    ("articles", "HistoricalSpecialty", "history_user_id", "history_actor_name", "history_actor_role"),
    ("reviewers", "HistoricalReviewerProfile", "history_user_id", "history_actor_name", "history_actor_role"),
    ("reviewers", "HistoricalInvitation", "history_user_id", "history_actor_name", "history_actor_role"),
    ("reviewers", "HistoricalReview", "history_user_id", "history_actor_name", "history_actor_role"),
    ("reviewers", "FailedSignatureAttempt", "user_id", "actor_name", "actor_role"),
    ("editorial", "TransitionRecord", "actor_id", "actor_name", "actor_role"),
]


def credit(apps, schema_editor):
    User = apps.get_model("auth", "User")
    models = [(apps.get_model(app, name), *columns) for app, name, *columns in CREDITED]
    tables = [model._meta.db_table for model, *_ in models]
    unprotect(schema_editor, tables)
    for user in User.objects.prefetch_related("groups"):
        name = f"{user.first_name} {user.last_name}".strip() or user.username
        roles = sorted(group.name for group in user.groups.all()) + (["Operator"] if user.is_superuser else [])
        for model, user_column, name_column, role_column in models:
            model.objects.filter(**{user_column: user.pk, name_column: ""}).update(
                **{name_column: name, role_column: ", ".join(roles)}
            )
    protect(schema_editor, tables)


class Migration(migrations.Migration):
    dependencies = [
        ("editorial", "0009_transition_credits_actor"),
        ("articles", "0010_history_credits_actor"),
        ("reviewers", "0006_records_credit_actor"),
    ]

    operations = [migrations.RunPython(credit, migrations.RunPython.noop)]
