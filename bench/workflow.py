"""Workflow throughput: full review cycles through the real services, against a bare transition.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_100k python -m bench.workflow

One cycle is seven service calls, each one state change in one transaction, as the workspace
makes them: submit, invite two board members, each accepts (the first acceptance also starts
the review, as the system), each reviews and signs "approve", the editor approves (signed).
Each call writes what the services write: history rows, transition records, signatures and
outbox events (the relay hands them to Celery outside the services; none runs here).
Objects are loaded before each call as a request would load them (not timed); so is the
acting user, with its roles, as the request's door reads them once per request before any
service runs (not timed).

The floor: a bare django-fsm-2 model (bench/models.py): SELECT ... FOR UPDATE, the UPDATE
and one log INSERT per transition, in one transaction. It is timed interleaved with the
product, in rounds (ten cycles, then as many bare transitions as those cycles made calls), so
that a slow moment of a shared machine falls on both. Round trips are counted as the peers
count them: every statement the server receives, BEGIN, COMMIT and SAVEPOINT included. The
profile of ten cycles and as many bare transitions is printed last: each side's time per call by
layer (waiting for PostgreSQL, the ORM, history, the state machine, the product's own code…),
then the cycles' costliest functions.
"""

import argparse
import cProfile
import io
import os
import pstats
import time
from collections import defaultdict
from contextlib import contextmanager

from bench.common import print_machine, require_postgresql, setup, summary_ms, table, write_json

os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/12")

STEPS = ["submit", "invite", "accept", "accept + start review", "review + sign", "review + sign (2nd)", "approve"]
PASSWORD = "bench"  # noqa: S105 - bench users only


class Meter:
    """Times calls and counts their round trips: every statement, BEGIN, COMMIT and SAVEPOINT included.

    Django logs BEGIN and COMMIT in ``connection.queries_log`` when its debug cursor is on (it
    is, for the product and the floor alike, during every measured call).
    """

    def __init__(self) -> None:
        self.seconds = defaultdict(list)
        self.queries = defaultdict(list)

    @contextmanager
    def measure(self, step: str):
        from django.db import connection

        connection.force_debug_cursor = True
        connection.queries_log.clear()
        try:
            started = time.perf_counter()
            yield
            elapsed = time.perf_counter() - started
        finally:
            connection.force_debug_cursor = False
        self.seconds[step].append(elapsed)
        self.queries[step].append(len(connection.queries_log))

    def total_seconds(self) -> float:
        return sum(sum(values) for values in self.seconds.values())

    def calls(self) -> int:
        return sum(len(values) for values in self.seconds.values())


def actors():
    from django.contrib.auth import get_user_model

    User = get_user_model()
    author = User.objects.filter(username__startswith="bench-author-").order_by("username").first()
    editor = User.objects.filter(username__startswith="bench-editor-").order_by("username").first()
    reviewers = list(User.objects.filter(username__startswith="bench-reviewer-").order_by("username")[:20])
    if not (author and editor and len(reviewers) >= 2):
        raise SystemExit("No generated users here: run python -m bench.prepare first (docs/benchmarks.md).")
    return author, editor, reviewers


def set_passwords(users) -> None:
    for user in users:
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])


def make_drafts(author, count: int) -> list:
    from editorial.workflow import services

    fields = {
        "title": "How is benchmark-induced fatigue treated in adults?",
        "summary": "Rest, then measure again.",
        "body": "## From the Guidelines\n\nRest [1].\n\n## From the Research\n\nTrials agree [2].",
        "patient_body": "Most people get better.",
    }
    references = [{"title": "Source one", "year": 2024}, {"title": "Source two", "year": 2025}]
    return [services.article_create(actor=author, fields=fields, references=references) for _ in range(count)]


def signing_request():
    """A request as the workspace's signing form makes it: the lockout counts failures per address."""
    from django.http import HttpRequest

    request = HttpRequest()
    request.META.update({"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": "bench"})
    request.path = request.path_info = "/bench/sign/"
    return request


