"""After commit: delivering the outbox's events (inbox, e-mail, digests) and the beat's reminders.

May use ``editorial.workflow`` (reminders expire invitations through its services); the
workflow never imports this package: it hands events to Celery by task name.
"""
