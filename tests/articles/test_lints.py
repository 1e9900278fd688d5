"""The safety lints' table of cases: each row is a text and what the lints must (not) say about it.

A row names the lint code expected (or None for "no finding of that kind") on the clinician text,
the patient text, or both. The rules are in articles/lints.py.
"""

import time

import pytest

from articles import lints
from articles.dosing import dose_count, doses, durations, frequencies

OPTIONS = lints.Options(max_grade=8, disclaimer="A disclaimer.", emergency_advice="In an emergency, call 911.")

# (id, body, patient_body, code, expected): expected True = a finding with this code, False = none.
CASES = [
    # A dose in a sentence with no citation.
    ("dose uncited mg", "Give ibuprofen 400 mg three times daily.", "", "dose_uncited", True),
    ("dose cited", "Give ibuprofen 400 mg three times daily [1].", "", "dose_uncited", False),
    ("dose cited by a later marker", "Give 5 mg daily. [2] Then review.", "", "dose_uncited", False),
    ("dose mcg", "Levothyroxine 50 mcg once daily.", "", "dose_uncited", True),
    ("dose µg (micro sign)", "Levothyroxine 50 \u00b5g once daily.", "", "dose_uncited", True),
    ("dose μg (greek mu)", "Levothyroxine 50 \u03bcg once daily.", "", "dose_uncited", True),
    ("dose g", "Paracetamol 1 g every 6 hours.", "", "dose_uncited", True),
    ("dose mL", "Give 5 mL of the syrup.", "", "dose_uncited", True),
    ("dose units", "Start insulin at 10 units at night.", "", "dose_uncited", True),
    ("dose IU", "Vitamin D 800 IU daily.", "", "dose_uncited", True),
    ("dose mg/kg", "Amoxicillin 40 mg/kg/day in two doses.", "", "dose_uncited", True),
    ("dose range", "Ibuprofen 400-600 mg with food.", "", "dose_uncited", True),
    ("dose in the patient text", "", "Take 200 mg once a day.", "dose_uncited", True),
    ("dose in a list item", "- Naproxen 500 mg twice daily\n- Rest [1]", "", "dose_uncited", True),
    (
        "a lab value is no dose",
        "Potassium above 5.5 mmol/L needs review [1].\n\nCheck eGFR below 30 mL/min.",
        "",
        "dose_uncited",
        False,
    ),
    ("a duration is no dose", "Rest for 2 weeks.", "", "dose_uncited", False),
    ("a percentage is no dose", "About 50% of people recover.", "", "dose_uncited", False),
    ("a dose in code is not read", "Write `5 mg` like this [1].", "", "dose_uncited", False),
    # Micrograms and milligrams side by side for one medicine.
    (
        "mcg and mg for one drug",
        "Levothyroxine 50 mcg daily [1]; later levothyroxine 0.1 mg [1].",
        "",
        "unit_mixed",
        True,
    ),
    ("mcg for one drug, mg for another", "Levothyroxine 50 mcg [1]. Ibuprofen 400 mg [1].", "", "unit_mixed", False),
    ("mg only", "Ibuprofen 400 mg, then ibuprofen 200 mg [1].", "", "unit_mixed", False),
    # Impossible values and error-prone designations (ISMP).
    ("range reversed", "Ibuprofen 600-400 mg [1].", "", "range_reversed", True),
    ("range reversed with 'to'", "Give 10 to 5 mg [1].", "", "range_reversed", True),
    ("range in order", "Ibuprofen 400–600 mg [1].", "", "range_reversed", False),
    ("u for units", "Insulin 10 u at night [1].", "", "unit_error_prone", True),
    ("U for units", "Insulin 10 U at night [1].", "", "unit_error_prone", True),
    ("cc for mL", "Draw up 5 cc [1].", "", "unit_error_prone", True),
    ("trailing zero", "Warfarin 5.0 mg [1].", "", "unit_error_prone", True),
    ("naked decimal", "Digoxin .125 mg [1].", "", "unit_error_prone", True),
    ("leading zero is right", "Digoxin 0.125 mg [1].", "", "unit_error_prone", False),
    ("units in full", "Insulin 10 units at night [1].", "", "unit_error_prone", False),
    # Absolute claims.
    ("cures", "This diet cures diabetes [1].", "", "absolute_claim", True),
    ("always safe", "", "Paracetamol is always safe.", "absolute_claim", True),
    ("100% effective", "The vaccine is 100% effective [1].", "", "absolute_claim", True),
    ("no side effects", "", "It has no side effects.", "absolute_claim", True),
    ("risk-free", "", "A risk-free treatment.", "absolute_claim", True),
    ("negated: not always safe", "", "Ibuprofen is not always safe for people with asthma.", "absolute_claim", False),
    ("negated: no cure", "There is no cure, but symptoms can be managed [1].", "", "absolute_claim", False),
    ("few side effects is careful", "", "It has few side effects.", "absolute_claim", False),
    # Clinician and patient texts disagree on one medicine.
    (
        "frequency and duration differ (the issue's example)",
        "Amoxicillin 500 mg three times daily for 5 days [1].",
        "Take amoxicillin twice a day for a week.",
        "audience_mismatch",
        True,
    ),
    (
        "dose differs",
        "Naproxen 500 mg twice daily [1].",
        "Take naproxen 250 mg twice a day.",
        "audience_mismatch",
        True,
    ),
    (
        "same regimen in other words",
        "Amoxicillin 500 mg three times daily for 7 days [1].",
        "Take amoxicillin three times a day for a week.",
        "audience_mismatch",
        False,
    ),
    ("0.5 g is 500 mg", "Amoxicillin 500 mg [1].", "Amoxicillin 0.5 g.", "audience_mismatch", False),
    (
        "synonyms are one medicine",
        "Paracetamol 1 g four times daily [1].",
        "Take acetaminophen twice a day.",
        "audience_mismatch",
        True,
    ),
    (
        "the patient text names no regimen",
        "Amoxicillin 500 mg three times daily [1].",
        "Amoxicillin is an antibiotic.",
        "audience_mismatch",
        False,
    ),
    ("different medicines", "Amoxicillin three times daily [1].", "Ibuprofen twice a day.", "audience_mismatch", False),
    # Reading grade of the patient text.
    (
        "patient text hard to read",
        "",
        "Intra-articular corticosteroid injections demonstrate statistically significant improvements in "
        "osteoarthritic symptomatology, notwithstanding considerable interindividual heterogeneity.",
        "reading_grade",
        True,
    ),
    (
        "patient text plain",
        "",
        "Most hip pain gets better. Rest for a week. Then start your exercises.",
        "reading_grade",
        False,
    ),
    (
        "the clinician text is not graded",
        "Intra-articular corticosteroid injections demonstrate statistically "
        "significant improvements in osteoarthritic symptomatology [1].",
        "",
        "reading_grade",
        False,
    ),
]


