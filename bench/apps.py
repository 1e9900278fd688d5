from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Bench-only models and admin site; installed by bench/settings.py alone."""

    name = "bench"
    verbose_name = "Benchmarks"
