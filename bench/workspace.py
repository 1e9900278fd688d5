"""The workspace at scale: its pages as each role opens them, against Django's stock changelist.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_100k python -m bench.workspace

Django's test client, in process (no network, no web server), logged in as a generated
author, board member, editor and auditor. Each page is opened a few times to warm up, then
timed ``--runs`` times (median and p95), in rounds that open every page once each, so that
a slow moment of the machine falls on all pages alike; queries are counted in one more run.
The baseline is a stock ``ModelAdmin`` for the same articles on a bench-only admin site
(bench/stock_admin.py), opened by a superuser, with the same query strings.
"""

import argparse
import time

from bench.common import print_machine, require_postgresql, setup, summary_ms, table, write_json

SEARCH = "asthma"
FILTER = "status__exact=under_review"
DEEP_PAGE = 500
PER_PAGE = 50


def signed_in(user):
    """A test client signed in as ``user``, second factor shown (the workspace requires one of
    editors, auditors and operators): a confirmed TOTP device is made for bench users if none."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def role_users():
    from django.contrib.auth import get_user_model

    User = get_user_model()
    picks = {
        "author": "bench-author-",
        "board member": "bench-reviewer-",
        "editor": "bench-editor-",
        "auditor": "bench-auditor-",
    }
    users = {}
    for role, prefix in picks.items():
        user = User.objects.filter(username__startswith=prefix).order_by("username").first()
        if user is None:
            raise SystemExit("No generated users here: run python -m bench.prepare first (docs/benchmarks.md).")
        users[role] = user
    stock, _ = User.objects.get_or_create(
        username="bench-stock-admin", defaults={"is_staff": True, "is_superuser": True, "email": ""}
    )
    return users, stock


def history_article(role: str, user):
    """The article whose history page a role opens: the one with the longest history it may see."""
    from django.db.models import Count

    from editorial.workflow import permissions

    visible = permissions.visible_articles(user)
    if role in ("editor", "auditor"):
        visible = visible.filter(status="approved", review_round__gte=2)
    return visible.annotate(rows=Count("transitions")).order_by("-rows", "pk").values_list("pk", flat=True).first()


def pages_for(role: str, user) -> list[tuple[str, str]]:
    from editorial.workflow import permissions

    visible = permissions.visible_articles(user).count()
    last = max(1, -(-visible // PER_PAGE))
    deep = min(DEEP_PAGE, last)
    base = "/admin/articles/article/"
    article = history_article(role, user)
    return [
        ("dashboard", "/admin/"),
        ("article list", base),
        ("filtered by status", f"{base}?{FILTER}"),
        (f"searched '{SEARCH}'", f"{base}?q={SEARCH}"),
        (f"deep page (p={deep} of {last})", f"{base}?p={deep}"),
        ("history of one article", f"{base}{article}/history/"),
    ]


def stock_pages(articles: int) -> list[tuple[str, str]]:
    base = "/stock-admin/articles/article/"
    last = max(1, -(-articles // PER_PAGE))
    deep = min(DEEP_PAGE, last)
    return [
        ("article list", base),
        ("filtered by status", f"{base}?{FILTER}"),
        (f"searched '{SEARCH}'", f"{base}?q={SEARCH}"),
        (f"deep page (p={deep} of {last})", f"{base}?p={deep}"),
    ]


def measure_all(targets: dict, runs: int, warmup: int) -> dict:
    """Time every page ``runs`` times, in rounds: each round opens each page once.

    Interleaved, so that a slow moment of a shared machine falls on every page alike, the
    stock changelist included, rather than on whichever page was being measured then.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for client, url in targets.values():
        for _ in range(warmup):
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
    seconds = {key: [] for key in targets}
    for _ in range(runs):
        for key, (client, url) in targets.items():
            started = time.perf_counter()
            client.get(url)
            seconds[key].append(time.perf_counter() - started)
    results = {}
    for key, (client, url) in targets.items():
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        results[key] = {**summary_ms(seconds[key]), "queries": len(queries), "sql": [q["sql"] for q in queries]}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--show-sql", action="store_true", help="print each page's queries")
    args = parser.parse_args()

    setup()
    require_postgresql()

    from bench.common import article_count

    articles = article_count()
    users, stock_user = role_users()
    print_machine({"articles in the database": f"{articles:,}", "runs per page": args.runs})

    stock_client = signed_in(stock_user)
    targets = {("stock", name): (stock_client, url) for name, url in stock_pages(articles)}
    for role, user in users.items():
        client = signed_in(user)
        targets.update({(role, name): (client, url) for name, url in pages_for(role, user)})
    measured = measure_all(targets, args.runs, args.warmup)
    stock = {name: measured[(who, name)] for who, name in targets if who == "stock"}
    stock_by_kind = {name.split(" ")[0]: result for name, result in stock.items()}

    results, rows, misses = {}, [], []
    for role in users:
        for name, url in [(name, targets[(who, name)][1]) for who, name in targets if who == role]:
            result = measured[(role, name)]
            results[f"{role}: {name}"] = {k: v for k, v in result.items() if k != "sql"}
            # Editors and auditors see every article, as the stock changelist's superuser does.
            same_rows = role in ("editor", "auditor") and ("list" in name or "?" in url)
            baseline = stock_by_kind.get(name.split(" ")[0]) if same_rows else None
            ratio = result["p50"] / baseline["p50"] if baseline else None
            ok = result["p50"] < 150 and result["queries"] <= 20 and (ratio is None or ratio <= 1.5)
            if not ok:
                misses.append(f"{role}: {name}")
            rows.append(
                [
                    role,
                    name,
                    result["p50"],
                    result["p95"],
                    result["queries"],
                    f"{ratio:.2f}×" if ratio else "",
                    "met" if ok else "MISSED",
                ]
            )
            if args.show_sql:
                print(f"--- {role}: {name} {url}")
                print("\n".join(result["sql"]))
    print(
        table(
            ["role", "page", "p50 ms", "p95 ms", "queries", "vs stock p50", "target"],
            rows,
            "Workspace (targets: p50 < 150 ms, ≤ 20 queries, ≤ 1.5× the stock changelist)",
        )
    )
    print()
    stock_rows = [[name, r["p50"], r["p95"], r["queries"]] for name, r in stock.items()]
    print(table(["stock changelist (superuser)", "p50 ms", "p95 ms", "queries"], stock_rows, "Baseline"))
    print()
    print("All targets met." if not misses else "Missed: " + "; ".join(misses))
    write_json(
        args.json,
        {
            "articles": articles,
            "pages": results,
            "stock": {k: {x: y for x, y in v.items() if x != "sql"} for k, v in stock.items()},
        },
    )


if __name__ == "__main__":
    main()
