"""The API's request bodies: JSON whose every string is text a database and a page can hold.

Two kinds of string are valid JSON and yet not such text: one holding a NUL character, which
no database stores in text (and a field that does not validate its value as text, a slug
naming a related row, say, would carry it into a query); and one holding a lone surrogate
(``"\\ud800"``: half of a UTF-16 pair, which no UTF-8 text can encode, RFC 3629 §3), which
breaks whatever writes it out, the error message that would quote it included. Refusing both
once, where the body is read, covers every field and key of every endpoint
(``editorial.parsing`` refuses NUL in query strings and forms; their bytes cannot decode to a
lone surrogate).
"""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _flaw(text: str) -> str | None:
    """What makes ``text`` unfit to store or show, or None."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (\\ud800–\\udfff), which is not text"
    return None


def _find_flaw(value, path: str = "") -> tuple[str, str] | None:
    """(path, flaw) of the first string or key that ``_flaw`` refuses, or None."""
    if isinstance(value, str):
        flaw = _flaw(value)
        return (path or "(body)", flaw) if flaw else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            flaw = _flaw(str(key))
            if flaw:
                return where, flaw
            found = _find_flaw(item, where)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_flaw(item, f"{path}[{index}]")
            if found:
                return found
    return None


class StrictJSONParser(JSONParser):
    """JSON, refused with 400 when any string or key in it holds a NUL or a lone surrogate, or
    when it is nested deeper than Python's recursion limit lets it be read (about 1,000 levels)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
            found = _find_flaw(data)
        except RecursionError:
            raise ParseError("The JSON is nested too deeply to read.") from None
        if found:
            where, flaw = found
            shown = where.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")[:80]
            raise ParseError(f"{shown}: {flaw}.")
        return data
