"""Serve the local stand-in for Crossref and PubMed (editorial.sources.stub) until stopped."""

from django.core.management.base import BaseCommand

from editorial.sources.stub import StubServer


class Command(BaseCommand):
    help = "Serve the Crossref / PubMed stub the local settings point the resolver at (development only)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8009)

    def handle(self, *args, **options):
        server = StubServer((options["host"], options["port"]))
        self.stdout.write(f"Source stub: {server.base_url}/crossref and {server.base_url}/pubmed (Ctrl-C stops it)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
