"""Notifications: commit-to-delivered latency beside a bare one-way Celery hop, then 5,000 events.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_1k python -m bench.notifications

Everything runs here: a redis-server of the benchmark's own on a spare loopback port (the
broker, and a result backend for the bare task only), the relay (``manage.py run_relay``),
one real Celery worker process (``celery -A config worker``, pool solo unless --pool says
otherwise), all with bench/settings.py, and a small SMTP sink on loopback
(tests/processes.py) that records when it took each message and its Message-ID.

Events are written as the services write them: ``editorial.workflow.events.record_event``
inside a transaction; the relay hands each to Celery once committed (woken by the NOTIFY
the event table's trigger sends at commit). Each is a decision for one generated author, so
one inbox entry and one e-mail.

1. Latency, one event at a time (everything idle each time), interleaved with the bare
   task (``bench.tasks.noop``), one of each per round:
   - **commit → delivery committed and visible**, the figure judged: from just after the
     event's COMMIT returned to the moment this process is told that the worker's mark
     ("sent") is committed. It is told by ``NOTIFY`` from a trigger the benchmark puts on
     the deliveries table for the run (``bench_delivery_visible``, dropped at the end),
     delivered by PostgreSQL at that commit: no polling, nothing ends early.
   - commit → e-mail accepted by SMTP (the sink's clock, taken when it has the message).
   - the relay's wake-up: commit → the leading relay reads the event's notification (the
     ``relayed_at`` it stamps after publishing is that moment).
   - **the bare one-way hop**: publish → the task starts running in the worker (its own
     ``time.time()``, carried back through the result backend; the way back is not timed).
2. Throughput: 5,000 events written as fast as one process can, relayed and delivered by
   the worker to the SMTP sink. No loss, no duplicate: every event has exactly one sent
   e-mail row with one attempt, and the sink received each message exactly once.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.common import print_machine, require_postgresql, setup, summary_ms, table, write_json

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = {
    "transition": "request_changes",
    "from": "under_review",
    "to": "changes_requested",
    "reason": "Add doses for older adults.",
    "round": 1,
    "letter": "Decision on round 1: Changes requested.\n\nFrom the editor:\nAdd doses for older adults.\n",
}


class CeleryWorker:
    """One real worker process with the bench settings; stopped by its process group."""

    def __init__(self, *, broker: str, backend: str, email_url: str, pool: str, concurrency: int, log: Path):
        self.command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=WARNING",
        ]
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "CELERY_BROKER_URL": broker,
            "BENCH_RESULT_BACKEND": backend,
            "EMAIL_URL": email_url,
        }
        self.log = log
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=open(self.log, "ab"),  # noqa: SIM115 - lives as long as the process
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


class RelayProcess(CeleryWorker):
    """``manage.py run_relay`` with the bench settings, stopped like the worker."""

    def __init__(self, *, broker: str, log: Path):
        super().__init__(broker=broker, backend="", email_url="dummymail://", pool="solo", concurrency=1, log=log)
        self.command = [sys.executable, "manage.py", "run_relay"]


#: Tells this process when a delivery's "sent" mark is committed (installed for the run only).
VISIBLE_TRIGGER = """
CREATE OR REPLACE FUNCTION bench_delivery_visible() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('bench_delivered', NEW.event_id::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS bench_delivery_visible ON editorial_notification;
CREATE TRIGGER bench_delivery_visible AFTER UPDATE OF status ON editorial_notification
    FOR EACH ROW WHEN (NEW.status = 'sent' AND NEW.channel = 'email') EXECUTE FUNCTION bench_delivery_visible();
"""
DROP_TRIGGER = """
DROP TRIGGER IF EXISTS bench_delivery_visible ON editorial_notification;
DROP FUNCTION IF EXISTS bench_delivery_visible();
"""


def emit(article, actor, commits: list) -> int:
    """One decision event, written and handed over exactly as the services do it."""
    from django.db import transaction

    from editorial.models import EventKind
    from editorial.workflow.events import record_event

    with transaction.atomic():
        event = record_event(kind=EventKind.DECISION, actor=actor, article=article, payload=dict(PAYLOAD))
    # The clock starts when COMMIT has returned: the event is durable and visible. PostgreSQL
    # sends the NOTIFY as the commit completes, so the relay may read it a fraction of
    # a millisecond before this line runs (a negative wake-up below).
    commits.append(time.time())
    return event.pk


def wait_for(predicate, timeout: float, every: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("Timed out waiting for the worker: see the worker log.")
        time.sleep(every)


def cast(article_count_: int):
    from django.contrib.auth import get_user_model

    from articles.models import Article

    User = get_user_model()
    editor = User.objects.filter(username__startswith="bench-editor-").order_by("username").first()
    article = Article.objects.filter(author__username__startswith="bench-author-").order_by("pk").first()
    if editor is None or article is None:
        raise SystemExit("No generated data here: run python -m bench.prepare first (docs/benchmarks.md).")
    return article, editor


def durable_commit() -> float:
    """Seconds for the smallest transaction PostgreSQL must flush to disk at COMMIT (an xid, no rows).

    The delivery's mark pays one such flush; printed beside the figures as the disk's share.
    """
    from django.db import connection, transaction

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT txid_current()")
    return time.perf_counter() - started


def measure_latency(count: int, article, editor, listener, smtp) -> dict:
    from bench.tasks import noop
    from editorial.models import Event, Notification

    bare_one_way, bare_round_trip, commits, visible, ids, flushes = [], [], [], {}, [], []
    for _ in range(count):
        started = time.time()
        ran_at = noop.apply_async().get(timeout=30)
        bare_round_trip.append(time.time() - started)
        bare_one_way.append(ran_at - started)
        flushes.append(durable_commit())
        ids.append(emit(article, editor, commits))
        for note in listener.notifies(timeout=30):
            visible[int(note.payload)] = time.time()
            if int(note.payload) == ids[-1]:
                break
        else:
            raise SystemExit("Timed out waiting for a delivery: see the worker and relay logs.")
        time.sleep(0.02)  # let the worker finish its task before the next round
    relayed = dict(Event.objects.filter(pk__in=ids).values_list("pk", "relayed_at"))
    marks = {
        event_id: (claimed_at.timestamp(), sent_at.timestamp())
        for event_id, claimed_at, sent_at in Notification.objects.filter(event_id__in=ids, channel="email").values_list(
            "event_id", "claimed_at", "sent_at"
        )
    }
    accepted = {}
    for message in smtp.messages:
        event_id = int(message["message_id"].split("-")[1])
        accepted.setdefault(event_id, message["at"])
    rounds = list(zip(ids, commits, strict=True))
    return {
        "to_visible": summary_ms([visible[i] - c for i, c in rounds]),
        "to_accepted": summary_ms([accepted[i] - c for i, c in rounds]),
        "relay_wake": summary_ms([relayed[i].timestamp() - c for i, c in rounds]),
        # The stages between, from the clocks the rows keep (one machine, one clock).
        "stage_claim_to_worker": summary_ms([marks[i][0] - relayed[i].timestamp() for i in ids]),
        "stage_worker_to_accepted": summary_ms([accepted[i] - marks[i][0] for i in ids]),
        "stage_accepted_to_mark": summary_ms([marks[i][1] - accepted[i] for i in ids]),
        "stage_mark_to_visible": summary_ms([visible[i] - marks[i][1] for i in ids]),
        "bare_one_way": summary_ms(bare_one_way),
        "bare_round_trip": summary_ms(bare_round_trip),
        "durable_commit": summary_ms(flushes),
    }


def measure_throughput(count: int, article, editor, smtp) -> dict:
    from django.db.models import Count, Max, Min

    from editorial.models import Event, Notification

    commits: list = []
    started = time.monotonic()
    ids = [emit(article, editor, commits) for _ in range(count)]
    produced = time.monotonic() - started
    ours = Event.objects.filter(pk__in=ids)
    wait_for(lambda: ours.filter(status="done").count() == count, timeout=1800, every=0.5)
    emails = Notification.objects.filter(event_id__in=ids, channel="email")
    span = ours.aggregate(first=Min("created_at"))["first"], emails.aggregate(last=Max("sent_at"))["last"]
    seconds = (span[1] - span[0]).total_seconds()
    pairs = emails.values("event_id", "recipient_id").annotate(n=Count("id"))
    keys = {f"<event-{e}-user-{r}-email@editorial.invalid>" for e, r in emails.values_list("event_id", "recipient_id")}
    received = [m["message_id"] for m in smtp.messages]
    checks = {
        "events written": count,
        "events done": ours.filter(status="done").count(),
        "e-mail rows sent": emails.filter(status="sent").count(),
        "distinct (event, recipient) e-mail rows": pairs.count(),
        "e-mail rows with attempts != 1": emails.exclude(attempts=1).count(),
        "e-mail rows not sent": emails.exclude(status="sent").count(),
        "inbox rows": Notification.objects.filter(event_id__in=ids, channel="inbox").count(),
        "messages the SMTP sink received": len(received),
        "distinct Message-IDs received": len(set(received)),
        "received Message-IDs matching the rows": len(keys & set(received)),
    }
    ok = (
        checks["events done"] == count
        and checks["e-mail rows sent"] == count
        and checks["distinct (event, recipient) e-mail rows"] == count
        and checks["e-mail rows with attempts != 1"] == 0
        and checks["messages the SMTP sink received"] == count
        and checks["distinct Message-IDs received"] == count
        and checks["received Message-IDs matching the rows"] == count
    )
    return {
        "events": count,
        "seconds": seconds,
        "rate": count / seconds,
        "produce_rate": count / produced,
        "checks": checks,
        "ok": ok,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-events", type=int, default=500)
    parser.add_argument("--events", type=int, default=5000, help="events for the throughput run")
    parser.add_argument("--pool", default="solo", choices=["solo", "prefork", "threads"])
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from tests.processes import FakeSMTP, RedisServer

    redis_server = RedisServer()
    redis_server.start()
    broker = f"redis://127.0.0.1:{redis_server.port}/0"
    backend = f"redis://127.0.0.1:{redis_server.port}/1"
    os.environ["CELERY_BROKER_URL"] = broker
    os.environ["BENCH_RESULT_BACKEND"] = backend
    setup()
    require_postgresql()
    import celery
    import redis
    from django.db import connection, connections

    from bench.tasks import noop

    logs = ROOT / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    article, editor = cast(0)
    version = redis.Redis(port=redis_server.port).info()["redis_version"]
    worker_text = f"1 process, pool {args.pool}" + (f", concurrency {args.concurrency}" if args.pool != "solo" else "")
    print_machine(
        {
            "redis": f"{version} (own redis-server on 127.0.0.1:{redis_server.port})",
            "celery": celery.__version__,
            "worker": worker_text,
            "relay": "1 process (manage.py run_relay), woken by NOTIFY",
            "e-mail": "SMTP to a loopback sink (tests/processes.py FakeSMTP)",
        }
    )
    worker = relay = smtp = listener = None
    try:
        smtp = FakeSMTP()
        smtp.start()
        worker = CeleryWorker(
            broker=broker,
            backend=backend,
            email_url=f"smtp://127.0.0.1:{smtp.port}",
            pool=args.pool,
            concurrency=args.concurrency,
            log=logs / "worker.log",
        )
        worker.start()
        relay = RelayProcess(broker=broker, log=logs / "relay.log")
        relay.start()
        with connection.cursor() as cursor:
            cursor.execute(VISIBLE_TRIGGER)
        listener = connections.create_connection("default")
        listener.ensure_connection()
        listener.connection.execute("LISTEN bench_delivered")
        noop.apply_async().get(timeout=120)  # the worker is up
        for _ in range(20):  # warm up both paths
            noop.apply_async().get(timeout=30)
        measure_latency(20, article, editor, listener.connection, smtp)
        smtp.messages.clear()
        latency = measure_latency(args.latency_events, article, editor, listener.connection, smtp)
        load_after_latency = "{:.2f}, {:.2f}".format(*os.getloadavg()[:2])
        smtp.messages.clear()
        throughput = measure_throughput(args.events, article, editor, smtp)
    finally:
        if listener:
            listener.close()
        with connection.cursor() as cursor:
            cursor.execute(DROP_TRIGGER)
        for process in (relay, worker):
            if process:
                process.stop()
        if smtp:
            smtp.stop()
        redis_server.stop()

    rows = [
        ["commit → delivery committed and visible (judged)", *_cells(latency["to_visible"])],
        ["commit → e-mail accepted by the SMTP sink", *_cells(latency["to_accepted"])],
        ["relay's wake-up: commit → the relay reads the notification", *_cells(latency["relay_wake"])],
        ["bare task: publish → task starts (one way)", *_cells(latency["bare_one_way"])],
        ["bare task: publish → result back (round trip, for reference)", *_cells(latency["bare_round_trip"])],
        ["a durable commit here (BEGIN; txid_current(); COMMIT)", *_cells(latency["durable_commit"])],
    ]
    print(
        table(
            ["latency (interleaved, one of each per round)", "n", "p50 ms", "p95 ms", "max ms"],
            rows,
            "Latency, one event at a time",
        )
    )
    bare = latency["bare_one_way"]["p95"]
    ratio = latency["to_visible"]["p95"] / bare
    verdict = "met" if ratio <= 2.5 else "MISSED"
    stages = [
        ["the relay wakes (commit → it has the notification)", *_cells(latency["relay_wake"])],
        [
            "the relay's publish, the hop to the worker (→ the fan-out starts)",
            *_cells(latency["stage_claim_to_worker"]),
        ],
        [
            "the fan-out statement, rendering, the SMTP conversation (→ the sink has the message)",
            *_cells(latency["stage_worker_to_accepted"]),
        ],
        ["the sink's reply read (→ the mark starts)", *_cells(latency["stage_accepted_to_mark"])],
        [
            "the mark and its durable commit, the NOTIFY to this process (→ visible)",
            *_cells(latency["stage_mark_to_visible"]),
        ],
    ]
    print(
        "\n"
        + table(
            [
                "stage (from the rows' clocks: relayed_at, claimed_at, sent_at; the sink's)",
                "n",
                "p50 ms",
                "p95 ms",
                "max ms",
            ],
            stages,
            "Where the judged figure goes, stage by stage",
        )
    )
    print(
        f"\nTarget: commit → delivery committed and visible, p95 within 2.5× the bare one-way hop's p95: "
        f"{ratio:.2f}× ({verdict}); commit → accepted by SMTP: {latency['to_accepted']['p95'] / bare:.2f}×. "
        f"Load average (1, 5 min) after the latency rounds: {load_after_latency}\n"
    )
    print(
        table(
            ["throughput (e-mail over SMTP to a loopback sink)", "value"],
            [
                ["events", throughput["events"]],
                ["first event written → last e-mail sent, s", throughput["seconds"]],
                ["events delivered per second", throughput["rate"]],
                ["events written per second (one producer)", throughput["produce_rate"]],
                *[[name, value] for name, value in throughput["checks"].items()],
            ],
            "Throughput",
        )
    )
    print("\nNo loss, no duplicate: " + ("yes" if throughput["ok"] else "NO: see the counts above"))
    print("Load average (1, 5 min) at the end: {:.2f}, {:.2f}".format(*os.getloadavg()[:2]))
    write_json(args.json, {"latency": latency, "throughput": throughput})


def _cells(stats: dict) -> list:
    return [stats["n"], stats["p50"], stats["p95"], stats["max"]]


if __name__ == "__main__":
    main()
