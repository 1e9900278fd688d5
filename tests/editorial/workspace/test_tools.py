"""The workspace's tools: list filters and search, bulk invitations, preview, citation warnings,
comparing versions, exports, metrics and the workflow diagram."""

import csv
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from articles.models import Article
from editorial.workflow import services
from reviewers.models import CHECKLIST, Invitation
from tests.factories import make_article

CHANGELIST = "admin:articles_article_changelist"


def titles(response) -> set[str]:
    return {a.title for a in response.context["cl"].result_list}


@pytest.mark.django_db
def test_filters_by_stage_author_reviewer_and_search_by_reference(client, in_state, editor, author, other_author):
    ready = in_state("ready", make_article(author, title="Ready?"))
    waiting = in_state("submitted", make_article(other_author, title="Waiting?"))
    client.force_login(editor)
    url = reverse(CHANGELIST)
    assert titles(client.get(url + "?stage=ready")) == {"Ready?"}
    assert titles(client.get(url + "?stage=waiting")) == {"Waiting?"}
    assert titles(client.get(url + "?author=other_author")) == {"Waiting?"}
    assert titles(client.get(url + "?reviewer=reviewer1")) == {"Ready?"}
    assert titles(client.get(url + "?q=Source 2")) == {"Ready?", "Waiting?"}  # a reference's title
    assert titles(client.get(url + "?q=Ready")) == {"Ready?"}
    assert ready and waiting


@pytest.mark.django_db
def test_bulk_invitation_invites_each_article_on_its_own(client, in_state, editor, author, reviewers):
    first = in_state("submitted", make_article(author, title="First?"))
    second = in_state("submitted", make_article(author, title="Second?"))
    draft = make_article(author, title="A draft?")
    client.force_login(editor)
    url = reverse(CHANGELIST)
    page = client.post(url, {"action": "invite_reviewers", "_selected_action": [first.pk, second.pk, draft.pk]})
    assert page.status_code == 200 and "Priya Raman, MD" in page.content.decode()
    response = client.post(
        url,
        {
            "action": "invite_reviewers",
            "_selected_action": [first.pk, second.pk, draft.pk],
            "reviewer": [reviewers[0].pk],
            "apply": "1",
        },
        follow=True,
    )
    text = response.content.decode()
    assert "Invitations sent for 2 article(s)." in text and "A draft?" in text  # the draft is refused, named
    assert Invitation.objects.filter(reviewer=reviewers[0]).count() == 2


@pytest.mark.django_db
def test_authors_cannot_bulk_invite(client, in_state, author):
    article = in_state("submitted")
    client.force_login(author)
    client.post(reverse(CHANGELIST), {"action": "invite_reviewers", "_selected_action": [article.pk], "apply": "1"})
    assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_preview_renders_like_the_public_page_and_sanitises(client, author, board_member):
    client.force_login(author)
    url = reverse("admin:articles_article_preview")
    html = client.post(url, {"text": "**Dose** [1] <script>alert(1)</script>"}).json()["html"]
    assert "<strong>Dose</strong>" in html and 'href="#ref-1"' in html and "<script>" not in html
    assert client.get(url).status_code == 405
    client.force_login(board_member)
    assert client.post(url, {"text": "x"}).status_code == 403


@pytest.mark.django_db
def test_saving_names_dangling_markers_and_uncited_references(client, author):
    from tests.editorial.workspace.test_admin import change_form

    article = make_article(author, references=3)  # the text cites [1] and [2]
    client.force_login(author)
    url = reverse("admin:articles_article_change", args=[article.pk])
    response = client.post(url, change_form(article, body="See [1] and [5]."), follow=True)
    text = response.content.decode()
    assert "Before it can be submitted: The text cites [5], but the reference list has only 3." in text
    assert "Nothing in the text cites references [2] and [3]" in text


