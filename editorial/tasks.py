"""Celery's autodiscovery looks for ``<app>.tasks``: the tasks live in editorial.notifications.tasks."""

from editorial.notifications.tasks import (  # noqa: F401 - imported to register them
    deliver_digest,
    deliver_event,
    purge_access_records,
    purge_idempotency_keys,
    requeue_pending_events,
    run_reminders,
    send_digests,
    verify_audit_chain,
    watch_retractions,
)
