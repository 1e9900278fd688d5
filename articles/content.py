"""Pure functions over an article's content: snapshots, hashes and citation markers."""

import hashlib
import json
import re
from collections.abc import Iterable, Mapping

CONTENT_FIELDS = ("title", "summary", "body", "patient_body")
EDITABLE_TEXT_FIELDS = ("title", "slug", "summary", "body", "patient_body")

#: Bounds on what an article and its review hold, so that every page, diff and export of
#: them has a bounded cost whatever is typed or posted. In characters, unless said otherwise.
BODY_LIMIT = 1_000_000  # each text (clinicians', patients'): a long review, about 140,000 words
SUMMARY_LIMIT = 5_000
REASON_LIMIT = 5_000  # a reason, a decline, a declaration of competing interests
COMMENTS_LIMIT = 100_000  # each of a review's comments
TEXT_LIMIT = 100_000  # any other text without a limit of its own
MAX_REFERENCES = 300  # references per article: each stays citable as [n]
REFERENCE_FIELDS = ("authors", "title", "source", "year", "doi", "pmid", "url")

#: What a citation marker holds: 3, "1, 2" or "2-4" (with a hyphen or an en dash).
CITATION_LABEL = r"\d{1,3}(?:\s*(?:,|-|\u2013)\s*\d{1,3})*"
#: A citation marker: [3], [1, 2] or [2-4].
CITATION_MARKER = re.compile(rf"\[({CITATION_LABEL})\]")
#: The widest range a marker may span; a wider one ([1-99]) is read as a typo for its first number.
MAX_RANGE = 50


def snapshot(article, references: Iterable) -> dict:
    """The reviewable content of an article as plain data, references in their order."""
    data = {field: getattr(article, field) for field in CONTENT_FIELDS}
    data["specialty"] = article.specialty.name if article.specialty_id else ""
    data["references"] = [reference.as_content() for reference in references]
    return data


def content_hash(data: Mapping) -> str:
    """SHA-256 of a canonical JSON encoding: the same content always gives the same hash."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def expand_citation(label: str) -> set[int]:
    """The numbers one marker's label cites: "1, 3-5" -> {1, 3, 4, 5}."""
    numbers: set[int] = set()
    for part in re.split(r"\s*,\s*", label.strip()):
        bounds = re.split(r"\s*[-\u2013]\s*", part)
        low, high = int(bounds[0]), int(bounds[-1])
        if high - low > MAX_RANGE:  # a typo, not a range
            high = low
        numbers.update(range(low, high + 1))
    return numbers


def cited_numbers(text: str) -> set[int]:
    """Every reference number the raw text cites, ranges expanded (code and links included)."""
    numbers: set[int] = set()
    for match in CITATION_MARKER.finditer(text):
        numbers |= expand_citation(match.group(1))
    return numbers


def citation_problems(texts: Iterable[str], reference_count: int) -> tuple[list[int], list[int]]:
    """Markers that point at no reference, and references that nothing cites."""
    cited: set[int] = set()
    for text in texts:
        cited |= cited_numbers(text)
    dangling = sorted(n for n in cited if not 1 <= n <= reference_count)
    uncited = sorted(n for n in range(1, reference_count + 1) if n not in cited)
    return dangling, uncited