def fresh(user):
    """The acting user as a request hands it to a service: loaded again, and its roles read by
    the request's door (the workspace's object lookup and the API's permission check both read
    them, once per request, before any service runs)."""
    from editorial.workflow import permissions

    user = type(user).objects.get(pk=user.pk)
    permissions.roles(user)
    return user


def run_cycle(meter: Meter, draft, author, editor, reviewers) -> None:
    from articles.models import Article
    from editorial.workflow import board, services
    from reviewers.models import CHECKLIST

    actor = fresh(author)
    with meter.measure("submit"):
        article = services.article_submit(article=draft, actor=actor)
    actor = fresh(editor)
    with meter.measure("invite"):
        invitations = board.invitation_create(article=article, actor=actor, reviewers=reviewers)
    accepted = []
    for step, invitation in zip(("accept + start review", "accept"), invitations, strict=True):
        actor = fresh(invitation.reviewer)
        with meter.measure(step):
            accepted.append(board.invitation_accept(invitation=invitation, actor=actor, conflict="none"))
    for step, invitation in zip(("review + sign", "review + sign (2nd)"), accepted, strict=True):
        actor = fresh(invitation.reviewer)
        with meter.measure(step):
            board.review_submit(
                invitation=invitation,
                actor=actor,
                recommendation="approve",
                checklist={field: True for field, _ in CHECKLIST},
                comments_to_author="Accurate and clear.",
                password=PASSWORD,
                request=signing_request(),
            )
    article = Article.objects.get(pk=article.pk)
    actor = fresh(editor)
    with meter.measure("approve"):
        services.article_approve(article=article, actor=actor, password=PASSWORD, request=signing_request())


def run_cycles(count: int, author, editor, reviewers, meter: Meter) -> float:
    drafts = make_drafts(author, count)
    started = time.perf_counter()
    for n, draft in enumerate(drafts):
        pair = [reviewers[(2 * n) % len(reviewers)], reviewers[(2 * n + 1) % len(reviewers)]]
        run_cycle(meter, draft, author, editor, pair)
    return time.perf_counter() - started


def run_interleaved(cycles: int, author, editor, reviewers, meter: Meter, bare: Meter, *, per_round: int = 10) -> float:
    """Rounds of ``per_round`` review cycles, each followed by as many bare transitions as calls it made.

    Returns the wall-clock seconds of the product's cycles (loads included, the floor's rounds not).
    """
    wall = 0.0
    done = 0
    bare_articles = None
    while done < cycles:
        n = min(per_round, cycles - done)
        calls_before = meter.calls()
        wall += run_cycles(n, author, editor, reviewers, meter)
        bare_articles = run_bare(meter.calls() - calls_before, bare, articles=bare_articles)
        done += n
    return wall


def run_bare(count: int, meter: Meter, *, articles=None) -> list:
    """``count`` bare transitions (lock, update, one log row), round-robin over ``articles``; returns them."""
    from django.db import transaction

    from bench.models import BareArticle, BareTransitionLog

    if articles is None:
        articles = BareArticle.objects.bulk_create([BareArticle() for _ in range(50)])
    following = {"draft": "submit", "submitted": "start_review", "under_review": "approve", "approved": "revise"}
    done = 0
    while done < count:
        for article in articles:
            if done >= count:
                return articles
            with meter.measure("bare transition"), transaction.atomic():
                current = BareArticle.objects.select_for_update().get(pk=article.pk)
                from_status = current.status
                name = following[from_status]
                getattr(current, name)()
                current.save(update_fields=["status"])
                BareTransitionLog.objects.create(
                    article=current, transition=name, from_status=from_status, to_status=current.status
                )
            done += 1
    return articles


