"""The retraction watch against the stub: a retracted source marks every article citing it, once."""

import io

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from articles.models import Article, CitedWork, WorkUpdate
from editorial.models import Event, EventKind
from editorial.notifications import recipients, retractions
from editorial.notifications.tasks import watch_retractions
from editorial.reads.checks import article_checks
from editorial.sources import stub
from editorial.workflow import services
from tests.factories import citing_body, make_article

RETRACTED = "10.5555/demo.stay-active-trial"


@pytest.fixture(scope="module")
def stub_server():
    server, thread = stub.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def resolver_on(stub_server, settings):
    settings.EDITORIAL_RESOLVER_ENABLED = True
    settings.EDITORIAL_CROSSREF_URL = f"{stub_server.base_url}/crossref"
    settings.EDITORIAL_PUBMED_URL = f"{stub_server.base_url}/pubmed"
    settings.EDITORIAL_RESOLVER_TIMEOUT = 2.0
    cache.clear()
    yield stub_server
    cache.clear()


def citing(author, title: str, doi: str = RETRACTED) -> Article:
    article = make_article(author, title=title, references=0, body=citing_body(2))
    services.references_replace(
        article=article,
        actor=author,
        reason="Sources",
        references=[{"title": "A guideline"}, {"title": "The trial", "doi": f"https://doi.org/{doi.upper()}"}],
    )
    return Article.objects.get(pk=article.pk)


@pytest.mark.django_db
def test_a_retracted_source_marks_every_article_citing_it_once(resolver_on, in_state, author, editor, client):
    approved = in_state("approved", article=citing(author, "Approved?"))
    reviewed = in_state("submitted", article=citing(author, "In review?"))
    draft = citing(author, "Draft?")
    unrelated = in_state("approved", article=make_article(author, title="Unrelated?"))
    due_before = approved.review_due_at
    history_before = approved.history.count()

    report = watch_retractions()
    assert report == {"asked": 1, "updates": 1, "failed": 0, "skipped": ""}
    [update] = WorkUpdate.objects.all()
    assert (update.doi, update.kind, update.notice_doi) == (RETRACTED, "retraction", f"{RETRACTED}.retraction")
    events = Event.objects.filter(kind=EventKind.SOURCE_RETRACTED)
    assert sorted(e.article_id for e in events) == sorted([approved.pk, reviewed.pk])
    assert all(e.payload["references"] == [2] and e.payload["doi"] == RETRACTED for e in events)
    assert {p.username for p in recipients.recipients_for(events.get(article=approved))} == {"editor"}

    approved.refresh_from_db()
    assert approved.review_due_at <= timezone.now() < due_before
    last = approved.history.order_by("-history_id").first()
    assert approved.history.count() == history_before + 1
    assert last.history_user.username == "editorial-system" and "retracted" in last.history_change_reason
    unrelated.refresh_from_db()
    assert unrelated.review_due_at > timezone.now()
    assert not Event.objects.filter(kind=EventKind.SOURCE_RETRACTED, article=draft).exists()

    # Asked again (the command runs for one article whatever the interval): nothing new, nobody told twice.
    call_command("check_retractions", article=approved.slug, stdout=io.StringIO())
    assert WorkUpdate.objects.count() == 1 and events.count() == 2

    # Readers see it next to the reference; the version they read is unchanged.
    html = client.get(reverse("article-detail", args=[approved.slug])).content.decode()
    reference = html.split('id="ref-2"', 1)[1].split("</li>", 1)[0]
    assert "Retracted" in reference and f"https://doi.org/{RETRACTED}.retraction" in reference
    assert "Retracted" not in html.split('id="ref-1"', 1)[1].split("</li>", 1)[0]
    # and why the re-review is due now, beside its date (an unrelated article says nothing of it).
    assert "a source it cites (reference 2) has since been retracted or withdrawn" in html
    unrelated_html = client.get(reverse("article-detail", args=[unrelated.slug])).content.decode()
    assert "rereview-note" not in unrelated_html and "Next review due" in unrelated_html
    # The author's checks say so too, and that the title typed is not the record's (the watch kept it).
    notes = article_checks(Article.objects.get(pk=reviewed.pk)).sources
    assert [(n.number, n.kind) for n in notes] == [(2, "retraction"), (2, "disagreement")]
    assert "Retracted (notice doi:10.5555/demo.stay-active-trial.retraction, 30 Sep 2025)" in notes[0].message
    assert "The title differs from the record" in notes[1].message


