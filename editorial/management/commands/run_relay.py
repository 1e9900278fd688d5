"""``manage.py run_relay``: hand committed outbox events to Celery (editorial.notifications.relay).

Run one per deployment, or several (their claims never overlap); stop with SIGTERM or Ctrl-C.
"""

import signal
import threading

from django.core.management.base import BaseCommand

from editorial.notifications import relay


class Command(BaseCommand):
    help = "Hand committed outbox events to Celery: woken by NOTIFY on PostgreSQL, polling on SQLite."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=100, help="events claimed per statement (default 100)")

    def handle(self, *args, batch: int, **options):
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        relay.run(stop=stop, batch=batch)
