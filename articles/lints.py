"""Safety lints: what a careful medical editor would query in an article's text.

Every rule is here, and ``tests/articles/test_lints.py`` holds their table of cases. Lints
are warnings for people, never a gate (only the citation gate, ``articles.citations``, blocks):
the workspace shows them live to the author, the board sees them beside the checklist, the
editor again before approving, and the submitted version keeps them in its own rows.

The rules, and where they come from:

- ``dose_uncited``: a dose (a number with a unit: mg, mcg/µg, g, mL, units, IU, mmol, per kg
  or per day, with or without a frequency) in a sentence that cites no reference.
- ``unit_mixed``: one medicine dosed in both micrograms and milligrams in one text: the
  thousand-fold error ISMP lists first among dose-designation errors.
- ``range_reversed``: a dose range whose low end is above its high end (``600-400 mg``).
- ``unit_error_prone``: ``u`` or ``U`` for units (read as 0 or 4), ``cc`` for mL (read as u or
  00), a trailing zero (``5.0 mg`` read as 50 mg) and a naked decimal point (``.5 mg`` read as
  5 mg): the ISMP List of Error-Prone Abbreviations, Symbols and Dose Designations.
- ``absolute_claim``: "cures", "always safe", "100% effective", "no side effects" and their
  kin (not when negated: "is not always safe" is careful writing).
- ``audience_mismatch``: the two texts give the same medicine (from the shipped list,
  ``articles/data/essential_medicines.txt``) a different dose, frequency or duration.
- ``reading_grade``: the patient text's Flesch–Kincaid grade (textstat) above the setting
  ``EDITORIAL_PATIENT_READING_GRADE`` (default 8: patient-information guidance commonly asks
  for grade 6 to 8).
- ``page_disclaimer``: the public page must carry a medical disclaimer and emergency advice
  (the settings ``EDITORIAL_DISCLAIMER`` and ``EDITORIAL_EMERGENCY_ADVICE``, which the public
  page shows).
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import textstat
from django.conf import settings

from articles.content import CITATION_MARKER
from articles.dosing import FREQUENCY_WORDS, NUMBER, doses, excerpt, plain_units, regimens

#: What each lint is called where people read them.
TITLES = {
    "dose_uncited": "Dose without a source",
    "unit_mixed": "Micrograms and milligrams for one medicine",
    "range_reversed": "Range runs backwards",
    "unit_error_prone": "Error-prone unit or number",
    "absolute_claim": "Absolute claim",
    "audience_mismatch": "Clinician and patient texts disagree",
    "reading_grade": "Patient text hard to read",
    "page_disclaimer": "Public page lacks a required notice",
    "not_checked": "Not checked to the end",
}
FIELDS = {"body": "text for clinicians", "patient_body": "text for patients", "page": "public page"}
#: How much of each text the lints read (a long article is about 30,000 characters): the cost of
#: a check stays bounded whatever is posted, and a longer text says it was not read to the end.
LINT_LIMIT = 60_000
#: At most this many findings of one rule on one text are listed (the last one counts the rest).
MAX_PER_RULE = 25


@dataclass(frozen=True)
class Finding:
    """One lint on one place of the content. ``field``: body, patient_body or page."""

    code: str
    field: str
    message: str
    excerpt: str = ""

    @property
    def title(self) -> str:
        return TITLES[self.code]

    @property
    def field_label(self) -> str:
        return FIELDS.get(self.field, self.field)

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "title": self.title,
            "field": self.field,
            "message": self.message,
            "excerpt": self.excerpt,
        }


@dataclass(frozen=True)
class Options:
    """The settings a lint run depends on (``options()`` reads them from Django's settings)."""

    max_grade: float = 8.0
    disclaimer: str = "disclaimer"
    emergency_advice: str = "In an emergency, call your local emergency number."


def options() -> Options:
    return Options(
        max_grade=settings.EDITORIAL_PATIENT_READING_GRADE,
        disclaimer=settings.EDITORIAL_DISCLAIMER,
        emergency_advice=settings.EDITORIAL_EMERGENCY_ADVICE,
    )


# --- The rules ------------------------------------------------------------------------------------


def _dose_uncited(field: str, sentences: Iterable[str]) -> list[Finding]:
    findings = []
    for sentence in sentences:
        given = doses(sentence)
        if given and not CITATION_MARKER.search(sentence):
            findings.append(
                Finding(
                    "dose_uncited",
                    field,
                    f"“{given[0].text}” is given without a source: cite the reference that supports this dose.",
                    excerpt(sentence),
                )
            )
    return findings


def _unit_problems(field: str, sentences: Iterable[str]) -> list[Finding]:
    findings = []
    for sentence in sentences:
        for dose in doses(sentence):
            written = dose.written_unit
            if dose.high < dose.low:
                findings.append(
                    Finding(
                        "range_reversed",
                        field,
                        f"“{dose.text}”: the low end of the range is above the high end.",
                        excerpt(sentence),
                    )
                )
            if written.lower() == "u":
                findings.append(
                    Finding(
                        "unit_error_prone",
                        field,
                        f"“{dose.text}”: write “units” in full; “{written}” is misread as 0 or 4.",
                        excerpt(sentence),
                    )
                )
            elif written.lower() == "cc":
                findings.append(
                    Finding(
                        "unit_error_prone",
                        field,
                        f"“{dose.text}”: write “mL”; “cc” is misread as “u” or “00”.",
                        excerpt(sentence),
                    )
                )
            for number in filter(None, re.findall(NUMBER, dose.text)):
                if re.fullmatch(r"\d+\.0+", number):
                    findings.append(
                        Finding(
                            "unit_error_prone",
                            field,
                            f"“{dose.text}”: drop the trailing zero; “{number}” is misread as "
                            f"{number.replace('.', '')}.",
                            excerpt(sentence),
                        )
                    )
                elif number.startswith("."):
                    findings.append(
                        Finding(
                            "unit_error_prone",
                            field,
                            f"“{dose.text}”: write a leading zero (0{number}); “{number}” is misread as {number[1:]}.",
                            excerpt(sentence),
                        )
                    )
    return findings


def _unit_mixed(field: str, found: dict) -> list[Finding]:
    findings = []
    for name, regimen in found.items():
        if "mcg" in regimen.units and "mg" in regimen.units:
            written = sorted({dose.text for dose in regimen.doses})
            findings.append(
                Finding(
                    "unit_mixed",
                    field,
                    f"{name} is dosed in both micrograms and milligrams ({', '.join(written)}): check each unit, "
                    "and use one.",
                    excerpt(regimen.mentions[0]),
                )
            )
    return findings


_NEGATION = re.compile(
    r"\b(?:not|never|no|nothing|neither|nor|isn't|aren't|doesn't|don't|cannot|can't)\W+(?:\w+\W+){0,2}$", re.I
)
ABSOLUTE_CLAIMS = [
    re.compile(r"\b(?:cures|cured|will\s+cure|can\s+cure|to\s+cure|(?:a|the)\s+cure\s+for)\b", re.I),
    re.compile(r"\b(?:always|completely|perfectly|totally|entirely|100\s?%|100\s+per\s?cent)\s+safe\b", re.I),
    re.compile(r"\b100\s?%\s+(?:effective|successful|success|guaranteed)|\b100\s+per\s?cent\s+effective", re.I),
    re.compile(r"\b(?:no|without|free\s+of|zero)\s+side[\s-]effects?\b", re.I),
    re.compile(r"\b(?:risk[\s-]free|guaranteed|never\s+fails|always\s+works|miracle)\b", re.I),
]


def _absolute_claims(field: str, sentences: Iterable[str]) -> list[Finding]:
    findings = []
    for sentence in sentences:
        for pattern in ABSOLUTE_CLAIMS:
            for match in pattern.finditer(sentence):
                if _NEGATION.search(sentence[: match.start()]) and not match.group(0).lower().startswith(
                    ("no", "without")
                ):
                    continue
                findings.append(
                    Finding(
                        "absolute_claim",
                        field,
                        f"“{match.group(0)}” is an absolute claim: medicine rarely allows one. Say how often, "
                        "for whom, and cite the evidence.",
                        excerpt(sentence),
                    )
                )
    return findings


def _describe(kind: str, values: set) -> str:
    if kind == "dose":
        return " or ".join(sorted(values))
    if kind == "frequency":
        return " or ".join(FREQUENCY_WORDS.get(v, f"{v:g} times a day") for v in sorted(values))
    return " or ".join(f"{v} days" if v % 7 else f"{v // 7} week{'s' if v > 7 else ''}" for v in sorted(values))


def _overlap(first: list, second: list) -> bool:
    for family, low, high in first:
        for other_family, other_low, other_high in second:
            if family == other_family and low <= other_high and other_low <= high:
                return True
    return not {f for f, _, _ in first} & {f for f, _, _ in second}  # different kinds of unit: no verdict


def _audience_mismatch(clinician: dict, patient: dict) -> list[Finding]:
    findings = []
    for name in sorted(set(clinician) & set(patient)):
        ours, theirs = clinician[name], patient[name]
        differences = []
        if (
            ours.doses
            and theirs.doses
            and not _overlap([d.interval() for d in ours.doses], [d.interval() for d in theirs.doses])
        ):
            differences.append(("dose", {d.text for d in ours.doses}, {d.text for d in theirs.doses}))
        if ours.frequencies and theirs.frequencies and not ours.frequencies & theirs.frequencies:
            differences.append(("frequency", ours.frequencies, theirs.frequencies))
        if ours.durations and theirs.durations and not ours.durations & theirs.durations:
            differences.append(("duration", ours.durations, theirs.durations))
        if differences:
            said = "; ".join(
                f"{kind}: {_describe(kind, a)} for clinicians, {_describe(kind, b)} for patients"
                for kind, a, b in differences
            )
            findings.append(
                Finding(
                    "audience_mismatch",
                    "patient_body",
                    f"The two texts disagree on {name} ({said}). Make them say the same.",
                    excerpt(theirs.mentions[0]),
                )
            )
    return findings


#: The reading grade is taken on the first this-many characters: representative, and it bounds
#: the memory textstat's own caches hold (128 texts per function).
GRADE_SAMPLE = 20_000


def reading_grade(text: str) -> float | None:
    """The Flesch–Kincaid grade of a text (None when it has no words)."""
    sample = CITATION_MARKER.sub("", (text or "")[:GRADE_SAMPLE])
    sentences = [s if s[-1] in ".!?" else s + "." for s in plain_units(sample)]
    plain = " ".join(sentences)
    if not re.search(r"[A-Za-z]", plain):
        return None
    return round(float(textstat.flesch_kincaid_grade(plain)), 1)


def warm() -> None:
    """Load what the reading grade needs once, now: textstat reads the CMU pronouncing
    dictionary (about 2 s here) on its first call, which would otherwise fall on the first
    submission a web process serves. Called by ``config/wsgi.py`` as a process starts."""
    reading_grade("A short sentence to warm the dictionary.")


def _reading_grade(patient_body: str, max_grade: float) -> list[Finding]:
    grade = reading_grade(patient_body)
    if grade is None or grade <= max_grade:
        return []
    return [
        Finding(
            "reading_grade",
            "patient_body",
            f"The text for patients reads at school grade {grade:g} (Flesch–Kincaid); aim for grade {max_grade:g} "
            "or below: shorter sentences, everyday words.",
        )
    ]


_EMERGENCY_WORDS = re.compile(r"\b(?:emergency|urgent|urgently|911|999|112|ambulance)\b", re.I)


def _page_notices(opts: Options) -> list[Finding]:
    findings = []
    if not opts.disclaimer.strip():
        findings.append(
            Finding(
                "page_disclaimer",
                "page",
                "The public page would show no medical disclaimer: set EDITORIAL_DISCLAIMER.",
            )
        )
    if not _EMERGENCY_WORDS.search(opts.emergency_advice or ""):
        findings.append(
            Finding(
                "page_disclaimer",
                "page",
                "The public page would give readers no emergency advice: set EDITORIAL_EMERGENCY_ADVICE to say "
                "what to do in an emergency.",
            )
        )
    return findings


def lint(content: Mapping, opts: Options | None = None) -> list[Finding]:
    """Every lint finding on an article's content, in the order of the rules above.

    ``content`` has the snapshot's shape (``articles.content.snapshot``): ``body`` and
    ``patient_body`` in Markdown; other keys are ignored. ``opts`` defaults to the settings.
    """
    opts = opts or options()
    findings: list[Finding] = []
    read = {}
    for field in ("body", "patient_body"):
        text = content.get(field, "") or ""
        if len(text) > LINT_LIMIT:
            findings.append(
                Finding(
                    "not_checked",
                    field,
                    f"The text is {len(text):,} characters long: the safety checks read the first {LINT_LIMIT:,}.",
                )
            )
            text = text[:LINT_LIMIT]
        sentences = plain_units(text)
        read[field] = regimens(text)
        findings += _capped(_dose_uncited(field, sentences))
        findings += _capped(_unit_problems(field, sentences))
        findings += _unit_mixed(field, read[field])
        findings += _capped(_absolute_claims(field, sentences))
    findings += _audience_mismatch(read["body"], read["patient_body"])
    findings += _reading_grade(content.get("patient_body", "") or "", opts.max_grade)
    findings += _page_notices(opts)
    return findings


def _capped(findings: list[Finding]) -> list[Finding]:
    """At most MAX_PER_RULE findings of one rule on one text; the rest are counted in the last."""
    if len(findings) <= MAX_PER_RULE:
        return findings
    last = findings[MAX_PER_RULE - 1]
    more = len(findings) - MAX_PER_RULE + 1
    summary = Finding(last.code, last.field, f"{last.message} (and {more - 1} more like it in this text)", last.excerpt)
    return [*findings[: MAX_PER_RULE - 1], summary]
