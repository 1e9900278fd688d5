"""What every benchmark shares: Django set-up, the machine it ran on, statistics and tables."""

import json
import os
import platform
import statistics
import sys
from pathlib import Path


def setup(database_url: str | None = None) -> None:
    """Start Django with the bench settings (and the given database, if any)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()


def require_postgresql() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("The benchmarks run on PostgreSQL: set DATABASE_URL=postgres://... (see docs/benchmarks.md).")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict:
    """The machine and the versions that a figure depends on."""
    import django
    from django.conf import settings
    from django.db import connection

    info = {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "django": django.get_version(),
    }
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            info["postgresql"] = cursor.fetchone()[0].split()[0]
            info["database"] = connection.settings_dict["NAME"]
    info["load average (1, 5 min)"] = "{:.2f}, {:.2f}".format(*os.getloadavg()[:2])
    hasher = settings.PASSWORD_HASHERS[0].rsplit(".", 1)[-1]
    info["password_hasher"] = hasher + (" (bench only; production uses PBKDF2)" if "MD5" in hasher else "")
    return info


def print_machine(extra: dict | None = None) -> None:
    info = {**machine(), **(extra or {})}
    width = max(len(key) for key in info)
    print("Machine")
    for key, value in info.items():
        print(f"  {key:<{width}}  {value}")
    print()


def percentile(values, p: float) -> float:
    """The p-th percentile (nearest rank), of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary_ms(seconds) -> dict:
    values = [s * 1000 for s in seconds]
    return {
        "n": len(values),
        "p50": statistics.median(values),
        "p95": percentile(values, 95),
        "max": max(values),
    }


def table(headers: list[str], rows: list[list], title: str = "") -> str:
    """A plain Markdown table, so the output can be pasted into docs/benchmarks.md."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    lines = [title, ""] if title else []
    lines.append("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(lines)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def write_json(path: str | None, data: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(data, indent=2, default=str))


def article_count() -> int:
    from articles.models import Article

    return Article.objects.count()
