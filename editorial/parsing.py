"""Reading what a request carries: one place that turns query and form values into typed ones.

Every door (workspace, public pages, API) parses its parameters here, so that malformed input
(a NUL character, a number past what the database holds, an impossible date, a non-numeric
id) is a 400 with a message naming the parameter, never a 500 from deep inside. Each helper
raises ``BadParameter`` (Django's ``BadRequest``: the site's 400 page, JSON under /api/).
"""

from datetime import date

from django import forms
from django.core.exceptions import BadRequest, ValidationError

#: The largest id the database holds (a signed 64-bit integer), and the smallest.
MAX_ID = 2**63 - 1
#: Dates a person may mean: a calendar date outside these is a typo, refused.
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2199, 12, 31)


class BadParameter(BadRequest):
    """A parameter that cannot be read: ``name`` says which, the message what is wrong."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = f"{name}: {message}"


def integer(value: str | None, *, name: str, minimum: int = 0, maximum: int = MAX_ID, default: int | None = None):
    """A whole number within [minimum, maximum]; ``default`` when the value is absent or empty.

    Raises ``BadParameter`` for anything else (letters, signs where none fit, out of range).
    """
    if value is None or value == "":
        return default
    text = value.strip()
    if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 20:
        raise BadParameter(name, f"expected a whole number, got {value[:40]!r}.")
    number = int(text)
    if not minimum <= number <= maximum:
        raise BadParameter(name, f"must be between {minimum:,} and {maximum:,}.")
    return number


def identifier(value: str | None, *, name: str, default: int | None = None):
    """A row id: a whole number from 1 to the largest the database holds."""
    return integer(value, name=name, minimum=1, default=default)


def identifiers(values, *, name: str, most: int = 1000) -> list[int]:
    """Row ids from a repeated parameter (``?id=1&id=2``), at most ``most`` of them."""
    values = list(values)
    if len(values) > most:
        raise BadParameter(name, f"at most {most} at once.")
    return [identifier(value, name=name) for value in values]


def calendar_date(value: str | None, *, name: str, default: date | None = None) -> date | None:
    """A date written as YYYY-MM-DD (as date inputs send it), between 1900 and 2199.

    Parsed through Django's form field, so 2024-02-30 is refused, not a crash.
    """
    if value is None or value.strip() == "":
        return default
    try:
        parsed = forms.DateField(input_formats=["%Y-%m-%d"]).clean(value.strip())
    except ValidationError:
        raise BadParameter(name, f"expected a date such as 2026-12-16, got {value[:40]!r}.") from None
    if not EARLIEST_DATE <= parsed <= LATEST_DATE:
        raise BadParameter(name, f"must be between {EARLIEST_DATE} and {LATEST_DATE}.")
    return parsed


def choice(value: str | None, *, name: str, choices, default: str) -> str:
    """One of ``choices``; ``default`` when absent or empty."""
    if value is None or value == "":
        return default
    if value not in choices:
        raise BadParameter(name, f"must be one of {', '.join(sorted(choices))}.")
    return value


class RejectNulMiddleware:
    """Refuse a request whose query or form values contain a NUL character (400).

    No database stores NUL in text, and no person types one: it is always malformed input.
    JSON bodies are checked by the API's serializers and the services' boundary.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        for source in (request.GET, request.POST):
            for key, values in source.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    raise BadParameter(key.replace("\x00", "\\x00")[:40], "contains a NUL character.")
        return self.get_response(request)
