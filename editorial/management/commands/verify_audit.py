"""``manage.py verify_audit [--full]``: recompute the audit chains and the signed content hashes."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from editorial.workflow import chain_verify


class Command(BaseCommand):
    help = (
        "Recompute each article's audit chain and every signed content hash from the last "
        "checkpoint, and a rolling slice of older chains (--full: from the beginning). Prints "
        "each break (article, record, what differs), alerts the auditors in their inbox and exits 1 if there is any."
    )

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="Verify everything, not only what is new.")

    def handle(self, *args, full: bool = False, **options):
        outcome = chain_verify.verify_and_alert(full=full)
        checkpoint = outcome.checkpoint
        for found in outcome.breaks:
            self.stderr.write(f"BREAK {found}")
        when = timezone.localtime(checkpoint.verified_at).strftime("%Y-%m-%d %H:%M:%S %Z")
        if checkpoint.full:
            read = f"{checkpoint.links} link(s) verified (full)"
        else:
            read = (
                f"{checkpoint.links} link(s) verified since the last checkpoint, and "
                f"{checkpoint.rolling_links} older one(s) re-read (rolling slice, through article "
                f"{checkpoint.rolling_article})"
            )
        summary = f"{read} at {when}: {len(outcome.breaks)} break(s)."
        if outcome.breaks:
            raise CommandError(summary, returncode=1)
        self.stdout.write(summary + " The chains hold.")
