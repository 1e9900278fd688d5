"""The API's request bodies: JSON whose every string is free of NUL, like every other door's input.

No database stores a NUL character in text, and a field that does not validate its value as
text (a slug naming a related row, say) would carry it into a query. Refusing it once, where
the body is read, covers every field of every endpoint (``editorial.parsing`` does the same
for query strings and forms).
"""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _find_nul(value, path: str = "") -> str | None:
    """The path of the first string (or key) holding a NUL character, or None."""
    if isinstance(value, str):
        return path or "(body)" if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return where
            found = _find_nul(item, where)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_nul(item, f"{path}[{index}]")
            if found:
                return found
    return None


class StrictJSONParser(JSONParser):
    """JSON, refused with 400 when any string in it holds a NUL character."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        where = _find_nul(data)
        if where:
            shown = where.replace("\x00", "\\x00")[:80]
            raise ParseError(f"{shown}: contains a NUL character.")
        return data
