"""The resolver against the local stub server, which answers in Crossref's and PubMed's shapes.

Real HTTP over loopback: the stub (editorial.sources.stub) runs in a thread for this module.
"""

import pytest
from django.core.cache import cache

from editorial.sources import stub
from editorial.sources.resolver import Resolver, ResolverError, ResolverOff, resolver


@pytest.fixture(scope="module")
def stub_server():
    server, thread = stub.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def service(stub_server, settings):
    settings.EDITORIAL_RESOLVER_ENABLED = True
    settings.EDITORIAL_CROSSREF_URL = f"{stub_server.base_url}/crossref"
    settings.EDITORIAL_PUBMED_URL = f"{stub_server.base_url}/pubmed"
    settings.EDITORIAL_RESOLVER_CONTACT = "editors@example.org"
    settings.EDITORIAL_RESOLVER_TIMEOUT = 1.0
    cache.clear()
    stub_server.requests.clear()
    yield resolver()
    cache.clear()


def test_a_doi_is_filled_from_crossref(service):
    record = service.lookup(doi="10.5555/demo.heel-pain-taping")
    assert record.found and record.service == "Crossref"
    assert record.title == "Taping and foot orthoses for plantar heel pain: a systematic review"
    assert record.authors == "Bello A, Nowak T, Vogel L, Adams R"
    assert record.source == "Demonstration Journal of Foot and Ankle Research"
    assert record.year == 2021
    assert record.updates == ()


def test_more_than_six_authors_end_in_et_al(service):
    record = service.lookup(doi="10.5555/demo.otitis-antibiotics")
    assert record.authors.endswith(", et al.") and record.authors.count(",") == 6


def test_a_pmid_is_filled_from_pubmed(service):
    record = service.lookup(pmid="99000001")
    assert record.found and record.service == "PubMed"
    assert record.title == "Taping and foot orthoses for plantar heel pain: a systematic review"
    assert record.authors == "Bello A, Nowak T, Vogel L, Adams R"
    assert record.year == 2021 and record.doi == "10.5555/demo.heel-pain-taping"


def test_unknown_identifiers_are_not_found_not_errors(service):
    assert service.lookup(doi="10.5555/no.such.work").found is False
    assert service.lookup(pmid="99999999").found is False


def test_a_retraction_is_read_from_crossrefs_updated_by(service):
    record = service.lookup(doi="10.5555/demo.stay-active-trial")
    [update] = record.updates
    assert update.kind == "retraction" and update.source == "retraction-watch"
    assert update.notice_doi == "10.5555/demo.stay-active-trial.retraction"
    assert update.notice_date == "2025-09-30"


def test_pubmed_says_retracted_publication(service):
    record = service.lookup(pmid="99000002")
    assert [u.kind for u in record.updates] == ["retraction"]


def test_requests_name_us_politely(service, stub_server):
    service.lookup(doi="10.5555/demo.heel-pain-taping")
    service.lookup(pmid="99000001")
    crossref, pubmed = stub_server.requests
    for request in (crossref, pubmed):
        assert request["user_agent"].startswith("EditorialReview/1.0 (")
        assert "mailto:editors@example.org" in request["user_agent"]
    assert crossref["query"]["mailto"] == ["editors@example.org"]
    assert pubmed["query"]["tool"] == ["editorial-review"] and pubmed["query"]["email"] == ["editors@example.org"]
    assert pubmed["query"]["db"] == ["pubmed"] and pubmed["query"]["retmode"] == ["json"]


def test_answers_are_cached_and_the_watch_asks_afresh(service, stub_server):
    service.lookup(doi="10.5555/demo.heel-pain-taping")
    service.lookup(doi="10.5555/demo.heel-pain-taping")
    assert len(stub_server.requests) == 1
    service.lookup(doi="10.5555/demo.heel-pain-taping", fresh=True)
    assert len(stub_server.requests) == 2


def test_a_slow_service_times_out_with_a_message(service, settings):
    settings.EDITORIAL_RESOLVER_TIMEOUT = 0.3
    with pytest.raises(ResolverError, match="did not answer within 0.3 seconds"):
        resolver().lookup(doi="10.5555/stub.slow")


def test_a_failing_service_is_an_error_with_a_message(service):
    with pytest.raises(ResolverError, match="answered with an error"):
        service.lookup(doi="10.5555/stub.error")


def test_an_unreachable_service_is_an_error_with_a_message():
    unreachable = Resolver(
        crossref_url="http://127.0.0.1:9/crossref",
        pubmed_url="http://127.0.0.1:9/pubmed",
        contact="x@example.org",
        timeout=0.5,
        cache_seconds=0,
    )
    with pytest.raises(ResolverError, match="could not be reached"):
        unreachable.lookup(doi="10.5555/demo.heel-pain-taping", fresh=True)


def test_look_ups_are_off_unless_switched_on(settings):
    settings.EDITORIAL_RESOLVER_ENABLED = False
    with pytest.raises(ResolverOff, match="switched off"):
        resolver()
