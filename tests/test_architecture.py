"""The house: which way the imports point, no cycles, no hidden imports, no giant modules.

The arrows are import-linter contracts in pyproject.toml (drawn in docs/architecture.md).
"""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("config", "editorial", "reviewers", "articles", "accounts")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
MAX_LINES = 500


def product_modules() -> list[Path]:
    return sorted(
        path
        for app in PRODUCT
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.relative_to(ROOT).parts
    )


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - this virtualenv's own lint-imports
        [str(LINT_IMPORTS), "--no-cache", "--config", str(cwd / "pyproject.toml")],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_import_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("editorial/workflow/services.py", "from editorial.notifications import tasks", "the workflow"),
        ("editorial/workflow/board.py", "from editorial.workspace import dashboard", "editorial: the doors"),
        ("articles/models.py", "import reviewers.models", "Apps point one way"),
        ("accounts/identity.py", "import articles.models", "Apps point one way"),
        ("editorial/notifications/outbox.py", "from editorial.notifications import tasks", "No import cycles"),
    ],
)
def test_the_import_check_fails_when_an_arrow_is_reversed(tmp_path, module, line, contract):
    """A copy of the product with one forbidden import added: lint-imports must refuse it."""
    for app in PRODUCT:
        shutil.copytree(ROOT / app, tmp_path / app, ignore=shutil.ignore_patterns("templates", "static", "__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with (tmp_path / module).open("a") as source:
        source.write(f"\n{line}  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout


def function_local_imports(source: str, filename: str) -> list[str]:
    """Imports made inside a function body, except in an AppConfig's ``ready()``.

    Returns "file:line import ..." for each, in the order they appear.
    """
    found = []
    module_level, app_ready, in_function = "module", "AppConfig.ready", "function"

    def visit(node, where: str, in_app_config: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                bases = {getattr(base, "id", getattr(base, "attr", "")) for base in child.bases}
                visit(child, where, any(name.endswith("AppConfig") for name in bases))
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                ready = in_app_config and child.name == "ready" and where == module_level
                visit(child, app_ready if ready else in_function, False)
            elif isinstance(child, ast.Import | ast.ImportFrom):
                if where == in_function:
                    found.append(f"{filename}:{child.lineno} {ast.unparse(child)}")
            else:
                visit(child, where, in_app_config)

    visit(ast.parse(source), module_level, False)
    return found


def test_the_function_local_import_check_finds_them():
    source = (
        "from django.apps import AppConfig\n"
        "def f():\n    import os\n"
        "class C(AppConfig):\n    def ready(self):\n        import json\n"
        "class D:\n    def ready(self):\n        from x import y\n"
    )
    assert function_local_imports(source, "m.py") == ["m.py:3 import os", "m.py:9 from x import y"]


def test_no_function_local_imports_outside_app_ready_and_the_celery_app():
    """Imports inside functions are how cycles hide; only Django's and Celery's start-up need them."""
    found = []
    for path in product_modules():
        if path == ROOT / "config" / "celery.py":
            continue
        found += function_local_imports(path.read_text(), str(path.relative_to(ROOT)))
    assert found == []


def test_no_product_module_is_over_500_lines():
    long = {
        str(p.relative_to(ROOT)): n for p in product_modules() if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_benchmark_data_generator_is_not_in_the_product():
    assert not list((ROOT / "editorial").rglob("*bench*.py"))
    assert (ROOT / "bench" / "management" / "commands" / "generate_bench_data.py").exists()


def test_the_worker_registers_every_task_the_beat_schedule_names():
    """What a worker does at start-up (autodiscovery), then every beat entry looked up by name."""
    from config.celery import app

    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled and scheduled <= set(app.tasks)


def test_every_task_keeps_its_registered_name():
    """Queued messages and beat schedules name tasks by these strings: moving code must not rename them."""
    from config.celery import app

    app.loader.import_default_modules()
    ours = {name: task for name, task in app.tasks.items() if task.__module__.startswith("editorial")}
    assert set(ours) == {
        "editorial.tasks.deliver_event",
        "editorial.tasks.deliver_digest",
        "editorial.tasks.requeue_pending_events",
        "editorial.tasks.send_digests",
        "editorial.tasks.run_reminders",
        "editorial.tasks.watch_retractions",
        "editorial.tasks.verify_audit_chain",
        "editorial.tasks.purge_idempotency_keys",
        "editorial.tasks.purge_access_records",
    }