#: Where a call's own time goes, by the code it runs in: (label, path fragments), first match wins.
#: Sending a statement is counted with the wait for its answer: on a machine of two cores the
#: server's backend, woken by the send, often runs before the send returns (measured: a send
#: takes 0.1 ms at p50 and 1.7 ms at p95, the long ones the statements the server works longest on).
LAYERS = [
    (
        "PostgreSQL: sending each statement and waiting for its answer",
        ("connection.py:wait", "wait_c", "poll", "_execute_send", "_exec_command", "psycopg/waiting.py"),
    ),
    ("psycopg: adapting parameters, reading rows", ("/psycopg/",)),
    ("Django ORM: building SQL", ("django/db/models/sql/",)),
    ("Django ORM: models, fields, expressions, querysets", ("django/db/models/",)),
    ("Django: database backend, transactions, signals", ("django/db/", "django/dispatch/")),
    ("django-simple-history (history rows)", ("simple_history/",)),
    ("django-fsm (the state machine)", ("django_fsm/",)),
    ("django-axes (the lockout's count) and the password check", ("axes/", "django/contrib/auth/")),
    (
        "the product's own code (services, chain, permissions)",
        ("/editorial/", "/articles/", "/reviewers/", "/accounts/"),
    ),
    ("Python's built-ins and library (most called by the ORM), hashing, JSON", ("",)),
]


def _layer(filename: str, function: str) -> str:
    where = f"{filename}:{function}"
    for label, fragments in LAYERS:
        if any(fragment in where for fragment in fragments):
            return label
    return LAYERS[-1][0]


def _profiled(run) -> pstats.Stats:
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    return pstats.Stats(profiler)


def by_layer(stats, calls: int) -> dict[str, float]:
    """Own time per call, in ms, summed by ``LAYERS`` (cProfile: Python's own share is inflated)."""
    totals: dict[str, float] = defaultdict(float)
    for (filename, _, function), (_, _, own, _, _) in stats.stats.items():
        totals[_layer(filename, function)] += own
    return {label: 1000 * totals[label] / calls for label, _ in LAYERS}


def profile_cycle(author, editor, reviewers, *, cycles: int = 10, top: int = 18) -> tuple[str, list]:
    """``cycles`` review cycles and as many bare transitions under cProfile: the functions that
    took most of the cycles' own time (text), and both sides' time per call by layer (rows)."""
    drafts = make_drafts(author, cycles)
    meter = Meter()

    def product():
        for n, draft in enumerate(drafts):
            run_cycle(meter, draft, author, editor, reviewers[2 * (n % 5) : 2 * (n % 5) + 2])

    product_stats = _profiled(product)
    bare_meter = Meter()
    bare_stats = _profiled(lambda: run_bare(meter.calls(), bare_meter))
    mine, floor = by_layer(product_stats, meter.calls()), by_layer(bare_stats, bare_meter.calls())
    rows = [[label, mine[label], floor[label], mine[label] - floor[label]] for label, _ in LAYERS]
    rows.append(["all", sum(mine.values()), sum(floor.values()), sum(mine.values()) - sum(floor.values())])
    out = io.StringIO()
    product_stats.stream = out
    product_stats.sort_stats("tottime").print_stats(top)
    return out.getvalue(), rows


def purge_queue() -> None:
    from config.celery import app

    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("celery")


