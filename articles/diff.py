"""A readable diff between two submitted versions: words struck out and words added."""

import difflib
import re

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


def word_diff(old: str, new: str) -> SafeString:
    """HTML with <del> for removed words and <ins> for added ones, everything else escaped."""
    a, b = _TOKENS.findall(old or ""), _TOKENS.findall(new or "")
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(escape("".join(a[i1:i2])))
            continue
        if op in ("delete", "replace"):
            out.append(f"<del>{escape(''.join(a[i1:i2]))}</del>")
        if op in ("insert", "replace"):
            out.append(f"<ins>{escape(''.join(b[j1:j2]))}</ins>")
    return mark_safe("".join(out))  # noqa: S308 - every piece of text is escaped above


def diff_versions(old: dict, new: dict) -> list[dict]:
    """For each field that changed between two version contents: its label and a word diff."""
    changes = []
    for field, label in LABELS.items():
        before, after = old.get(field, ""), new.get(field, "")
        if field == "references":
            before, after = reference_lines(before or []), reference_lines(after or [])
        if before != after:
            changes.append({"field": field, "label": label, "html": word_diff(before, after)})
    return changes
