"""The Celery application: configured from Django settings (CELERY_* names)."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
def _drop_unusable_database_connections(**kwargs) -> None:
    """Before each task, as Django does before each request: drop a broken or expired connection.

    (The connection is otherwise kept between tasks: CELERY_DB_REUSE_MAX in the settings.)
    """
    from django.db import close_old_connections

    close_old_connections()