@pytest.mark.django_db
def test_the_watch_asks_each_work_once_per_interval_and_in_bounded_batches(resolver_on, author, settings):
    for n in range(3):
        citing(author, f"Q{n}?", doi=f"10.5555/unknown.{n}")
    settings.EDITORIAL_RETRACTION_BATCH = 2
    assert retractions.watch().asked == 2
    assert retractions.watch().asked == 1
    assert retractions.watch().asked == 0  # all asked within the re-check interval
    assert CitedWork.objects.filter(checked_at__isnull=False).count() == 3


@pytest.mark.django_db
def test_a_service_that_fails_is_asked_again_next_time(resolver_on, author):
    citing(author, "Broken?", doi="10.5555/stub.error")
    report = retractions.watch()
    assert report.failed == ["10.5555/stub.error"] and not WorkUpdate.objects.exists()
    assert retractions.dois_due(limit=10, now=timezone.now()) == ["10.5555/stub.error"]


@pytest.mark.django_db
def test_the_watch_does_nothing_while_look_ups_are_off(settings, author):
    settings.EDITORIAL_RESOLVER_ENABLED = False
    citing(author, "Off?")
    assert watch_retractions()["skipped"].startswith("Looking references up is switched off")
    with pytest.raises(CommandError, match="switched off"):
        call_command("check_retractions", stdout=io.StringIO())


@pytest.mark.django_db
def test_the_command_names_an_unknown_article(resolver_on):
    with pytest.raises(CommandError, match="No article"):
        call_command("check_retractions", article="no-such-article", stdout=io.StringIO())


@pytest.mark.django_db
def test_the_demo_article_and_its_public_reference_are_marked(resolver_on, client, settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    slug = "how-is-acute-low-back-pain-managed-in-primary-care"
    out = io.StringIO()
    call_command("check_retractions", article=slug, stdout=out)
    assert "1 new retraction or correction notice" in out.getvalue()
    article = Article.objects.get(slug=slug)
    assert article.status == "approved" and article.review_due_at <= timezone.now()
    html = client.get(reverse("article-detail", args=[slug])).content.decode()
    assert "Retracted" in html.split('id="ref-2"', 1)[1].split("</li>", 1)[0]


@pytest.mark.django_db
def test_look_up_fills_a_reference_and_flags_what_the_author_typed_differently(resolver_on, client, author):
    client.force_login(author)
    answer = client.post(
        reverse("admin:articles_article_lookup"),
        {"doi": "https://doi.org/10.5555/DEMO.IRON-ALTERNATE-DAY", "title": "", "year": "2019"},
    ).json()
    assert answer["found"] and answer["service"] == "Crossref"
    assert answer["fields"] == {
        "authors": "Marchetti S, Huber D",
        "title": "Iron absorption from daily and alternate-day oral iron supplements",
        "source": "Demonstration Journal of Haematology",
        "year": 2017,
        "doi": "10.5555/demo.iron-alternate-day",
    }
    assert answer["disagreements"] == ["The year differs from the record: 2017."]
    assert answer["updates"] == ["Corrected (notice doi:10.5555/demo.iron-alternate-day.correction), 2018-02-14"]
    assert CitedWork.objects.get(identifier="10.5555/demo.iron-alternate-day").metadata["year"] == 2017
    unknown = client.post(reverse("admin:articles_article_lookup"), {"pmid": "99999999"}).json()
    assert unknown["found"] is False and unknown["message"] == "PubMed knows no work with the PMID 99999999."
    api = APIClient()
    api.force_authenticate(author)
    same = api.post("/api/v1/references/lookup/", {"pmid": "PMID: 99000001"}, format="json").json()
    assert same["fields"]["doi"] == "10.5555/demo.heel-pain-taping" and same["fields"]["pmid"] == "99000001"
