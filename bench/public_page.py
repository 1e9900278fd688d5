#!/usr/bin/env python3
"""Measure the public article page: cached, uncached, and a trivial Django view for scale.

One gunicorn, started here on a loopback port with production settings fit for a local
measurement (DEBUG off, no HTTPS redirect, ALLOWED_HOSTS=127.0.0.1, the benchmark views routed by bench/public_urls.py),
over a fresh SQLite database seeded with the demo data, or over DATABASE_URL if it is set.
Each target is loaded with wrk (Debian package ``wrk``) for the same time, in the same run;
without wrk a small threaded Python load generator stands in, and the output says so.

    .venv/bin/python bench/public_page.py [--duration 5] [--rounds 3] [--connections 8] [--workers N]

See bench/README.md for what the figures mean.
"""

import argparse
import http.client
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = Path(sys.executable)
ARTICLE = "what-is-the-treatment-for-hip-overuse-injury"
TARGETS = [
    ("trivial Django view", "/bench/trivial"),
    ("article page, cached", f"/articles/{ARTICLE}/"),
    ("article page, uncached", f"/bench/uncached/articles/{ARTICLE}/"),
]
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d errors=%d p50_us=%d p95_us=%d\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(95)))
end
"""


# Each target served in-process through Django's WSGI handler: CPU time per request with no
# network and no gunicorn, a figure that load from other programs on the machine hardly moves.
IN_PROCESS = """
import io, sys, time
from django.core.wsgi import get_wsgi_application
app = get_wsgi_application()
def call(path):
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
               "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1", "wsgi.input": io.BytesIO(),
               "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr}
    status = []
    b"".join(app(environ, lambda s, h: status.append(s)))
    assert status[0].startswith("200"), (path, status)
best = dict.fromkeys(sys.argv[1:], float("inf"))
for path in best:
    call(path)
for _ in range(5):  # the targets in turn, best of five: the least disturbed run of each
    for path in best:
        n = 50 if "uncached" in path else 1000
        started = time.process_time()
        for _ in range(n):
            call(path)
        best[path] = min(best[path], (time.process_time() - started) / n)
for path, seconds in best.items():
    print(f"{path} {seconds * 1e6:.0f}")
"""


def in_process(env: dict) -> dict:
    """CPU microseconds per request for each target, best of five interleaved runs."""
    out = subprocess.run(  # noqa: S603 - this interpreter, with the script above
        [str(PYTHON), "-c", "import django; django.setup()\n" + IN_PROCESS, *(path for _, path in TARGETS)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {path: int(us) for path, us in (line.split() for line in out.splitlines())}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(var_dir: Path) -> dict:
    """Production settings, made to run on this machine without HTTPS or secrets."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.public_settings",
        SECRET_KEY="bench-only-" + secrets.token_hex(16),
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        SECURE_HSTS_SECONDS="0",
        VAR_DIR=str(var_dir),
        DEMO_PASSWORD=secrets.token_urlsafe(12),
        LOG_LEVEL="WARNING",
    )
    for folder in ("static", "mail", "broker/queue", "broker/control", "broker/processed"):
        (var_dir / folder).mkdir(parents=True, exist_ok=True)
    return env


def ensure_database(env: dict) -> None:
    """Create the PostgreSQL database DATABASE_URL names, if it does not exist yet."""
    url = env.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def manage(env: dict, *args: str) -> None:
    command = [str(PYTHON), "manage.py", *args]
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603 - fixed commands


