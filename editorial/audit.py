"""Every history row names who acted and why, whatever the door (request, task, command)."""

from simple_history.signals import pre_create_historical_record

from editorial.exceptions import MissingAuditContext


def set_audit_context(instance, *, actor, reason: str) -> None:
    """Tell django-simple-history who is acting and why, before ``save()`` or ``delete()``."""
    instance._history_user = actor
    instance._change_reason = reason


def _require_user_and_reason(sender, *, history_instance, **kwargs) -> None:
    if history_instance.history_user_id is None or not history_instance.history_change_reason:
        raise MissingAuditContext(
            f"History of {sender.__name__} needs an acting user and a reason: call "
            "editorial.audit.set_audit_context() before saving."
        )


def connect() -> None:
    pre_create_historical_record.connect(
        _require_user_and_reason, dispatch_uid="editorial.audit.require_user_and_reason"
    )
