"""Webhook secrets are kept encrypted (editorial.encryption): the ones stored in clear are encrypted now.

Each webhook's ``secret`` (``whsec_…`` in clear) becomes ``encrypted_secret``, its Fernet token
under the first key of ``EDITORIAL_WEBHOOK_SECRET_KEYS``, and the clear column is dropped.
The answers kept for Idempotency-Key replays (``IdempotencyKey.body``) of webhook
registrations held the secret too: it is taken out of them (a replay answers without it).

Backwards, the secrets are decrypted into the clear column again (with the keys of the moment);
the answers' secrets are not given back.
"""

import json

from django.db import migrations, models

from editorial import encryption


def encrypt_secrets(apps, schema_editor):
    Webhook = apps.get_model("editorial", "Webhook")
    for hook in list(Webhook.objects.only("pk", "secret")):
        Webhook.objects.filter(pk=hook.pk).update(encrypted_secret=encryption.encrypt(hook.secret), secret="")
    IdempotencyKey = apps.get_model("editorial", "IdempotencyKey")
    for record in list(IdempotencyKey.objects.filter(body__contains='"secret"').only("pk", "body")):
        answer = json.loads(record.body)
        if isinstance(answer, dict) and str(answer.get("secret", "")).startswith("whsec_"):
            del answer["secret"]
            IdempotencyKey.objects.filter(pk=record.pk).update(body=json.dumps(answer))


def decrypt_secrets(apps, schema_editor):
    Webhook = apps.get_model("editorial", "Webhook")
    for hook in list(Webhook.objects.only("pk", "encrypted_secret")):
        Webhook.objects.filter(pk=hook.pk).update(secret=encryption.decrypt(hook.encrypted_secret))


class Migration(migrations.Migration):
    dependencies = [
        ("editorial", "0018_idempotency_key_expiry_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhook",
            name="encrypted_secret",
            field=models.CharField(default="", max_length=255),
            preserve_default=False,
        ),
        migrations.RunPython(encrypt_secrets, decrypt_secrets),
        # A default first, so that going back can add the column again to rows that exist.
        migrations.AlterField(model_name="webhook", name="secret", field=models.CharField(default="", max_length=100)),
        migrations.RemoveField(model_name="webhook", name="secret"),
    ]
