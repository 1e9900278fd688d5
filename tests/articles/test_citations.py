"""The citation gate's rule and the references' identifiers (pure functions, no database)."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from articles.citations import check_citations, metadata_disagreements
from articles.identifiers import identity_keys, normalise_doi, normalise_pmid, normalise_url, url_key


def refs(n, **extra):
    return [{"title": f"Source {i}", **extra} for i in range(1, n + 1)]


def test_a_dangling_marker_is_a_problem():
    """The reproduced failure: [5] with one reference submitted without complaint."""
    report = check_citations(body="Treat it [1]. Also [5].", patient_body="", references=refs(1))
    assert report.problems == ("The text cites [5], but the reference list has only 1.",)


def test_an_uncited_reference_is_a_problem():
    report = check_citations(body="Treat it [1].", patient_body="", references=refs(3))
    assert not report.ok
    assert "Nothing in the text cites references [2] and [3]" in report.problems[0]


def test_citations_in_either_text_count_and_ranges_expand():
    report = check_citations(body="A [1-3].", patient_body="B [4].", references=refs(4))
    assert report.ok and report.problems == ()


def test_markers_in_code_or_link_words_are_not_citations():
    report = check_citations(body="`a[2]` and [see [2]](https://example.org) [1]", patient_body="", references=refs(2))
    assert "Nothing in the text cites reference [2]" in report.problems[0]


def test_no_references_and_a_marker():
    report = check_citations(body="Claim [1].", patient_body="", references=[])
    assert report.problems == ("The text cites [1], but there are no references yet.",)


@pytest.mark.parametrize(
    ("first", "second", "says"),
    [
        ({"doi": "10.1136/BMJ.m1"}, {"doi": "https://doi.org/10.1136/bmj.m1"}, "DOI 10.1136/bmj.m1"),
        ({"pmid": "PMID: 12345"}, {"pmid": "12345"}, "PMID 12345"),
        ({"url": "https://Example.org/g/"}, {"url": "https://example.org/g#top"}, "address"),
    ],
)
def test_the_same_work_twice_is_a_warning_not_a_problem(first, second, says):
    report = check_citations(
        body="A [1] B [2].", patient_body="", references=[{"title": "a", **first}, {"title": "b", **second}]
    )
    assert report.ok
    assert len(report.warnings) == 1
    assert report.warnings[0].startswith("References [1] and [2] name the same work") and says in report.warnings[0]


@settings(max_examples=100, deadline=None)
@given(
    count=st.integers(min_value=0, max_value=12),
    cited=st.sets(st.integers(min_value=1, max_value=15), max_size=12),
)
def test_the_gate_passes_exactly_when_the_cited_numbers_are_the_references(count, cited):
    body = " ".join(f"Claim [{n}]." for n in sorted(cited))
    report = check_citations(body=body, patient_body="", references=refs(count))
    assert report.ok is (cited == set(range(1, count + 1)))


# --- Identifiers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("10.1136/bmj.m1234", "10.1136/bmj.m1234"),
        ("10.1016/S0140-6736(20)30183-5", "10.1016/s0140-6736(20)30183-5"),
        ("doi:10.1136/BMJ.M1234", "10.1136/bmj.m1234"),
        ("DOI: 10.1136/bmj.m1234", "10.1136/bmj.m1234"),
        ("https://doi.org/10.1136/bmj.m1234", "10.1136/bmj.m1234"),
        ("http://dx.doi.org/10.1136/bmj.m1234", "10.1136/bmj.m1234"),
        ("https://doi.org/10.1000/a%2Fb", "10.1000/a/b"),
        ("  10.1136/bmj.m1234  ", "10.1136/bmj.m1234"),
        ("", ""),
    ],
)
def test_dois_are_stored_in_one_form(typed, stored):
    assert normalise_doi(typed) == stored


@pytest.mark.parametrize("typed", ["10.1136", "bmj.m1234", "11.1000/x", "https://example.org/10.1/x", "10.12/x"])
def test_what_is_not_a_doi_is_refused(typed):
    with pytest.raises(ValidationError):
        normalise_doi(typed)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("31978945", "31978945"),
        ("PMID: 31978945", "31978945"),
        ("pmid:31978945", "31978945"),
        ("https://pubmed.ncbi.nlm.nih.gov/31978945/", "31978945"),
        ("0031978945", "31978945"),
        ("", ""),
    ],
)
def test_pmids_are_stored_in_one_form(typed, stored):
    assert normalise_pmid(typed) == stored


@pytest.mark.parametrize("typed", ["0", "12a", "1234567890", "-5", "٣١٩"])
def test_what_is_not_a_pmid_is_refused(typed):
    with pytest.raises(ValidationError):
        normalise_pmid(typed)


@pytest.mark.parametrize("typed", ["javascript:alert(1)", "ftp://example.org/f", "example.org", "https://"])
def test_addresses_must_be_web_addresses(typed):
    with pytest.raises(ValidationError):
        normalise_url(typed)


def test_one_page_has_one_key():
    assert url_key("HTTPS://Example.org/a/#x") == url_key("https://example.org/a")


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"10\.\d{4,6}/[A-Za-z0-9.()\-_;]{1,20}", fullmatch=True))
def test_normalising_a_doi_is_idempotent_and_keeps_its_identity(doi):
    once = normalise_doi(doi)
    assert normalise_doi(once) == once
    assert normalise_doi(f"https://doi.org/{doi}") == once
    assert identity_keys({"doi": doi}) == [("doi", once)]


# --- Metadata that disagrees ---------------------------------------------------------------------

RECORD = {
    "title": "Taping and foot orthoses for plantar heel pain: a systematic review",
    "authors": "Bello A, Nowak T, Vogel L, Adams R",
    "source": "Demonstration Journal of Foot and Ankle Research",
    "year": 2021,
}


@pytest.mark.parametrize(
    ("typed", "flags"),
    [
        ({}, []),
        ({"title": "Taping and foot orthoses for plantar heel pain: systematic review"}, []),
        ({"title": "Exercise for hip pain"}, ["title"]),
        ({"year": 2019}, ["year"]),
        ({"year": "2021"}, []),
        ({"source": "Demonstration Journal of Foot and Ankle Research"}, []),
        ({"source": "Lancet"}, ["journal"]),
        ({"authors": "Bello A, et al."}, []),
        ({"authors": "Smith J, Bello A"}, ["first author"]),
    ],
)
def test_typed_metadata_is_compared_with_the_record(typed, flags):
    found = metadata_disagreements(typed, RECORD)
    assert [flag for flag in ("title", "year", "journal", "first author") if any(flag in s for s in found)] == flags
