from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def cut_trailing_stop(value: str) -> str:
    """ "Smith J, et al." followed by the list's own full stop would read "et al.."."""
    return str(value).rstrip().rstrip(".")


@register.filter
def stamp(value, precision: str = "seconds") -> str:
    """A moment in the site's time zone: "27 Nov 2026 21:55:03" (or to the minute).

    What ``|date:"j M Y H:i:s"`` prints, at a tenth of its cost: a history page prints
    hundreds of them.
    """
    if not value:
        return ""
    local = timezone.localtime(value)
    return f"{local.day} {local:%b %Y %H:%M}" + (f":{local:%S}" if precision == "seconds" else "")
