"""Growth: the workflow and workspace figures at 1,000, 10,000 and 100,000 articles, side by side.

    python -m bench.growth                 # databases bench_1k, bench_10k, bench_100k
    python -m bench.growth --prepare       # create and fill any that are missing first

Each size runs bench.workflow and bench.workspace in their own process against its own
database (bench.prepare makes them), then the figures are set side by side: if the cost
stays flat, each row reads the same across.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import table
from bench.prepare import database_name, database_url

ROOT = Path(__file__).resolve().parent.parent


def run(module: str, size: int, arguments: list[str]) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = {**os.environ, "DATABASE_URL": database_url(database_name(size))}
        completed = subprocess.run(
            [sys.executable, "-m", module, "--json", out.name, *arguments],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        if completed.returncode:
            sys.exit(f"{module} at {size:,} failed:\n{completed.stdout}\n{completed.stderr}")
        return json.loads(Path(out.name).read_text())


def machine_lines() -> str:
    completed = subprocess.run(
        [sys.executable, "-c", "from bench.common import setup, print_machine; setup(); print_machine()"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url("postgres")},
        capture_output=True,
        text=True,
        check=True,
    )
    return completed.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--prepare", action="store_true", help="run bench.prepare for each size first")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]

    if args.prepare:
        for size in sizes:
            subprocess.run([sys.executable, "-m", "bench.prepare", "--articles", str(size)], cwd=ROOT, check=True)

    print(machine_lines().replace("database ", "server   ", 1))
    workflow, workspace = {}, {}
    for size in sizes:
        print(f"... {size:,} articles", file=sys.stderr)
        workflow[size] = run("bench.workflow", size, ["--cycles", str(args.cycles), "--production-cycles", "0"])
        workspace[size] = run("bench.workspace", size, ["--runs", str(args.runs)])

    headers = ["", *[f"{size:,}" for size in sizes]]
    rows = [
        ["articles in the database", *[workflow[s]["articles"] for s in sizes]],
        ["transitions per second", *[workflow[s]["rate"] for s in sizes]],
        ["p50 per transition, ms", *[workflow[s]["p50_ms"] for s in sizes]],
        ["p95 per transition, ms", *[workflow[s]["p95_ms"] for s in sizes]],
        ["most queries in one transition", *[workflow[s]["max_queries"] for s in sizes]],
        ["mean queries per transition", *[workflow[s]["mean_queries"] for s in sizes]],
        ["bare transitions per second", *[workflow[s]["bare_rate"] for s in sizes]],
        ["services / bare", *[f"{100 * workflow[s]['rate'] / workflow[s]['bare_rate']:.0f} %" for s in sizes]],
    ]
    for step in workflow[sizes[0]]["steps"]:
        rows.append(
            [
                f"{step}: p50 ms (queries)",
                *[f"{workflow[s]['steps'][step]['p50']:.1f} ({workflow[s]['steps'][step]['queries']})" for s in sizes],
            ]
        )
    print(table(headers, rows, f"Workflow ({args.cycles} review cycles per size, fast hasher)"))
    print()

    rows = []
    for page in workspace[sizes[0]]["pages"]:
        generic = page.split(" (")[0]
        cells = []
        for s in sizes:
            match = next((v for k, v in workspace[s]["pages"].items() if k.split(" (")[0] == generic), None)
            cells.append(f"{match['p50']:.1f} ({match['queries']})" if match else "")
        rows.append([generic, *cells])
    for page in workspace[sizes[0]]["stock"]:
        generic = page.split(" (")[0]
        cells = []
        for s in sizes:
            match = next((v for k, v in workspace[s]["stock"].items() if k.split(" (")[0] == generic), None)
            cells.append(f"{match['p50']:.1f} ({match['queries']})" if match else "")
        rows.append([f"stock changelist: {generic}", *cells])
    print(table(headers, rows, f"Workspace: p50 ms (queries), {args.runs} runs per page"))


if __name__ == "__main__":
    main()
