"""The content checks enforced and recorded by the workflow, through every door.

- the citation gate refuses submit, resubmit and approve (409, the list of problems), the same
  sentences in the service, the workspace and the API;
- text the renderer could not show as meant is refused on save (400), changing nothing;
- each submitted version's lints are written beside it, once;
- the checklist: an approve needs every item; "not applicable" for doses only without doses.
"""

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.urls import reverse
from rest_framework.test import APIClient

from articles.models import Article, ArticleVersion, ContentCheck, ContentFinding
from editorial.models import Event, TransitionRecord
from editorial.workflow import board, services
from editorial.workflow.exceptions import ChecklistIncomplete, CitationsIncomplete, ContentRefused, NotPermitted
from reviewers.models import CHECKLIST, FailedSignatureAttempt, Invitation, Review
from tests.conftest import ALL_TICKED
from tests.editorial.workspace.test_admin import act_url, change_form, transition_url
from tests.factories import make_article, signing_request

DANGLING = "The text cites [5], but the reference list has only 2."


def dangling(author, **fields) -> Article:
    return make_article(author, body="Treat it [1]. Trials agree [2]. And more [5].", **fields)


# --- The citation gate ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_submit_is_refused_while_a_marker_has_no_reference_and_nothing_changes(author):
    article = dangling(author)
    with pytest.raises(CitationsIncomplete) as refused:
        services.article_submit(article=article, actor=author)
    assert refused.value.http_status == 409 and refused.value.code == "citations"
    assert refused.value.problems == [DANGLING]
    article.refresh_from_db()
    assert article.status == "draft" and article.current_version_id is None
    assert not ArticleVersion.objects.exists() and not Event.objects.exists()
    assert not TransitionRecord.objects.exists()


@pytest.mark.django_db
def test_resubmit_is_refused_while_a_reference_is_never_cited(in_state, author):
    article = in_state("changes_requested")
    services.references_replace(
        article=article,
        actor=author,
        references=[*(r.as_content() for r in article.references.all()), {"title": "Uncited"}],
        reason="One more source",
    )
    article = Article.objects.get(pk=article.pk)
    with pytest.raises(CitationsIncomplete) as refused:
        services.article_resubmit(article=article, actor=author)
    assert refused.value.problems == [
        "Nothing in the text cites reference [3]: cite it where it supports a claim, or remove it."
    ]


@pytest.mark.django_db
def test_approve_is_refused_when_the_version_reviewed_breaks_the_gate(in_state, editor):
    """A version written before the gate (here: inserted past the services) is not approved."""
    article = in_state("ready")
    content = {**article.current_version.content, "body": "Only [1] and [7]."}
    legacy = ArticleVersion.objects.create(
        article=article, review_round=99, content=content, content_hash="0" * 64, created_by=editor
    )
    Article.objects.filter(pk=article.pk).update(current_version=legacy)
    article = Article.objects.get(pk=article.pk)
    with pytest.raises(CitationsIncomplete) as refused:
        services.article_approve(article=article, actor=editor, password="pw", request=signing_request())
    assert "The text cites [7]" in refused.value.problems[0]
    assert Article.objects.get(pk=article.pk).status == "under_review"


