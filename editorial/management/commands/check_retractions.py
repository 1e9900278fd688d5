"""Ask now whether the works cited by one article (or the next batch of all cited works) were retracted."""

from django.core.management.base import BaseCommand, CommandError

from editorial.notifications.retractions import article_by_key, watch


class Command(BaseCommand):
    help = (
        "Run the retraction watch now: for one article (--article ID or slug), every DOI it cites; "
        "without it, the next batch of cited DOIs the periodic task would ask about."
    )

    def add_arguments(self, parser):
        parser.add_argument("--article", help="The article's id or slug.")

    def handle(self, *args, **options):
        article = None
        if options["article"]:
            article = article_by_key(options["article"])
            if article is None:
                raise CommandError(f"No article with id or slug {options['article']!r}.")
        report = watch(article=article)
        if report.skipped:
            raise CommandError(report.skipped)
        self.stdout.write(
            f"Asked about {report.asked} cited work(s): {report.updates} new retraction or correction notice(s)"
            + (f"; no answer for {', '.join(report.failed)}" if report.failed else "")
            + "."
        )