def step_rows(meter: Meter, steps) -> list:
    rows = []
    for step in steps:
        stats = summary_ms(meter.seconds[step])
        queries = meter.queries[step]
        spread = f"{min(queries)}" if min(queries) == max(queries) else f"{min(queries)}–{max(queries)}"
        rows.append([step, stats["n"], stats["p50"], stats["p95"], spread])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=150, help="review cycles with the fast hasher")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument(
        "--profile", action=argparse.BooleanOptionalAction, default=True, help="print one cycle's profile"
    )
    parser.add_argument("--production-cycles", type=int, default=3, help="cycles with the production hasher")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    setup()
    require_postgresql()
    from django.conf import settings
    from django.test.utils import override_settings

    from bench.common import article_count

    articles_before = article_count()
    author, editor, reviewers = actors()
    set_passwords([editor, *reviewers])
    print_machine(
        {
            "articles in the database": f"{articles_before:,}",
            "outbox events": "written in each transaction; no broker publish (the relay's work, not run here)",
        }
    )

    run_cycles(args.warmup, author, editor, reviewers, Meter())
    run_bare(200, Meter())

    meter, bare = Meter(), Meter()
    wall = run_interleaved(args.cycles, author, editor, reviewers, meter, bare)

    rate = meter.calls() / meter.total_seconds()
    bare_rate = bare.calls() / bare.total_seconds()
    all_queries = [q for values in meter.queries.values() for q in values]
    all_seconds = [s for values in meter.seconds.values() for s in values]
    overall = summary_ms(all_seconds)
    bare_stats = summary_ms(bare.seconds["bare transition"])

    print(table(["step", "n", "p50 ms", "p95 ms", "round trips"], step_rows(meter, STEPS), "Per service call"))
    print()
    summary = [
        ["review cycles", args.cycles],
        ["service calls (transitions)", meter.calls()],
        ["transitions per second", rate],
        ["p50 / p95 per transition, ms", f"{overall['p50']:.2f} / {overall['p95']:.2f}"],
        ["most round trips in one call (BEGIN/COMMIT included)", max(all_queries)],
        ["mean round trips per call", sum(all_queries) / len(all_queries)],
        ["cycles per second (wall clock, loads included)", args.cycles / wall],
        ["bare transitions per second", bare_rate],
        ["bare p50 / p95, ms", f"{bare_stats['p50']:.2f} / {bare_stats['p95']:.2f}"],
        ["bare round trips per transition", max(bare.queries["bare transition"])],
        ["services / bare rate", f"{100 * rate / bare_rate:.0f} %"],
    ]
    print(table(["figure (fast hasher)", "value"], summary, "Throughput"))
    print()
    targets = [
        [
            "≤ 8 round trips per submit (BEGIN/COMMIT included)",
            max(meter.queries["submit"]),
            "met" if max(meter.queries["submit"]) <= 8 else "MISSED",
        ],
        [
            "≤ 10 round trips per approve with its signature",
            max(meter.queries["approve"]),
            "met" if max(meter.queries["approve"]) <= 10 else "MISSED",
        ],
        ["≥ 200 transitions per second", f"{rate:.0f}", "met" if rate >= 200 else "MISSED"],
        ["≥ 40 % of the bare rate", f"{100 * rate / bare_rate:.0f} %", "met" if rate >= 0.4 * bare_rate else "MISSED"],
    ]
    print(table(["target", "measured", ""], targets, "Targets"))
    print()

    production = Meter()
    if args.production_cycles:
        with override_settings(PASSWORD_HASHERS=settings.PRODUCTION_PASSWORD_HASHERS):
            set_passwords([editor, *reviewers])
            from django.contrib.auth.hashers import get_hasher

            hasher = get_hasher()
            run_cycles(args.production_cycles, author, editor, reviewers, production)
        set_passwords([editor, *reviewers])
        signing = production.seconds["review + sign"] + production.seconds["review + sign (2nd)"]
        prod_rate = production.calls() / production.total_seconds()
        rows = step_rows(production, STEPS)
        print(
            table(
                ["step", "n", "p50 ms", "p95 ms", "queries"],
                rows,
                f"With the production hasher ({hasher.algorithm}, {hasher.iterations:,} iterations): "
                "each signature's authenticate() pays it",
            )
        )
        print()
        print(
            f"Production hasher: {prod_rate:.1f} transitions per second; a signed review takes "
            f"{summary_ms(signing)['p50']:.0f} ms (p50) against "
            f"{summary_ms(meter.seconds['review + sign'] + meter.seconds['review + sign (2nd)'])['p50']:.1f} ms "
            "with the fast hasher: the difference is the hasher, by design."
        )
    if args.profile:
        text, rows = profile_cycle(author, editor, reviewers)
        print(
            table(
                ["where the time goes (own time, cProfile)", "service call, ms", "bare, ms", "difference, ms"],
                rows,
                "Per call, by layer: ten review cycles (70 calls) and 70 bare transitions, profiled",
            )
        )
        print()
        print("The same review cycles, the functions that took most of their own time:")
        print(text)
    purge_queue()
    write_json(
        args.json,
        {
            "articles": articles_before,
            "rate": rate,
            "bare_rate": bare_rate,
            "p50_ms": overall["p50"],
            "p95_ms": overall["p95"],
            "max_queries": max(all_queries),
            "mean_queries": sum(all_queries) / len(all_queries),
            "steps": {row[0]: {"p50": row[2], "p95": row[3], "queries": row[4]} for row in step_rows(meter, STEPS)},
        },
    )


if __name__ == "__main__":
    main()
