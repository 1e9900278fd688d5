from django import template

register = template.Library()


@register.filter
def cut_trailing_stop(value: str) -> str:
    """ "Smith J, et al." followed by the list's own full stop would read "et al.."."""
    return str(value).rstrip().rstrip(".")
