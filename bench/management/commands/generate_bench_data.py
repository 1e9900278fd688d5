"""Generate a board's history at benchmark scale (see editorial/bench_data.py and docs/benchmarks.md)."""

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from articles.models import Article
from bench import data as bench_data


class Command(BaseCommand):
    help = (
        "Write a realistic board's history with bulk inserts: articles in every status, versions, "
        "invitations, reviews, signatures, transitions, events, notifications and their history. "
        "The same seed on an empty database gives the same rows."
    )

    def add_arguments(self, parser):
        parser.add_argument("--articles", type=int, default=1000)
        parser.add_argument("--reviewers", type=int, default=0, help="Board members (default: articles / 50).")
        parser.add_argument("--authors", type=int, default=0, help="Authors (default: articles / 100).")
        parser.add_argument("--editors", type=int, default=4)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--anchor",
            default=bench_data.DEFAULT_ANCHOR.date().isoformat(),
            help="Every generated moment lies before this date (fixed, for reproducible data).",
        )
        parser.add_argument("--password", default="bench", help="The password of every generated user.")
        parser.add_argument("--chunk", type=int, default=1000, help="Articles written per transaction.")
        parser.add_argument("--checksum", action="store_true", help="Print a SHA-256 of the generated tables.")
        parser.add_argument("--force", action="store_true", help="Add to a database that already has articles.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        if options["articles"] < 1:
            raise CommandError("--articles must be at least 1.")
        if Article.objects.exists() and not options["force"]:
            raise CommandError(
                "This database already has articles: the same seed gives the same data only on an empty one. "
                "Use a new database, or --force to add to it."
            )
        anchor = datetime.fromisoformat(options["anchor"])
        if anchor.tzinfo is None:
            anchor = anchor.replace(tzinfo=bench_data.UTC)
        articles = options["articles"]
        generator = bench_data.Generator(
            articles=articles,
            reviewers=options["reviewers"] or max(20, articles // 50),
            authors=options["authors"],
            editors=options["editors"],
            seed=options["seed"],
            anchor=anchor,
            password=options["password"],
            chunk=options["chunk"],
            progress=None if options["no_progress"] else bench_data.progress_line(self.stderr._out),
        )
        counts = generator.run()
        seconds = counts.pop("seconds")
        history = sum(n for label, n in counts.items() if ".Historical" in label)
        self.stdout.write(
            f"Generated {articles:,} articles in {seconds:.0f} s: "
            + ", ".join(f"{label.split('.')[-1]} {n:,}" for label, n in counts.items())
        )
        self.stdout.write(f"History rows for the articles' lives: {history:,} ({history / articles:.1f} per article).")
        if options["checksum"]:
            self.stdout.write(f"checksum {bench_data.checksum()}")