@pytest.mark.django_db
def test_compare_two_versions_field_by_field(client, author, editor):
    article = make_article(author)
    services.article_update(
        article=article,
        expected_row_version=article.row_version,
        actor=author,
        fields={"summary": "A sharper answer."},
        reason="Sharper summary",
    )
    services.references_replace(
        article=Article.objects.get(pk=article.pk),
        actor=author,
        references=[{"title": "Source 1"}, {"title": "A new trial"}],
        reason="New trial",
    )
    first, last = article.history.earliest("history_date"), article.history.latest("history_date")
    client.force_login(editor)
    url = reverse("admin:articles_article_compare", args=[article.pk]) + f"?a={first.history_id}&b={last.history_id}"
    html = client.get(url).content.decode()
    assert "<del>short</del><ins>sharper</ins>" in html.replace("A ", "a ") or "<ins>sharper</ins>" in html
    assert "Sharper summary" in html
    assert "<h3>References</h3>" in html and "trial</ins>" in html


@pytest.mark.django_db
def test_exports_the_trail_of_an_article_as_csv_and_json(client, in_state, auditor, author):
    from editorial.models import Event
    from editorial.notifications import delivery

    article = in_state("approved")
    for event_id in Event.objects.filter(article=article).values_list("pk", flat=True):
        delivery.deliver(event_id)  # what the worker does: inbox entries and e-mails
    client.force_login(auditor)
    url = reverse("admin:audit_export")
    body = b"".join(client.get(url + f"?article={article.pk}&format=csv").streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    kinds = {row["kind"] for row in rows}
    assert {"transition", "edit", "reference", "invitation", "review", "signature"} <= kinds
    assert [r["time"] for r in rows] == sorted(r["time"] for r in rows)
    assert any(r["kind"] == "transition" and r["action"] == "approve" for r in rows)
    notified = [r["detail"] for r in rows if r["kind"] == "notification"]
    assert notified and all(("by inbox" in d) != d.endswith(("1 attempt", "attempts")) for d in notified)
    data = json.loads(b"".join(client.get(url + f"?article={article.pk}&format=json").streaming_content))
    assert len(data) == len(rows) and data[0].keys() == rows[0].keys()
    ranged = b"".join(client.get(url + "?format=csv").streaming_content).decode("utf-8-sig")
    assert len(list(csv.DictReader(io.StringIO(ranged)))) >= len(rows)
    client.force_login(author)
    assert client.get(url + f"?article={article.pk}").status_code == 403


@pytest.mark.django_db
def test_the_export_holds_readers_questions_and_how_editors_handled_them(client, in_state, auditor, editor):
    from editorial.workflow import questions

    article = in_state("approved")
    first = questions.question_ask(article=article, text="Is it safe in pregnancy?")
    second = questions.question_ask(article=article, text="Safe while pregnant?")
    questions.question_merge(question=second, actor=editor, into=first, reason="Same question")
    questions.question_dismiss(question=first, actor=editor, reason="Answered in the article")
    client.force_login(auditor)
    body = b"".join(
        client.get(reverse("admin:audit_export") + f"?article={article.pk}&format=csv").streaming_content
    ).decode("utf-8-sig")
    rows = [r for r in csv.DictReader(io.StringIO(body)) if r["kind"] == "question"]
    assert [r["action"] for r in rows] == ["asked", "asked", "merged", "dismissed"]
    assert rows[2]["reason"].endswith("Same question") and rows[3]["reason"].endswith("Answered in the article")
    assert f"question {second.pk}: Safe while pregnant? (merged into question {first.pk})" == rows[2]["detail"]
    assert rows[3]["actor"] == editor.get_full_name() and rows[0]["article"] == article.title


@pytest.mark.django_db
def test_the_export_keeps_a_readers_question_whole(client, in_state, auditor, editor):
    """A question up to its limit (1,000 characters) is on record as asked, in each of its rows and both formats."""
    from editorial.models import QUESTION_LIMIT
    from editorial.workflow import questions

    article = in_state("approved")
    text = ("=SUM(A1) is the dose of 5 mg safe — ça va? " * 30)[: QUESTION_LIMIT - 1].strip() + "?"
    asked = questions.question_ask(article=article, text=text)
    assert asked.text == text and len(text) > 900
    questions.question_dismiss(question=asked, actor=editor, reason="Answered in the article")
    client.force_login(auditor)
    url = reverse("admin:audit_export") + f"?article={article.pk}"
    body = b"".join(client.get(url + "&format=csv").streaming_content).decode("utf-8-sig")
    rows = [r for r in csv.DictReader(io.StringIO(body)) if r["kind"] == "question"]
    assert [(r["action"], r["detail"]) for r in rows] == [("asked", f"question {asked.pk}: {text}")] + [
        ("dismissed", f"question {asked.pk}: {text}")
    ]
    records = json.loads(b"".join(client.get(url + "&format=json").streaming_content))
    assert [r["detail"] for r in records if r["kind"] == "question"] == [f"question {asked.pk}: {text}"] * 2


@pytest.mark.django_db
def test_export_runs_a_bounded_number_of_queries(client, in_state, auditor, author):
    def count():
        with CaptureQueriesContext(connection) as queries:
            b"".join(client.get(reverse("admin:audit_export") + "?format=csv").streaming_content)
        return len(queries)

    in_state("approved")
    client.force_login(auditor)
    small = count()
    for n in range(3):
        in_state("approved", make_article(author, title=f"More {n}?"))
    assert count() <= small + 3  # one title lookup per further article at most


@pytest.mark.django_db
def test_metrics_and_workflow_pages(client, in_state, editor, author):
    in_state("approved")
    in_state("changes_requested", make_article(author, title="Other?"))
    client.force_login(editor)
    html = client.get(reverse("admin:metrics")).content.decode()
    assert "median from submission to decision (2 decisions)" in html
    assert '<span class="metric-figure">0.0</span> days' in html  # a same-day median is a number
    assert "of answered invitations accepted" in html and 'class="bar"' in html
    diagram = client.get(reverse("admin:workflow_help")).content.decode()
    assert "<svg" in diagram and "Under review" in diagram and "resubmit" in diagram
    client.force_login(author)
    assert client.get(reverse("admin:metrics")).status_code == 403


@pytest.mark.django_db
def test_the_article_page_highlights_the_current_state(client, in_state, editor):
    article = in_state("under_review")
    client.force_login(editor)
    html = client.get(reverse("admin:articles_article_change", args=[article.pk])).content.decode()
    assert 'class="wf-state wf-current" data-state="under_review"' in html


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["editor", "author", "reviewer", "auditor"])
def test_each_dashboard_runs_a_bounded_number_of_queries(client, in_state, role, editor, author, auditor, reviewers):
    user = {"editor": editor, "author": author, "reviewer": reviewers[0], "auditor": auditor}[role]

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("admin:index")).status_code == 200
        return len(queries)

    in_state("ready")
    in_state("changes_requested", make_article(author, title="Returned?"))
    in_state("submitted", make_article(author, title="Waiting?"))
    in_state("under_review", make_article(author, title="Reviewing?"))  # a row in every panel
    client.force_login(user)
    small = count()
    for n, state in enumerate(["ready", "under_review", "changes_requested", "approved", "submitted"]):
        in_state(state, make_article(author, title=f"Q{n}?"))
    assert count() == small
    assert small <= 25


