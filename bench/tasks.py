"""The bare Celery round trip the notification benchmark compares against: an empty task."""

import time

from celery import shared_task


@shared_task(ignore_result=False, acks_late=False)
def noop() -> float:
    """Return when the worker ran it (the caller's clock is the same machine's)."""
    return time.time()
