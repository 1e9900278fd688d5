"""AI provenance: declared through the API or the workspace, kept with each version, shown to
the board above the text, required on the checklist, diffed against the approved text, and
told to readers (page and JSON-LD) only when a machine was involved."""

import json
import re

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from articles.models import Article
from articles.provenance import AIProvenance
from editorial.workflow import board, provenance, services
from editorial.workflow.exceptions import ChecklistIncomplete, InvalidInput, NotPermitted
from reviewers.models import CHECKLIST, MACHINE_CHECK, Invitation
from tests.conftest import advance
from tests.editorial.workspace.test_admin import change_form
from tests.factories import citing_body, make_article, signing_request

DECLARED = {
    "tool": "MedDraft",
    "model": "gpt-4o",
    "model_version": "2024-08-06",
    "run_id": "run-8841",
    "generated_at": "2026-11-28T09:30:00Z",
    "sections": ["body", "summary"],
}
MACHINE_BODY = citing_body(2) + "\n\nThe machine wrote this sentence."
EVERY_ITEM = {field: True for field, _ in CHECKLIST}


def api_as(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def create_through_api(author, **extra):
    response = api_as(author).post(
        "/api/v1/articles/",
        {
            "title": "Which antibiotic treats uncomplicated cystitis?",
            "summary": "Nitrofurantoin for five days.",
            "body": MACHINE_BODY,
            "patient_body": "A short course of tablets usually clears it.",
            "references": [{"title": "Guideline", "year": 2021}, {"title": "Trial", "year": 2022}],
            "ai_provenance": DECLARED,
            **extra,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def review(invitation, *, checklist, recommendation="approve"):
    return board.review_submit(
        invitation=invitation,
        actor=invitation.reviewer,
        recommendation=recommendation,
        checklist=checklist,
        password="pw",
        request=signing_request(),
    )


def to_review(article, editor, reviewers):
    article = services.article_submit(article=article, actor=article.author)
    for invitation in board.invitation_create(article=article, actor=editor, reviewers=reviewers):
        board.invitation_accept(invitation=invitation, actor=invitation.reviewer, conflict="none")
    return article


def approved_machine_article(author, editor, reviewers, *, edit=True):
    """Drafted by a machine through the API, edited by its author, approved by the board."""
    data = create_through_api(author)
    article = Article.objects.get(pk=data["id"])
    if edit:
        article = services.article_update(
            article=article,
            actor=author,
            fields={"body": MACHINE_BODY.replace("The machine wrote this sentence.", "The author checked this.")},
            expected_row_version=article.row_version,
        )
    article = to_review(article, editor, reviewers)
    for invitation in Invitation.objects.filter(article=article, status="accepted"):
        review(invitation, checklist={**EVERY_ITEM, MACHINE_CHECK[0]: True})
    return advance(Article.objects.get(pk=article.pk), [("approve", "editor", "")], editor=editor)


# --- Declared through the API -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_keeps_the_declaration_and_the_machine_draft(author):
    data = create_through_api(author)
    assert data["ai_provenance"] == {
        **DECLARED,
        "generated_at": "2026-11-28T09:30:00+00:00",
        "sections": ["summary", "body"],
    }
    declared = AIProvenance.objects.get(article_id=data["id"])
    assert declared.version is None and declared.declared_by == author
    assert declared.machine_draft == {"summary": "Nitrofurantoin for five days.", "body": MACHINE_BODY}


@pytest.mark.django_db
def test_an_update_keeps_replaces_or_withdraws_the_declaration(author):
    data = create_through_api(author)
    api, address = api_as(author), f"/api/v1/articles/{data['id']}/"

    kept = api.patch(address, {"summary": "Edited by the author."}, format="json", HTTP_IF_MATCH='"1"')
    assert kept.status_code == 200 and kept.json()["ai_provenance"]["run_id"] == "run-8841"
    machine = AIProvenance.objects.get(article_id=data["id"])
    assert machine.machine_draft["summary"] == "Nitrofurantoin for five days."  # the machine's, not the edit

    rerun = api.patch(
        address, {"ai_provenance": {**DECLARED, "run_id": "run-9000"}}, format="json", HTTP_IF_MATCH='"2"'
    )
    assert rerun.status_code == 200, rerun.json()
    assert AIProvenance.objects.get(article_id=data["id"]).machine_draft["summary"] == "Edited by the author."

    withdrawn = api.patch(address, {"ai_provenance": None}, format="json", HTTP_IF_MATCH='"3"')
    assert withdrawn.status_code == 200 and withdrawn.json()["ai_provenance"] is None
    assert not AIProvenance.objects.filter(article_id=data["id"]).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "bad",
    [
        {**DECLARED, "sections": []},
        {**DECLARED, "sections": ["references"]},
        {**DECLARED, "tool": ""},
        {**DECLARED, "generated_at": "yesterday"},
        {key: value for key, value in DECLARED.items() if key != "model"},
    ],
)
def test_a_malformed_declaration_is_a_400_and_nothing_is_written(author, bad):
    response = api_as(author).post(
        "/api/v1/articles/", {"title": "Q?", "body": "", "ai_provenance": bad}, format="json"
    )
    assert response.status_code == 400, response.json()
    assert not Article.objects.exists() and not AIProvenance.objects.exists()


@pytest.mark.django_db
def test_the_service_refuses_bad_facts_and_the_wrong_person(author, other_author):
    article = make_article(author)
    with pytest.raises(InvalidInput):
        provenance.provenance_declare(
            article=article, actor=author, provenance={**DECLARED, "generated_at": "2999-01-01T00:00:00Z"}
        )
    with pytest.raises(NotPermitted):
        provenance.provenance_declare(article=article, actor=other_author, provenance=DECLARED)
    assert not AIProvenance.objects.exists()


# --- Kept with each version; the checklist item ---------------------------------------------------


@pytest.mark.django_db
def test_each_submission_keeps_the_declaration_with_its_version(author, editor, reviewers):
    article = to_review(Article.objects.get(pk=create_through_api(author)["id"]), editor, reviewers)
    kept = AIProvenance.objects.get(version=article.current_version)
    assert (
        kept.tool == "MedDraft" and kept.sections == ["summary", "body"] and kept.machine_draft["body"] == MACHINE_BODY
    )
    assert AIProvenance.objects.filter(article=article, version__isnull=True).count() == 1  # the draft's stays


@pytest.mark.django_db
def test_approving_a_machine_drafted_version_needs_the_machine_item(author, editor, reviewers):
    article = to_review(Article.objects.get(pk=create_through_api(author)["id"]), editor, reviewers)
    invitation = Invitation.objects.filter(article=article, status="accepted").first()
    with pytest.raises(ChecklistIncomplete, match="Machine-drafted passages are verified"):
        review(invitation, checklist=EVERY_ITEM)
    review(invitation, checklist={**EVERY_ITEM, MACHINE_CHECK[0]: True})
    assert invitation.review.machine_passages_verified


@pytest.mark.django_db
def test_a_version_no_machine_drafted_does_not_ask_for_it(author, editor, reviewers):
    article = to_review(make_article(author), editor, reviewers)
    invitation = Invitation.objects.filter(article=article, status="accepted").first()
    review(invitation, checklist=EVERY_ITEM)
    assert not invitation.review.machine_passages_verified


# --- What the board sees ------------------------------------------------------------------------


@pytest.mark.django_db
def test_reviewers_see_the_provenance_above_the_text_and_the_extra_item(client, author, editor, reviewers):
    article = to_review(Article.objects.get(pk=create_through_api(author)["id"]), editor, reviewers)
    invitation = Invitation.objects.filter(article=article, status="accepted").first()
    client.force_login(invitation.reviewer)
    html = client.get(reverse("admin:reviewers_invitation_change", args=[invitation.pk])).content.decode()
    facts = html.index("Drafted with AI assistance")
    assert facts < html.index("The version under review") and facts < html.index("Your review of version")
    for fact in ("MedDraft", "gpt-4o", "2024-08-06", "run-8841", "Summary, Text for clinicians"):
        assert fact in html[facts:]
    assert f'name="{MACHINE_CHECK[0]}"' in html

    plain = to_review(make_article(author, title="Plain?"), editor, reviewers)
    other = Invitation.objects.filter(article=plain, reviewer=invitation.reviewer).first()
    html = client.get(reverse("admin:reviewers_invitation_change", args=[other.pk])).content.decode()
    assert "Drafted with AI assistance" not in html and MACHINE_CHECK[0] not in html


@pytest.mark.django_db
def test_the_diff_from_the_machine_draft_is_viewable_by_those_who_see_the_article(
    client, author, other_author, editor, reviewers
):
    article = approved_machine_article(author, editor, reviewers)
    address = reverse("admin:articles_article_machine_draft", args=[article.pk])
    client.force_login(editor)
    html = client.get(address).content.decode()
    assert "(the approved version readers see)" in html
    assert "The <del>machine wrote</del><ins>author</ins> <del>this</del><ins>checked</ins>" in html
    assert "Kept as the machine wrote it." in html  # the summary was not edited
    client.force_login(other_author)
    assert client.get(address).status_code in (302, 404)


# --- Declared in the workspace ------------------------------------------------------------------


@pytest.mark.django_db
def test_an_author_declares_ai_assistance_in_the_workspace(client, author):
    article = make_article(author)
    client.force_login(author)
    address = reverse("admin:articles_article_change", args=[article.pk])
    missing = client.post(address, change_form(article, ai_assisted="on"))
    assert (
        missing.status_code == 200
        and "Required when the text was drafted with AI assistance" in missing.content.decode()
    )
    assert not AIProvenance.objects.exists()

    ai = {"ai_assisted": "on", "ai_tool": "ChatDraft", "ai_model": "claude-x", "ai_sections": ["patient_body"]}
    response = client.post(address, change_form(article, **ai))
    assert response.status_code == 302, response.content.decode()[:2000]
    declared = AIProvenance.objects.get(article=article)
    assert (declared.tool, declared.model_name, declared.sections) == ("ChatDraft", "claude-x", ["patient_body"])
    assert declared.machine_draft == {"patient_body": article.patient_body}

    article.refresh_from_db()
    page = client.get(address).content.decode()
    assert re.search(r'<input type="checkbox" name="ai_assisted"[^>]* checked', page)
    assert re.search(r'name="ai_tool" value="ChatDraft"', page)
    response = client.post(address, change_form(article, ai_tool="", ai_model=""))
    assert response.status_code == 302
    assert not AIProvenance.objects.exists()


# --- What readers see ---------------------------------------------------------------------------


def json_ld(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))


@pytest.mark.django_db
def test_readers_are_told_of_the_ai_assistance_and_who_approved(client, author, editor, reviewers):
    article = approved_machine_article(author, editor, reviewers)
    with CaptureQueriesContext(connection) as queries:
        html = client.get(reverse("article-detail", args=[article.slug])).content.decode()
    assert len(queries) <= 4  # the article (with its versions and provenance), signatures, updates, cache
    line = re.search(r'<p class="ai-credit"[^>]*>(.*?)</p>', html, re.S).group(1)
    assert line.startswith("Drafted with AI assistance (MedDraft, gpt-4o) · reviewed and approved by ")
    for member in reviewers:
        assert member.reviewer_profile.signed_name in line
    data = json_ld(html)
    assert data["digitalSourceType"].endswith("CompositeWithTrainedAlgorithmicMediaDigitalSource")
    assert data["contributor"] == {
        "@type": "SoftwareApplication",
        "name": "MedDraft",
        "softwareVersion": "gpt-4o 2024-08-06",
        "description": "Drafted: Summary, Text for clinicians",
    }
    assert data["creditText"] == re.sub(r"\s*<span.*", "", line, flags=re.S).strip()


@pytest.mark.django_db
def test_nothing_of_the_kind_when_no_machine_was_involved(client, in_state):
    article = in_state("approved")
    html = client.get(reverse("article-detail", args=[article.slug])).content.decode()
    assert "AI assistance" not in html and "ai-credit" not in html
    data = json_ld(html)
    assert not {"digitalSourceType", "contributor", "creditText"} & set(data)


@pytest.mark.django_db
@pytest.mark.postgres
def test_the_copy_kept_with_a_version_is_written_once_on_postgresql(author):
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's")
    article = services.article_submit(article=Article.objects.get(pk=create_through_api(author)["id"]), actor=author)
    kept = AIProvenance.objects.get(version=article.current_version)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AIProvenance.objects.filter(pk=kept.pk).update(model_name="another-model")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM articles_aiprovenance WHERE id = %s", [kept.pk])
    declared = AIProvenance.objects.get(article=article, version__isnull=True)
    AIProvenance.objects.filter(pk=declared.pk).update(run_id="run-9")  # the draft's declaration may change