@pytest.mark.django_db
def test_a_refused_signature_keeps_what_the_reviewer_ticked(client, in_state, reviewers):
    article = in_state("under_review")
    invitation = Invitation.objects.get(article=article, status="accepted")
    client.force_login(invitation.reviewer)
    url = reverse("admin:reviewers_invitation_act", args=[invitation.pk, "review"])
    form = {"row_version": invitation.row_version, "recommendation": "approve", "comments_to_author": "Fine."}
    # An unticked item: refused before the password is read, the ticks kept.
    response = client.post(url, {**form, "claims_accurate": "on", "password": "pw"})
    html = response.content.decode()
    assert response.status_code == 400 and "tick every checklist item" in html
    assert 'name="claims_accurate" checked' in html and 'name="doses_checked" checked' not in html
    # Every item ticked, the wrong password: nothing signed, the ticks kept.
    response = client.post(url, {**form, **{field: "on" for field, _ in CHECKLIST}, "password": "wrong"})
    html = response.content.decode()
    assert response.status_code == 403 and "nothing was signed" in html
    assert all(f'name="{field}" checked' in html for field, _ in CHECKLIST)


def test_reference_authors_never_end_in_a_double_stop():
    from editorial.templatetags.editorial_tags import cut_trailing_stop

    assert cut_trailing_stop("Smith J, et al.") + "." == "Smith J, et al."