@pytest.mark.django_db
def test_the_workspace_and_the_api_say_the_same_as_the_service(client, author):
    article = dangling(author)
    client.force_login(author)
    page = client.get(transition_url(article, "submit"))
    assert page.status_code == 409
    assert f"<li>{DANGLING}</li>" in page.content.decode()
    posted = client.post(transition_url(article, "submit"), {"row_version": article.row_version})
    assert posted.status_code == 409 and f"<li>{DANGLING}</li>" in posted.content.decode()
    api = APIClient()
    api.force_authenticate(author)
    response = api.post(
        f"/api/v1/articles/{article.pk}/transitions/",
        {"transition": "submit", "row_version": article.row_version},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "citations" and response.json()["problems"] == [DANGLING]
    checks = client.post(reverse("admin:articles_article_checks"), change_form(article))
    assert checks.json()["citations"]["problems"] == [DANGLING] and checks.json()["blocks_submission"]
    assert Article.objects.get(pk=article.pk).status == "draft"


# --- Rendering fidelity on save -------------------------------------------------------------------


@pytest.mark.django_db
def test_text_that_would_not_render_as_meant_is_refused_on_save(client, author):
    article = make_article(author)
    body = "Exercise helps [1] [2].\n\n[1]: https://example.org/guideline"
    with pytest.raises(ContentRefused) as refused:
        services.article_update(
            article=article, actor=author, fields={"body": body}, expected_row_version=article.row_version
        )
    assert refused.value.http_status == 400 and "link definition" in refused.value.problems[0]
    assert "[1]: https" not in Article.objects.get(pk=article.pk).body

    api = APIClient()
    api.force_authenticate(author)
    response = api.patch(
        f"/api/v1/articles/{article.pk}/",
        {"body": body},
        format="json",
        HTTP_IF_MATCH=f'"{Article.objects.get(pk=article.pk).row_version}"',
    )
    assert response.status_code == 400 and response.json()["code"] == "content_refused"
    assert "link definition" in response.json()["problems"][0]

    client.force_login(author)
    page = client.post(reverse("admin:articles_article_change", args=[article.pk]), change_form(article, body=body))
    assert page.status_code == 200  # the form comes back with the author's text and the reason
    html = page.content.decode()
    assert "is a Markdown link definition" in html and "https://example.org/guideline" in html
    assert "[1]: https" not in Article.objects.get(pk=article.pk).body


# --- The lints' record --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_submitted_version_keeps_its_lints_in_their_own_rows(author):
    article = make_article(author, patient_body="Take ibuprofen 400 mg three times a day. It is always safe.")
    article = services.article_submit(article=article, actor=author)
    check = ContentCheck.objects.get(version=article.current_version)
    assert check.doses == 1
    assert sorted(f.code for f in check.findings.all()) == ["absolute_claim", "dose_uncited"]
    assert all(f.field == "patient_body" and f.message for f in check.findings.all())


@pytest.mark.django_db
@pytest.mark.postgres
def test_the_lints_record_is_append_only_on_postgresql(author):
    if connection.vendor != "postgresql":
        pytest.skip("the append-only triggers are PostgreSQL's")
    article = services.article_submit(article=make_article(author, patient_body="Always safe."), actor=author)
    finding = ContentFinding.objects.get(content_check__version=article.current_version)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ContentFinding.objects.filter(pk=finding.pk).update(message="Nothing to see.")
    check = ContentCheck.objects.get(version=article.current_version)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM articles_contentcheck WHERE id = %s", [check.pk])


# --- The checklist --------------------------------------------------------------------------------


def accepted(article, editor, reviewer) -> Invitation:
    invitation = board.invitation_create(article=article, actor=editor, reviewers=[reviewer])[0]
    return board.invitation_accept(invitation=invitation, actor=reviewer, conflict="none")


@pytest.fixture
def with_doses(author):
    return services.article_submit(
        article=make_article(author, body="Give naproxen 500 mg twice daily [1]. Trials agree [2]."), actor=author
    )


@pytest.mark.django_db
def test_approve_cannot_be_signed_with_the_dose_check_unticked_on_a_text_with_doses(with_doses, editor, reviewers):
    """The reproduced failure: "Approved as medically accurate" with doses unchecked."""
    invitation = accepted(with_doses, editor, reviewers[0])
    unticked = {**ALL_TICKED, "doses_checked": False}
    for password in ("pw", "wrong"):
        with pytest.raises(ChecklistIncomplete, match="Doses and units are checked"):
            board.review_submit(
                invitation=invitation,
                actor=reviewers[0],
                recommendation="approve",
                checklist=unticked,
                password=password,
                request=signing_request(),
            )
    with pytest.raises(ChecklistIncomplete, match="“not applicable” cannot be recorded"):
        board.review_submit(
            invitation=invitation,
            actor=reviewers[0],
            recommendation="approve",
            checklist={**unticked, "doses_not_applicable": True},
            password="pw",
            request=signing_request(),
        )
    assert not Review.objects.exists() and not FailedSignatureAttempt.objects.exists()
    review = board.review_submit(
        invitation=invitation,
        actor=reviewers[0],
        recommendation="approve",
        checklist=ALL_TICKED,
        password="pw",
        request=signing_request(),
    )
    assert review.doses_checked and hasattr(review, "signature")


@pytest.mark.django_db
@pytest.mark.parametrize("missing", [field for field, _ in CHECKLIST])
def test_every_checklist_item_is_needed_to_approve(in_state, editor, reviewers, missing):
    article = in_state("submitted")
    invitation = accepted(article, editor, reviewers[0])
    with pytest.raises(ChecklistIncomplete):
        board.review_submit(
            invitation=invitation,
            actor=reviewers[0],
            recommendation="approve",
            checklist={**ALL_TICKED, missing: False},
            password="pw",
            request=signing_request(),
        )


@pytest.mark.django_db
def test_not_applicable_stands_for_the_dose_check_only_where_there_are_no_doses(in_state, editor, reviewers, client):
    article = in_state("submitted")  # "Treat it [1]. Trials agree [2].": no dose
    invitation = accepted(article, editor, reviewers[0])
    client.force_login(reviewers[0])
    page = client.get(reverse("admin:reviewers_invitation_change", args=[invitation.pk])).content.decode()
    assert 'name="doses_not_applicable"' in page
    review = board.review_submit(
        invitation=invitation,
        actor=reviewers[0],
        recommendation="approve",
        checklist={**ALL_TICKED, "doses_checked": False, "doses_not_applicable": True},
        password="pw",
        request=signing_request(),
    )
    assert review.doses_not_applicable and ("Doses and units are checked", None) in review.checklist()


@pytest.mark.django_db
def test_other_recommendations_need_no_ticks_and_strangers_learn_nothing(with_doses, editor, reviewers, board_member):
    invitation = accepted(with_doses, editor, reviewers[0])
    with pytest.raises(NotPermitted):
        board.review_submit(
            invitation=invitation, actor=board_member, recommendation="reject", checklist={"doses_not_applicable": True}
        )
    review = board.review_submit(invitation=invitation, actor=reviewers[0], recommendation="major_revisions")
    assert not any(ok for _, ok in review.checklist())


@pytest.mark.django_db
def test_the_review_form_shows_the_checks_and_refuses_an_unticked_dose_check(with_doses, editor, reviewers, client):
    invitation = accepted(with_doses, editor, reviewers[0])
    client.force_login(reviewers[0])
    page = client.get(reverse("admin:reviewers_invitation_change", args=[invitation.pk])).content.decode()
    assert 'name="doses_not_applicable"' not in page
    assert "The text gives 1 dose: check each one" in page
    assert 'id="content-checks"' in page
    form = {field: "on" for field, _ in CHECKLIST if field != "doses_checked"}
    response = client.post(
        act_url(invitation, "review"),
        {"row_version": invitation.row_version, "recommendation": "approve", "password": "pw", **form},
    )
    assert response.status_code == 400 and "Doses and units are checked" in response.content.decode()
    assert not Review.objects.exists()


# --- Who may ask -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_only_writers_may_use_the_checks_and_look_up_doors(client, reviewers, author):
    client.force_login(reviewers[0])
    assert client.post(reverse("admin:articles_article_checks"), {"body": "x"}).status_code == 403
    assert client.post(reverse("admin:articles_article_lookup"), {"doi": "10.5555/x"}).status_code == 403
    api = APIClient()
    api.force_authenticate(reviewers[0])
    assert api.post("/api/v1/checks/", {"body": "x"}, format="json").status_code == 403
    assert api.post("/api/v1/references/lookup/", {"doi": "10.5555/x"}, format="json").status_code == 403
    api.force_authenticate(None)
    assert api.post("/api/v1/checks/", {"body": "x"}, format="json").status_code in (401, 403)
    api.force_authenticate(author)
    found = api.post(
        "/api/v1/checks/",
        {
            "body": "Give 5 mg daily [1].",
            "patient_body": "It cures it.",
            "references": [{"title": "A"}, {"title": "B"}],
        },
        format="json",
    ).json()
    assert found["citations"]["problems"] == [
        "Nothing in the text cites reference [2]: cite it where it supports a claim, or remove it."
    ]
    assert [lint["code"] for lint in found["lints"]] == ["absolute_claim"]


@pytest.mark.django_db
def test_look_ups_answer_503_while_off_and_400_for_what_is_no_identifier(client, author, settings):
    settings.EDITORIAL_RESOLVER_ENABLED = False
    client.force_login(author)
    off = client.post(reverse("admin:articles_article_lookup"), {"doi": "10.5555/demo.heel-pain-taping"})
    assert off.status_code == 503 and "switched off" in off.json()["detail"]
    bad = client.post(reverse("admin:articles_article_lookup"), {"doi": "not a doi"})
    assert bad.status_code == 400 and "A DOI looks like" in bad.json()["detail"]
    api = APIClient()
    api.force_authenticate(author)
    response = api.post("/api/v1/references/lookup/", {"pmid": "12x"}, format="json")
    assert response.status_code == 400 and "PMID" in response.json()["detail"]


@pytest.mark.django_db
def test_readers_of_a_version_under_review_see_its_recorded_checks_not_a_live_panel(client, in_state, editor, author):
    """Regression: the read-only page's panel refreshed itself from a form with no texts (all clear)."""
    article = in_state(
        "under_review",
        make_article(author, body="Amoxicillin three times daily [1] [2].", patient_body="Amoxicillin twice a day."),
    )
    client.force_login(editor)
    html = client.get(reverse("admin:articles_article_change", args=[article.pk])).content.decode()
    panel = html.split('id="content-checks"', 1)[1].split("</section>", 1)[0]
    assert "data-url" not in html.split('id="content-checks"', 1)[0].rsplit("<section", 1)[1] + panel.split(">", 1)[0]
    assert "Clinician and patient texts disagree" in panel
