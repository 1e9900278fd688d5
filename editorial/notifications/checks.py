"""System checks on the notification settings (run by ``manage.py check`` and every command)."""

from django.conf import settings
from django.core.checks import Error, register


@register()
def claim_outlasts_sending(app_configs, **kwargs) -> list[Error]:
    """A claimed e-mail's lease must outlast the longest send, or a second worker sends it again."""
    timeout, lease = settings.EMAIL_TIMEOUT, settings.EDITORIAL_CLAIM_TIMEOUT
    if timeout and lease <= timeout:
        return [
            Error(
                f"EDITORIAL_CLAIM_TIMEOUT ({lease} s) must be longer than EMAIL_TIMEOUT ({timeout} s)",
                hint="A delivery still being sent when its claim runs out is taken and sent again by another worker.",
                id="editorial.E001",
            )
        ]
    if not timeout:
        return [
            Error(
                "EMAIL_TIMEOUT is not set: a stalled mail server would hold a worker, and its claim, for ever",
                id="editorial.E002",
            )
        ]
    return []
