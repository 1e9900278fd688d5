"""Make a benchmark database: create it, migrate it, fill it with generate_bench_data.

    python -m bench.prepare --articles 100000            # database bench_100k
    python -m bench.prepare --articles 1000 --database bench_1k

A database that already has articles is left as it is (say --recreate to start again).
"""

import argparse
import os
import subprocess
import sys
import time

import psycopg

SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")


def database_name(articles: int) -> str:
    return f"bench_{articles // 1000}k" if articles % 1000 == 0 else f"bench_{articles}"


def database_url(name: str) -> str:
    return f"{SERVER}/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, required=True)
    parser.add_argument("--database", help="default: bench_<N>k")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--recreate", action="store_true", help="drop the database first")
    args = parser.parse_args()
    name = args.database or database_name(args.articles)
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and args.recreate:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "DATABASE_URL": database_url(name)}
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True)
    has_articles = subprocess.run(
        [*manage, "shell", "-c", "from articles.models import Article; print(Article.objects.exists())"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if has_articles == "True":
        print(f"{name}: already has articles; left as it is (--recreate to start again).")
        return
    started = time.monotonic()
    subprocess.run(
        [*manage, "generate_bench_data", "--articles", str(args.articles), "--seed", str(args.seed)],
        env=env,
        check=True,
    )
    with psycopg.connect(database_url(name), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"{name}: ready in {time.monotonic() - started:.0f} s (generation, then VACUUM ANALYZE).")


if __name__ == "__main__":
    main()
