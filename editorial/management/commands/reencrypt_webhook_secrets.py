"""``manage.py reencrypt_webhook_secrets``: every webhook secret under the first key (key rotation)."""

from django.core.management.base import BaseCommand, CommandError

from editorial.notifications import webhooks


class Command(BaseCommand):
    help = (
        "Encrypt every stored webhook secret again under the first key of EDITORIAL_WEBHOOK_SECRET_KEYS, "
        "so that the keys after it may be dropped. Run it once every process has the new list. Names each "
        "webhook whose secret no key decrypts (left unchanged) and exits 1 if there is any."
    )

    def handle(self, *args, **options):
        done = webhooks.reencrypt_secrets()
        summary = f"{done.moved} webhook secret(s) re-encrypted under the first key, {done.current} already under it"
        if done.unreadable:
            listed = ", ".join(map(str, done.unreadable))
            raise CommandError(
                f"{summary}; {len(done.unreadable)} no key decrypts (webhooks {listed}): keep the key that "
                "encrypted them in the list, or have their owners register them again.",
                returncode=1,
            )
        self.stdout.write(f"{summary}. The keys after the first are no longer needed.")
