"""Where the accounts hook into Django, django-simple-history and django-axes."""

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import pre_save
from simple_history.signals import pre_create_historical_record

from accounts import identity, lockout, second_factor, security_log, sessions
from accounts.models import SecurityEventKind


def _credit_history_row(sender, *, history_instance, **kwargs) -> None:
    """A history row keeps its actor's name and roles as they are now (``ActorSnapshot``)."""
    if hasattr(history_instance, "history_actor_name") and not history_instance.history_actor_name:
        for field, value in identity.history_fields(history_instance.history_user).items():
            setattr(history_instance, field, value)


def _freeze_recorded_username(sender, *, instance, update_fields=None, raw=False, **kwargs) -> None:
    if raw or (update_fields is not None and instance.USERNAME_FIELD not in update_fields):
        return
    identity.refuse_renaming_on_record(instance)


def _on_login(sender, *, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        second_factor.note_login(request, user)
        sessions.stamp(request)


def _on_lockout(sender, *, request, username=None, ip_address=None, **kwargs) -> None:
    """Log a lockout once, when a failure reaches a limit (later refusals are not new lockouts)."""
    limit = lockout.crossed_limit(request, getattr(request, "axes_credentials", None))
    if limit is None:
        return
    user = getattr(request, "user", None)
    actor = user if user is not None and user.is_authenticated else None
    subject = get_user_model()._base_manager.filter(username=username).first() if username else None
    security_log.record(
        SecurityEventKind.LOCKOUT,
        actor=actor,
        subject=subject if limit == "user name" else None,
        subject_name=(username or "") if limit == "user name" else f"address {ip_address}",
        request=request,
        detail=f"the {limit}'s failures reached the limit (last at {request.axes_path_info or 'a command'})",
    )


def connect() -> None:
    pre_create_historical_record.connect(_credit_history_row, dispatch_uid="accounts.credit_history_row")
    pre_save.connect(
        _freeze_recorded_username, sender=get_user_model(), dispatch_uid="accounts.freeze_recorded_username"
    )
    user_logged_in.connect(_on_login, dispatch_uid="accounts.on_login")
    user_locked_out.connect(_on_lockout, dispatch_uid="accounts.on_lockout")
