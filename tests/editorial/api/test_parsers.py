"""The API's JSON parser: any body is either text a database and a page can hold, or a 400.

A property over every JSON value (``hypothesis``), with strings and keys drawn from all of
Unicode, NUL and lone surrogates included, and the ends of what Python can read: nesting
deeper than its recursion limit.
"""

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ParseError

from editorial.api.parsers import StrictJSONParser

TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=8)  # surrogates included
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)


def parse(body: str):
    return StrictJSONParser().parse(io.BytesIO(body.encode("utf-8")), "application/json")


def strings_of(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings_of(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_of(item)


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_any_json_is_read_as_storable_text_or_refused_with_a_400(value):
    body = json.dumps(value)  # ensure_ascii: a lone surrogate travels as "\\ud800", as clients send it
    try:
        data = parse(body)
    except ParseError as refusal:
        assert any("\x00" in s or _unencodable(s) for s in strings_of(value))
        str(refusal.detail).encode("utf-8")  # the message itself can be written out
        return
    assert data == value
    for text in strings_of(data):
        assert "\x00" not in text
        text.encode("utf-8")


def _unencodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


@pytest.mark.parametrize("depth", [100, 5_000, 200_000])
def test_json_nested_beyond_what_python_reads_is_a_400(depth):
    body = "[" * depth + "]" * depth
    if depth <= 100:
        assert parse(body) is not None
        return
    with pytest.raises(ParseError, match="nested too deeply"):
        parse(body)