@pytest.mark.parametrize(
    ("body", "patient_body", "code", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_lint_table(body, patient_body, code, expected):
    found = [f for f in lints.lint({"body": body, "patient_body": patient_body}, OPTIONS) if f.code == code]
    assert bool(found) is expected, [f.message for f in found]
    for finding in found:
        assert finding.title and finding.message and finding.field in ("body", "patient_body", "page")


PAGE_CASES = [
    ("both notices", OPTIONS, 0),
    ("no disclaimer", lints.Options(disclaimer=" ", emergency_advice="In an emergency call 999."), 1),
    ("no emergency advice", lints.Options(disclaimer="A disclaimer.", emergency_advice=""), 1),
    ("emergency line that gives no emergency action", lints.Options(disclaimer="x", emergency_advice="Be well."), 1),
]


@pytest.mark.parametrize(("options", "count"), [c[1:] for c in PAGE_CASES], ids=[c[0] for c in PAGE_CASES])
def test_the_public_page_needs_its_disclaimer_and_emergency_advice(options, count):
    found = [f for f in lints.lint({"body": "", "patient_body": ""}, options) if f.code == "page_disclaimer"]
    assert len(found) == count


def test_the_settings_give_the_page_both_notices(settings):
    assert not [f for f in lints.lint({}) if f.code == "page_disclaimer"]
    settings.EDITORIAL_EMERGENCY_ADVICE = ""
    assert [f for f in lints.lint({}) if f.code == "page_disclaimer"]


def test_the_reading_grade_follows_its_setting(settings):
    text = {"patient_body": "Your doctor will probably recommend physiotherapy and gradual strengthening exercises."}
    settings.EDITORIAL_PATIENT_READING_GRADE = 20
    assert not [f for f in lints.lint(text) if f.code == "reading_grade"]
    settings.EDITORIAL_PATIENT_READING_GRADE = 4
    assert [f for f in lints.lint(text) if f.code == "reading_grade"]


def test_lints_only_warn_and_name_where_they_looked():
    found = lints.lint({"body": "Ibuprofen 600-400 mg cures it.", "patient_body": "Take 10 u."}, OPTIONS)
    assert {f.field for f in found} == {"body", "patient_body"}
    assert all(f.excerpt for f in found if f.field != "page")


@pytest.mark.parametrize(
    ("text", "per_day"),
    [
        ("once daily", {1}),
        ("twice a day", {2}),
        ("bd", {2}),
        ("three times daily", {3}),
        ("tds", {3}),
        ("four times a day", {4}),
        ("every 8 hours", {3}),
        ("6-hourly", {4}),
        ("q12h", {2}),
        ("on alternate days", {0.5}),
        ("weekly", {round(1 / 7, 3)}),
        ("with food", set()),
    ],
)
def test_frequencies_in_times_a_day(text, per_day):
    assert frequencies(text) == per_day


@pytest.mark.parametrize(
    ("text", "days"),
    [("for 5 days", {5}), ("for a week", {7}), ("for two weeks", {14}), ("for a fortnight", {14}), ("daily", set())],
)
def test_durations_in_days(text, days):
    assert durations(text) == days


def test_doses_are_read_with_their_units_and_ranges():
    found = doses("Ibuprofen 400–600 mg, then 1 g, 50 µg, 2,000 IU and 40 mg/kg/day.")
    assert [(d.low, d.high, d.unit, d.per) for d in found] == [
        (400, 600, "mg", ""),
        (1, 1, "g", ""),
        (50, 50, "mcg", ""),
        (2000, 2000, "IU", ""),
        (40, 40, "mg", "/kg/day"),
    ]
    assert dose_count({"body": "5 mg [1]", "patient_body": "10 mg"}) == 2
    assert dose_count({"body": "Rest for a week.", "patient_body": ""}) == 0


def test_the_cost_of_a_check_is_bounded_whatever_the_text(settings):
    """A 2 MB text is read to LINT_LIMIT characters, says so, and lists at most MAX_PER_RULE per rule."""

    sentence = "Give ibuprofen 400 mg three times daily. It cures. "
    huge = sentence * (2_000_000 // len(sentence))
    lints.lint({"patient_body": "Warm up the syllable dictionary."})
    started = time.perf_counter()
    found = lints.lint({"body": huge, "patient_body": huge}, OPTIONS)
    assert time.perf_counter() - started < 5
    assert [f.field for f in found if f.code == "not_checked"] == ["body", "patient_body"]
    for code in ("dose_uncited", "absolute_claim"):
        for field in ("body", "patient_body"):
            mine = [f for f in found if f.code == code and f.field == field]
            assert len(mine) == lints.MAX_PER_RULE
            assert "more like it in this text" in mine[-1].message
