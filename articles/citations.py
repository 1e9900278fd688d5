"""The citation gate: every [n] names a reference, and every reference is cited.

Readers follow ``[n]`` to the n-th reference; a marker with no reference leads nowhere and a
reference nothing cites supports nothing. Both block submission and approval (the rule is
enforced in ``editorial.workflow.services``). Two references naming the same work (the same
DOI, PMID or address) are only a warning: the author may have meant two parts of one report.

Citations are read as readers see them (``articles.rendering.citation_numbers``): a ``[2]``
inside code or inside a link's words is not a citation.
"""

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from articles.identifiers import identity_keys
from articles.rendering import citation_numbers

KEY_LABELS = {"doi": "DOI", "pmid": "PMID", "url": "address"}


@dataclass(frozen=True)
class CitationReport:
    """What is wrong with an article's citations: ``problems`` block, ``warnings`` do not."""

    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {"problems": list(self.problems), "warnings": list(self.warnings)}


def _markers(numbers: Sequence[int]) -> str:
    items = [f"[{n}]" for n in numbers]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def check_citations(*, body: str, patient_body: str, references: Sequence[Mapping]) -> CitationReport:
    """The citation problems of two texts against an ordered reference list.

    ``references`` are mappings with the reference fields (``doi``, ``pmid``, ``url`` …),
    numbered 1, 2 … in the order given. Returns a ``CitationReport`` whose sentences are the
    ones the workspace, the API and the live preview all show.
    """
    count = len(references)
    cited = citation_numbers(body) | citation_numbers(patient_body)
    dangling = sorted(n for n in cited if not 1 <= n <= count)
    uncited = sorted(n for n in range(1, count + 1) if n not in cited)
    problems = []
    if dangling:
        has = "there are no references yet" if count == 0 else f"the reference list has only {count}"
        problems.append(f"The text cites {_markers(dangling)}, but {has}.")
    if uncited:
        noun = "reference" if len(uncited) == 1 else "references"
        problems.append(
            f"Nothing in the text cites {noun} {_markers(uncited)}: cite it where it supports a claim, or remove it."
        )
    warnings = []
    seen: dict[tuple[str, str], int] = {}
    reported: set[tuple[int, int]] = set()
    for number, reference in enumerate(references, start=1):
        for key in identity_keys(dict(reference)):
            first = seen.setdefault(key, number)
            if first != number and (first, number) not in reported:
                reported.add((first, number))
                warnings.append(
                    f"References [{first}] and [{number}] name the same work ({KEY_LABELS[key[0]]} {key[1]})."
                )
    return CitationReport(problems=tuple(problems), warnings=tuple(warnings))


def _words(text) -> list[str]:
    return re.findall(r"[a-z0-9]+", unicodedata.normalize("NFKD", str(text or "")).casefold())


def metadata_disagreements(typed: Mapping, found: Mapping) -> list[str]:
    """Where a reference as typed differs from the record a service returned, one sentence each.

    Compares the title (by its words), the year, the journal (either may be abbreviated) and
    the first author's family name. A field left empty by the author, or absent from the
    record, is not a disagreement: the look-up fills it.
    """
    sentences = []
    title, their_title = _words(typed.get("title")), _words(found.get("title"))
    if title and their_title and SequenceMatcher(None, title, their_title).ratio() < 0.85:
        sentences.append(f"The title differs from the record: “{found['title']}”.")
    if (
        str(typed.get("year") or "").strip().isdigit()
        and found.get("year")
        and int(typed["year"]) != int(found["year"])
    ):
        sentences.append(f"The year differs from the record: {found['year']}.")
    journal, their_journal = " ".join(_words(typed.get("source"))), " ".join(_words(found.get("source")))
    if journal and their_journal and journal not in their_journal and their_journal not in journal:
        sentences.append(f"The journal differs from the record: “{found['source']}”.")
    first_typed = _words(str(typed.get("authors") or "").split(",")[0])
    their_authors = _words(found.get("authors"))
    if first_typed and their_authors and their_authors[0] not in first_typed:
        sentences.append(f"The first author differs from the record: “{found['authors']}”.")
    return sentences
