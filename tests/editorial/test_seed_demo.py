import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from articles.models import Article, Reference
from articles.provenance import AIProvenance
from editorial.models import QuestionStatus, ReaderQuestion, TransitionRecord
from editorial.reads.checks import version_checks
from editorial.sources.stub import load_works
from tests.factories import signing_request


def dump():
    articles = [
        (a.slug, a.status, a.review_round, a.author.username, a.title, a.body, [r.title for r in a.references.all()])
        for a in Article.objects.order_by("slug").prefetch_related("references").select_related("author")
    ]
    transitions = list(
        TransitionRecord.objects.order_by("id").values_list("article__slug", "transition", "actor__username", "reason")
    )
    return articles, transitions, Reference.objects.count()


@pytest.mark.django_db
@override_settings(DEBUG=True)
def test_seed_demo_is_idempotent(monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    call_command("seed_demo")
    first = dump()
    call_command("seed_demo")
    assert dump() == first


@pytest.mark.django_db
@override_settings(DEBUG=True)
def test_seed_demo_builds_every_state_and_the_reference_article(monkeypatch, client):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    call_command("seed_demo")
    statuses = set(Article.objects.values_list("status", flat=True))
    assert statuses == {
        "draft",
        "submitted",
        "under_review",
        "changes_requested",
        "approved",
        "rejected",
        "withdrawn",
        "retracted",
    }
    hip = Article.objects.get(slug="what-is-the-treatment-for-hip-overuse-injury")
    assert hip.status == "submitted"
    refs = list(hip.references.all())
    assert len(refs) == 6
    assert all(not r.doi and not r.pmid for r in refs), "demo references carry no invented identifiers"
    assert "## From the Guidelines" in hip.body and "## From the Research" in hip.body
    assert hip.patient_body.strip()
    for username in ("author", "reviewer1", "reviewer2", "editor", "auditor", "admin"):
        assert client.login(request=signing_request(), username=username, password="demo"), username


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_seed_demo_refuses_default_password_when_debug_is_off(monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="DEMO_PASSWORD"):
        call_command("seed_demo")
    assert not Article.objects.exists()


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_seed_demo_takes_an_explicit_password(monkeypatch, client):
    monkeypatch.setenv("DEMO_PASSWORD", "a-long-demo-password")
    call_command("seed_demo")
    assert client.login(request=signing_request(), username="editor", password="a-long-demo-password")


@pytest.mark.django_db
@override_settings(DEBUG=True)
def test_the_demo_shows_each_content_check(monkeypatch):
    """A newcomer finds every check on a demo article (README, "The demo board")."""
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    call_command("seed_demo")

    def article(prefix):
        return Article.objects.get(slug__startswith=prefix)

    cough = article("when-should-adults-with-an-acute-cough")
    assert cough.status == "draft"
    assert cough.citation_report().problems == ("The text cites [3], but the reference list has only 2.",)
    iron = version_checks(article("how-is-iron-deficiency").current_version)
    assert [f.field for f in iron.findings if f.code == "dose_uncited"] == ["patient_body"]
    otitis = version_checks(article("what-is-the-first-line-treatment-for-acute-otitis").current_version)
    [mismatch] = [f for f in otitis.findings if f.code == "audience_mismatch"]
    assert "amoxicillin" in mismatch.message
    # Identifiers: only Crossref's test prefix, and each one answered by the stub.
    works = load_works()["crossref"]
    dois = set(Reference.objects.exclude(doi="").values_list("doi", flat=True))
    assert "10.5555/demo.stay-active-trial" in dois
    assert all(doi.startswith("10.5555/") and doi in works for doi in dois)
    assert not Reference.objects.exclude(pmid="").exists()


@pytest.mark.django_db
@override_settings(DEBUG=True)
def test_seed_demo_has_a_machine_drafted_approved_article_and_readers_questions(monkeypatch, client):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    call_command("seed_demo")
    call_command("seed_demo")  # idempotent: no second declaration, no second question
    article = Article.objects.get(slug="how-should-an-acute-ankle-sprain-be-managed-in-the-first-weeks")
    assert article.status == "approved"
    kept = AIProvenance.objects.get(version=article.published_version)
    assert (kept.tool, kept.model_name) == ("MedDraft pipeline (demo)", "gpt-4o")
    assert kept.machine_draft["body"] != article.published_version.content["body"]  # the author's edit shows
    page = client.get(f"/articles/{article.slug}/").content.decode()
    assert "Drafted with AI assistance (MedDraft pipeline (demo), gpt-4o) · reviewed and approved by" in page
    statuses = sorted(ReaderQuestion.objects.values_list("status", flat=True))
    assert statuses == [QuestionStatus.COMMISSIONED, QuestionStatus.OPEN]
