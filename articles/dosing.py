"""Reading an article's text as a medical editor does: sentences, doses, frequencies, durations
and the medicines they belong to. Plain functions over Markdown text; the rules that use them
are in ``articles.lints``.

Medicine names come from the shipped list ``articles/data/essential_medicines.txt`` (a subset
of the WHO Model List of Essential Medicines, with common synonyms).
"""

import dataclasses
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# --- Reading the text -----------------------------------------------------------------------

_FENCED = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_BLOCK_START = re.compile(r"^\s*(?:#{1,6}\s|[-*+]\s|\d{1,3}[.)]\s|>|\|)")
_LINE_MARKUP = re.compile(r"^\s*(?:#{1,6}\s+|[-*+]\s+|\d{1,3}[.)]\s+|>\s*)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|~~)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9“\"(])")


def plain_units(text: str) -> list[str]:
    """The text as plain sentences: headings, list items and table rows each stand alone."""
    text = _CODE_SPAN.sub(" ", _FENCED.sub(" ", text or ""))
    text = _LINK.sub(r"\1", text)
    paragraphs: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        if not line.strip() or _BLOCK_START.match(line):
            if current:
                paragraphs.append(" ".join(current))
            current = []
        if line.strip():
            if re.match(r"^\s*\|?\s*:?-{3,}", line):  # a table's delimiter row
                continue
            current.append(_EMPHASIS.sub("", _LINE_MARKUP.sub("", line)).replace("|", " ").strip())
    if current:
        paragraphs.append(" ".join(current))
    sentences = []
    for paragraph in paragraphs:
        sentences.extend(part.strip() for part in _SENTENCE_END.split(paragraph) if part.strip())
    return sentences


def excerpt(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- Doses ----------------------------------------------------------------------------------

NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?|\.\d+)"
_UNIT_WORDS = {
    "mg": "mg",
    "milligram": "mg",
    "milligrams": "mg",
    "mcg": "mcg",
    "µg": "mcg",
    "μg": "mcg",
    "microgram": "mcg",
    "micrograms": "mcg",
    "g": "g",
    "gram": "g",
    "grams": "g",
    "ml": "mL",
    "millilitre": "mL",
    "millilitres": "mL",
    "milliliter": "mL",
    "milliliters": "mL",
    "cc": "mL",
    "units": "units",
    "unit": "units",
    "iu": "IU",
    "u": "units",
    "mmol": "mmol",
}
_UNIT = "|".join(sorted((re.escape(word) for word in _UNIT_WORDS), key=len, reverse=True))
DOSE = re.compile(
    rf"(?<![\w.])(?P<low>{NUMBER})(?:\s*(?:-|–|to)\s*(?P<high>{NUMBER}))?\s?"
    rf"(?P<unit>{_UNIT})(?!\w)(?P<per>/(?:kg|m2|m²)(?:/(?:day|d|dose|h|hour))?|/(?:day|d|dose))?",
    re.IGNORECASE,
)
#: Laboratory values and rates share the units but are not doses: mmol/L, mL/min, mg/dL …
_NOT_A_DOSE = re.compile(r"^/(?:l|dl|min|1\.73)\b", re.IGNORECASE)
_TO_MG = {"mg": 1.0, "mcg": 0.001, "g": 1000.0}


@dataclass(frozen=True)
class Dose:
    text: str
    low: float
    high: float
    unit: str  # canonical: mg, mcg, g, mL, units, IU, mmol
    written_unit: str
    per: str = ""

    def interval(self) -> tuple[str, float, float]:
        """(family, low, high) with masses in mg, so 0.5 g and 500 mg compare equal."""
        if self.unit in _TO_MG:
            factor = _TO_MG[self.unit]
            return ("mg" + self.per, self.low * factor, self.high * factor)
        return (self.unit + self.per, self.low, self.high)


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def doses(text: str) -> list[Dose]:
    """Every dose written in ``text`` (a number or range with a unit), in order."""
    found = []
    for match in DOSE.finditer(text or ""):
        rest = text[match.end() :]
        if not match.group("per") and _NOT_A_DOSE.match(rest):
            continue
        low = _number(match.group("low"))
        high = _number(match.group("high")) if match.group("high") else low
        written = match.group("unit")
        found.append(
            Dose(
                text=match.group(0),
                low=low,
                high=high,
                unit=_UNIT_WORDS[written.lower()],
                written_unit=written,
                per=(match.group("per") or "").lower(),
            )
        )
    return found


def dose_count(content: Mapping) -> int:
    """How many doses the two texts give: 0 means the dose checklist item does not apply."""
    return len(doses(content.get("body", ""))) + len(doses(content.get("patient_body", "")))