def get(port: int, path: str) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def wait_until_up(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn exited before it answered")
        try:
            if get(port, "/healthz")[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /healthz within 30 s")


def check_targets(port: int) -> None:
    """Each target answers 200; the cached page sets no cookie and matches the uncached one."""
    pages = {}
    for name, path in TARGETS:
        status, headers, body = get(port, path)
        if status != 200:
            raise SystemExit(f"{name}: {path} answered {status}")
        pages[path] = (headers, body)
    headers, cached = pages[TARGETS[1][1]]
    if any(name.lower() == "set-cookie" for name in headers):
        raise SystemExit("the cached article page set a cookie")
    if cached != pages[TARGETS[2][1]][1]:
        raise SystemExit("the cached and uncached article pages differ")


def run_wrk(wrk: str, url: str, seconds: int, connections: int, threads: int, script: Path) -> dict:
    out = subprocess.run(  # noqa: S603 - wrk, with arguments built here
        [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script), url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    fields = dict(re.findall(r"(\w+)=(\d+)", out.split("BENCH", 1)[1]))
    requests, duration = int(fields["requests"]), int(fields["duration_us"]) / 1e6
    return {
        "rps": requests / duration,
        "p50_ms": int(fields["p50_us"]) / 1000,
        "p95_ms": int(fields["p95_us"]) / 1000,
        "errors": int(fields["errors"]),
        "requests": requests,
    }


def run_python(port: int, path: str, seconds: int, connections: int) -> dict:
    """The stand-in for wrk: keep-alive connections in threads (the GIL makes it slower)."""
    latencies, errors, stop = [], [0], time.monotonic() + seconds
    lock = threading.Lock()

    def worker():
        connection, mine = http.client.HTTPConnection("127.0.0.1", port, timeout=5), []
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
            except OSError:
                ok = False
                connection.close()
            if ok:
                mine.append(time.perf_counter() - started)
            else:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    began = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1] * 1000 if latencies else 0.0,
        "errors": errors[0],
        "requests": len(latencies),
    }


def machine(env: dict) -> str:
    import django

    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = match.group(1).strip() if match else cpu
    gunicorn = subprocess.run(  # noqa: S603 - the venv's gunicorn
        [str(PYTHON.parent / "gunicorn"), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    database = env.get("DATABASE_URL", "sqlite (fresh, in a temporary folder)").split("@")[-1]
    cache = env.get("CACHE_URL", "locmemcache:// (per gunicorn worker)").split("@")[-1]
    return (
        f"machine: {os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}\n"
        f"software: Python {platform.python_version()}, Django {django.get_version()}, {gunicorn}\n"
        f"database: {database}; cache: {cache}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds measured per target and round (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over the three targets (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of unmeasured load first (default 1)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (default 8)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="gunicorn workers (default: cores)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: leave the cores to gunicorn)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, logs)")
    args = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="bench-public-"))
    env = environment(var_dir)
    port = free_port()
    server = log = None
    try:
        print("== preparing: migrate, seed_demo, collectstatic", flush=True)
        ensure_database(env)
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo")
        manage(env, "collectstatic", "--noinput")
        log = open(var_dir / "gunicorn.log", "w")  # noqa: SIM115 - closed with the server below
        server = subprocess.Popen(  # noqa: S603 - the venv's gunicorn
            [str(PYTHON.parent / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}"]
            + ["--workers", str(args.workers), "--log-level", "warning"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until_up(port, server)
        check_targets(port)

        wrk = shutil.which("wrk")
        if wrk:
            tool = f"wrk, {args.threads} thread(s), {args.connections} connections"
            script = var_dir / "report.lua"
            script.write_text(WRK_REPORT)

            def measure(path, seconds):
                return run_wrk(wrk, f"http://127.0.0.1:{port}{path}", seconds, args.connections, args.threads, script)
        else:
            tool = f"NO wrk: Python threaded load generator, {args.connections} connections (slower than wrk)"

            def measure(path, seconds):
                return run_python(port, path, seconds, args.connections)

        print(machine(env))
        print(f"server: gunicorn, {args.workers} sync worker(s), 127.0.0.1:{port}; load: {tool}")
        print(
            f"{args.rounds} round(s), each target in turn: {args.warmup} s warm-up, then {args.duration} s measured; "
            f"load average before: {os.getloadavg()[0]:.2f}\n",
            flush=True,
        )
        # Rounds interleave the targets, so a burst of load from elsewhere on the machine hits
        # all three alike; the medians over the rounds are reported.
        rounds = {name: [] for name, _ in TARGETS}
        for _ in range(args.rounds):
            for name, path in TARGETS:
                if args.warmup:
                    measure(path, args.warmup)
                rounds[name].append(measure(path, args.duration))
        results = {
            name: {key: statistics.median(r[key] for r in runs) for key in ("rps", "p50_ms", "p95_ms")}
            | {"errors": sum(r["errors"] for r in runs)}
            for name, runs in rounds.items()
        }

        print(f"{'target':<26}{'requests/s':>12}{'p50 ms':>10}{'p95 ms':>10}{'errors':>8}")
        for name, result in results.items():
            print(
                f"{name:<26}{result['rps']:>12.0f}{result['p50_ms']:>10.2f}{result['p95_ms']:>10.2f}"
                f"{result['errors']:>8}"
            )
        trivial, cached, uncached = (results[name]["rps"] for name, _ in TARGETS)
        ratio = cached / trivial if trivial else 0.0
        per_round = [c["rps"] / t["rps"] for t, c in zip(rounds[TARGETS[0][0]], rounds[TARGETS[1][0]], strict=True)]
        print(
            f"\ncached / trivial: {ratio:.0%} (target >= 80%: {'met' if ratio >= 0.8 else 'NOT met'}); "
            f"by round: {', '.join(f'{r:.0%}' for r in per_round)}; cached / uncached: {cached / uncached:.1f}x"
        )
        cpu = in_process(env)
        print(
            "\nin-process, CPU per request (Django only, no network, no gunicorn): "
            + ", ".join(f"{name} {cpu[path]} us" for name, path in TARGETS)
            + f"; cached / trivial, from CPU time: {cpu[TARGETS[0][1]] / cpu[TARGETS[1][1]]:.0%}"
        )
        return 0 if all(result["errors"] == 0 for result in results.values()) else 1
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        if log is not None:
            log.close()
        if args.keep:
            print(f"kept {var_dir}")
        else:
            shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
