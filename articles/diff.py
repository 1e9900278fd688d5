"""A readable diff between two submitted versions: words struck out and words added.

Paragraphs first, then words within the paragraphs that changed, both with diff-match-patch
(Myers' O(ND) algorithm with a time budget): each distinct paragraph, then each distinct word
or run of whitespace, becomes one character, so the library compares whole units, not
letters. An edit touches few paragraphs, so the cost grows with the text's length and the
size of the change, and never passes ``DIFF_SECONDS`` per field: when the budget runs out,
the passages still unmatched are shown whole (removed, then added) and the result says so.
"""

import re
import time
from dataclasses import dataclass

from diff_match_patch import diff_match_patch
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

LABELS = {
    "title": "Clinical question",
    "summary": "Summary",
    "body": "Text for clinicians",
    "patient_body": "Text for patients",
    "specialty": "Specialty",
    "references": "References",
}

_TOKENS = re.compile(r"\s+|[^\s]+")


def reference_lines(references: list[dict]) -> str:
    lines = []
    for number, ref in enumerate(references, start=1):
        parts = [ref.get("authors"), ref.get("title"), ref.get("source"), str(ref.get("year") or "")]
        ids = [f"doi:{ref['doi']}" if ref.get("doi") else "", f"PMID {ref['pmid']}" if ref.get("pmid") else ""]
        lines.append(f"[{number}] " + ". ".join(p for p in parts if p) + (" " + " ".join(i for i in ids if i)).rstrip())
    return "\n".join(lines)


#: Seconds one field's diff may take before the rest is shown passage by passage.
DIFF_SECONDS = 0.5

_PARAGRAPHS = re.compile(r"[^\n]*\n|[^\n]+$")
# Code points never given to a unit: the surrogates, which cannot be encoded.
_SURROGATES = range(0xD800, 0xE000)


@dataclass(frozen=True)
class WordDiff:
    """A word diff as HTML, and whether the time budget cut it short (``coarse``)."""

    html: SafeString
    coarse: bool = False

    def __str__(self) -> str:
        return self.html

    def __html__(self) -> str:
        return self.html


class _Units:
    """Texts as strings of one character per unit (paragraph or word), and back."""

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}
        self.units: dict[str, str] = {}

    def encode(self, units: list[str]) -> str:
        chars = []
        for unit in units:
            char = self.codes.get(unit)
            if char is None:
                point = len(self.codes) + 1
                if point >= _SURROGATES.start:
                    point += len(_SURROGATES)
                char = self.codes[unit] = chr(point)
                self.units[char] = unit
            chars.append(char)
        return "".join(chars)

    def decode(self, chars: str) -> str:
        return "".join(self.units[char] for char in chars)


def _diff(units_a: list[str], units_b: list[str], deadline: float) -> list[tuple[int, str]]:
    """diff-match-patch over units: (op, text) pairs, op -1 removed, 0 kept, 1 added."""
    table = _Units()
    a, b = table.encode(units_a), table.encode(units_b)
    engine = diff_match_patch()
    engine.Diff_Timeout = max(deadline - time.time(), 0.001)
    return [(op, table.decode(chars)) for op, chars in engine.diff_main(a, b, checklines=False)]


def diff_words(old: str, new: str, *, seconds: float = DIFF_SECONDS) -> WordDiff:
    """The word diff of two texts, within about ``seconds`` whatever their size.

    Returns HTML with ``<del>`` for removed words and ``<ins>`` for added ones, everything
    else escaped; ``coarse`` is true when the budget ran out and some changed passages are
    shown whole rather than word by word.
    """
    deadline = time.time() + seconds
    out: list[str] = []
    removed, added = [], []

    def flush() -> None:
        if not (removed or added):
            return
        before, after = "".join(removed), "".join(added)
        removed.clear(), added.clear()
        if time.time() < deadline:
            pieces = _diff(_TOKENS.findall(before), _TOKENS.findall(after), deadline)
        else:
            pieces = [(-1, before), (1, after)]
        for op, text in pieces:
            if not text:
                continue
            if op == 0:
                out.append(escape(text))
            else:
                tag = "del" if op < 0 else "ins"
                out.append(f"<{tag}>{escape(text)}</{tag}>")

    for op, text in _diff(_PARAGRAPHS.findall(old or ""), _PARAGRAPHS.findall(new or ""), deadline):
        if op == 0:
            flush()
            out.append(escape(text))
        else:
            (removed if op < 0 else added).append(text)
    flush()
    # Past the deadline the library stops matching and hands back the rest whole.
    return WordDiff(html=mark_safe("".join(out)), coarse=time.time() >= deadline)  # noqa: S308 - every text escaped above


def word_diff(old: str, new: str) -> SafeString:
    """HTML with <del> for removed words and <ins> for added ones, everything else escaped."""
    return diff_words(old, new).html


def diff_versions(old: dict, new: dict) -> list[dict]:
    """For each field that changed between two version contents: its label and a word diff."""
    changes = []
    for field, label in LABELS.items():
        before, after = old.get(field, ""), new.get(field, "")
        if field == "references":
            before, after = reference_lines(before or []), reference_lines(after or [])
        if before != after:
            diff = diff_words(before, after)
            changes.append({"field": field, "label": label, "html": diff.html, "coarse": diff.coarse})
    return changes