# --- Frequencies and durations ----------------------------------------------------------------

_WORDNUMBERS = {"one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
_WORDNUMBERS |= {"eight": 8, "nine": 9, "ten": 10, "twelve": 12, "fourteen": 14}
_COUNT = r"(\d{1,3}|one|a|an|two|three|four|five|six|seven|eight|nine|ten|twelve|fourteen)"
_PER_DAY = r"(?:a|per|each)\s+day|daily"
FREQUENCIES = [
    (re.compile(rf"\bonce\s+(?:{_PER_DAY})|\bevery\s+day\b|\b(?:od|qd)\b", re.I), lambda m: 1.0),
    (re.compile(rf"\btwice\s+(?:{_PER_DAY})|\b(?:bd|bid|b\.i\.d\.)(?!\w)", re.I), lambda m: 2.0),
    (re.compile(rf"\b{_COUNT}\s+times\s+(?:{_PER_DAY})", re.I), lambda m: float(_count(m.group(1)))),
    (re.compile(r"\b(?:tds|tid|t\.i\.d\.)(?!\w)", re.I), lambda m: 3.0),
    (re.compile(r"\b(?:qds|qid|q\.i\.d\.)(?!\w)", re.I), lambda m: 4.0),
    (re.compile(r"\bevery\s+(\d{1,2})\s+hours?\b|\b(\d{1,2})-hourly\b|\bq(\d{1,2})h\b", re.I), None),
    (re.compile(r"\bonce\s+(?:a|per|each)\s+week\b|\bweekly\b", re.I), lambda m: 1 / 7),
    (re.compile(r"\b(?:on\s+)?alternate\s+days\b|\bevery\s+other\s+day\b", re.I), lambda m: 0.5),
]
FREQUENCY_WORDS = {1.0: "once a day", 2.0: "twice a day", 3.0: "three times a day", 4.0: "four times a day"}
DURATION = re.compile(rf"\bfor\s+(?:(?:a|an)\s+)?(?:{_COUNT}\s+)?(days?|weeks?|fortnight|months?)\b", re.I)
_DAYS = {"day": 1, "week": 7, "fortnight": 14, "month": 30}


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _WORDNUMBERS[word.lower()]


def frequencies(text: str) -> set[float]:
    """How many times a day the text says to take something (1/7 for weekly)."""
    found = set()
    for pattern, value in FREQUENCIES:
        for match in pattern.finditer(text):
            if value is None:
                hours = next(int(group) for group in match.groups() if group)
                if hours:
                    found.add(round(24 / hours, 3))
            else:
                found.add(round(value(match), 3))
    if not found and re.search(r"\bdaily\b", text, re.I):
        found.add(1.0)
    return found


def durations(text: str) -> set[int]:
    """How many days the text says a course lasts."""
    found = set()
    for match in DURATION.finditer(text):
        count = _count(match.group(1)) if match.group(1) else 1
        found.add(count * _DAYS[match.group(2).lower().rstrip("s")])
    return found


# --- Medicines ------------------------------------------------------------------------------------


@functools.cache
def medicines() -> tuple[dict[str, str], re.Pattern]:
    """The shipped medicine names: {name or synonym: name to print}, and one pattern for them all."""
    names: dict[str, str] = {}
    source = Path(__file__).with_name("data") / "essential_medicines.txt"
    for line in source.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        variants = [variant.strip().lower() for variant in line.split("|")]
        for variant in variants:
            names.setdefault(variant, variants[0])
    alternatives = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    return names, re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.IGNORECASE)


@dataclass
class _Regimen:
    doses: list = dataclasses.field(default_factory=list)
    frequencies: set = dataclasses.field(default_factory=set)
    durations: set = dataclasses.field(default_factory=set)
    units: set = dataclasses.field(default_factory=set)
    mentions: list = dataclasses.field(default_factory=list)


def regimens(text: str) -> dict[str, _Regimen]:
    """What each named medicine's mentions say: doses, frequencies, durations, units written.

    A mention runs from the medicine's name to the end of its sentence or the next name.
    """
    names, pattern = medicines()
    found: dict[str, _Regimen] = {}
    for sentence in plain_units(text):
        matches = list(pattern.finditer(sentence))
        for index, match in enumerate(matches):
            end = matches[index + 1].start() if index + 1 < len(matches) else len(sentence)
            clause = sentence[match.end() : end]
            regimen = found.setdefault(names[match.group(0).lower()], _Regimen())
            given = doses(clause)
            regimen.doses.extend(given)
            regimen.units.update(dose.unit for dose in given)
            regimen.frequencies |= frequencies(clause)
            regimen.durations |= durations(clause)
            regimen.mentions.append(sentence)
    return found
