from django.db import migrations, models


class Migration(migrations.Migration):
    """The rolling slice's lap: where it stood N runs ago says how far tonight's slice must reach."""

    dependencies = [
        ("editorial", "0019_webhook_secret_encrypted"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditcheckpoint",
            name="rolling_lap",
            field=models.PositiveIntegerField(
                default=0,
                help_text="How many times the rolling slice has gone round every chain (a full run counts one).",
            ),
        ),
    ]
