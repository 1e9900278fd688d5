"""Writing the security log: one row per act on an account, with the words of the moment."""

from axes.helpers import get_client_ip_address

from accounts import identity
from accounts.models import SecurityEvent, SecurityEventKind


def client_address(request) -> str | None:
    """The client's IP address as the lockout counts it (``AXES_CLIENT_IP_CALLABLE`` if set)."""
    if request is None:
        return None
    return getattr(request, "axes_ip_address", None) or get_client_ip_address(request) or None


def record(
    kind: SecurityEventKind, *, actor=None, subject=None, subject_name: str = "", request=None, detail: str = ""
) -> SecurityEvent:
    """Append one event to the security log and return it.

    ``actor`` is who acted (None: nobody signed in, e.g. a failed login); ``subject`` the
    account acted on (``subject_name`` names one that does not exist, e.g. a locked user
    name nobody has). Names and roles are copied as they are now (``accounts.identity``).
    """
    taken = identity.snapshot(actor) if actor is not None else identity.Snapshot("", "")
    return SecurityEvent.objects.create(
        kind=kind,
        actor=actor,
        actor_name=taken.name,
        actor_role=taken.role,
        subject=subject,
        subject_name=identity.account_label(subject) if subject is not None else subject_name,
        address=client_address(request),
        detail=detail,
    )
