"""The workspace as people use it: forms, buttons, history, and what a forged request gets."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from articles.models import Article
from editorial.models import TransitionRecord
from editorial.workflow import board, services
from reviewers.models import CHECKLIST, Invitation
from tests.conftest import review_round
from tests.factories import make_article, signing_request


def add_form(**overrides):
    data = {
        "title": "How is migraine prevented?",
        "slug": "",
        "specialty": "",
        "summary": "Preventive treatment is offered when attacks are frequent.",
        "body": "## From the Guidelines\n\nOffer prevention [1].",
        "patient_body": "Some medicines can make attacks less frequent [1].",
        "change_reason": "First draft",
        "seen_row_version": "",
        "references-TOTAL_FORMS": "1",
        "references-INITIAL_FORMS": "0",
        "references-MIN_NUM_FORMS": "0",
        "references-MAX_NUM_FORMS": "1000",
        "references-0-position": "1",
        "references-0-title": "Headache guideline",
        "references-0-authors": "",
        "references-0-source": "",
        "references-0-year": "",
        "references-0-doi": "",
        "references-0-pmid": "",
        "references-0-url": "",
        "_continue": "Save and continue editing",
    }
    data.update(overrides)
    return data


def change_form(article, **overrides):
    refs = list(article.references.all())
    data = {
        "title": article.title,
        "slug": article.slug,
        "specialty": "",
        "summary": article.summary,
        "body": article.body,
        "patient_body": article.patient_body,
        "change_reason": "",
        "seen_row_version": str(article.row_version),
        "references-TOTAL_FORMS": str(len(refs)),
        "references-INITIAL_FORMS": str(len(refs)),
        "references-MIN_NUM_FORMS": "0",
        "references-MAX_NUM_FORMS": "1000",
    }
    for i, ref in enumerate(refs):
        for field in ("position", "title", "authors", "source", "doi", "pmid", "url"):
            data[f"references-{i}-{field}"] = getattr(ref, field)
        data[f"references-{i}-year"] = ref.year or ""
        data[f"references-{i}-id"] = ref.pk
        data[f"references-{i}-article"] = article.pk
    data.update(overrides)
    return data


def transition_url(article, name):
    return reverse("admin:articles_article_transition", args=[article.pk, name])


@pytest.mark.django_db
def test_author_creates_and_submits_through_the_workspace(client, author):
    client.force_login(author)
    response = client.post(reverse("admin:articles_article_add"), add_form())
    assert response.status_code == 302, response.content.decode()[:2000]
    article = Article.objects.get(title="How is migraine prevented?")
    assert article.author == author and article.slug == "how-is-migraine-prevented"
    assert article.references.get().title == "Headache guideline"
    created = article.history.get()
    assert (created.history_user, created.history_change_reason) == (author, "First draft")

    page = client.get(reverse("admin:articles_article_change", args=[article.pk]))
    assert 'class="button workflow-button transition-submit"' in page.content.decode()

    confirm = client.get(transition_url(article, "submit"))
    assert "What happens next" in confirm.content.decode()
    response = client.post(transition_url(article, "submit"), {"row_version": article.row_version, "reason": "Ready"})
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.status == "submitted"
    assert TransitionRecord.objects.get(article=article).reason == "Ready"


def act_url(invitation, action):
    return reverse("admin:reviewers_invitation_act", args=[invitation.pk, action])


@pytest.mark.django_db
def test_the_board_takes_a_submission_to_approved_through_the_workspace(client, author, editor, reviewers):
    """The issue's walk: invite two members, each accepts, reviews and signs; the editor signs."""
    article = services.article_submit(article=make_article(author), actor=author, reason="Please review")
    client.force_login(editor)
    invite = client.get(reverse("admin:articles_article_invite", args=[article.pk]))
    assert "Priya Raman, MD" in invite.content.decode()
    response = client.post(
        reverse("admin:articles_article_invite", args=[article.pk]),
        {"reviewer": [r.pk for r in reviewers], "reason": "Two members, please"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]

    for reviewer in reviewers:
        client.force_login(reviewer)
        invitation = Invitation.objects.get(article=article, reviewer=reviewer)
        page = client.get(reverse("admin:reviewers_invitation_change", args=[invitation.pk]))
        assert page.status_code == 200 and "Competing interests on this article" in page.content.decode()
        response = client.post(
            act_url(invitation, "accept"), {"row_version": invitation.row_version, "conflict": "none"}
        )
        assert response.status_code == 302
        invitation.refresh_from_db()
        response = client.post(
            act_url(invitation, "review"),
            {
                "row_version": invitation.row_version,
                "recommendation": "approve",
                **{field: "on" for field, _ in CHECKLIST},
                "comments_to_author": f"Fine by {reviewer.username}.",
                "confidential_comments": "Nothing to add.",
                "password": "pw",
            },
        )
        assert response.status_code == 302, response.content.decode()[:2000]

    client.force_login(editor)
    article.refresh_from_db()
    assert article.status == "under_review"
    confirm = client.get(transition_url(article, "approve")).content.decode()
    assert "2 of the 2 board signatures" in confirm and 'name="password"' in confirm
    wrong = client.post(transition_url(article, "approve"), {"row_version": article.row_version, "password": "nope"})
    assert wrong.status_code == 403 and "nothing was signed" in wrong.content.decode()
    assert Article.objects.get(pk=article.pk).status == "under_review"
    response = client.post(
        transition_url(article, "approve"),
        {"row_version": article.row_version, "reason": "Checked against the sources", "password": "pw"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    article.refresh_from_db()
    assert article.status == "approved"

    history = client.get(reverse("admin:articles_article_history", args=[article.pk])).content.decode()
    for expected in ["Please review", "Checked against the sources", editor.get_full_name(), author.get_full_name()]:
        assert expected in history
    assert history.index("Please review") < history.index("Checked against the sources")

    client.force_login(author)
    page = client.get(reverse("admin:articles_article_change", args=[article.pk])).content.decode()
    assert "Decision letters" in page and "Fine by reviewer1." in page
    assert "Nothing to add." not in page  # confidential comments never reach the author


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("state", "editor_sees"),
    [("under_review", {"request_changes", "reject"}), ("ready", {"approve", "request_changes", "reject"})],
)
def test_buttons_show_exactly_the_transitions_the_user_may_take(
    client, in_state, author, editor, auditor, state, editor_sees
):
    article = in_state(state)
    url = reverse("admin:articles_article_change", args=[article.pk])
    expectations = {
        editor: editor_sees,
        author: {"withdraw"},
        auditor: set(),
    }
    every = {
        "submit",
        "resubmit",
        "start_review",
        "approve",
        "request_changes",
        "reject",
        "withdraw",
        "retract",
        "revise",
    }
    for user, shown in expectations.items():
        client.force_login(user)
        html = client.get(url).content.decode()
        for name in every:
            assert (f'transition-{name}"' in html) == (name in shown), (user, name)


@pytest.mark.django_db
def test_forged_transition_post_is_refused_and_changes_nothing(client, in_state, author):
    article = in_state("under_review")
    client.force_login(author)
    response = client.post(transition_url(article, "approve"), {"row_version": article.row_version, "reason": "me"})
    assert response.status_code == 403
    assert "Only an editor can approve" in response.content.decode()
    assert Article.objects.get(pk=article.pk).status == "under_review"


@pytest.mark.django_db
def test_transition_from_a_stale_page_is_refused(client, in_state, editor, author):
    article = in_state("under_review")
    seen = article.row_version
    services.article_withdraw(article=article, actor=author, reason="Pulled")
    client.force_login(editor)
    response = client.post(transition_url(article, "reject"), {"row_version": seen, "reason": "Out of scope"})
    assert response.status_code == 409
    assert "changed meanwhile" in response.content.decode()
    assert Article.objects.get(pk=article.pk).status == "withdrawn"


@pytest.mark.django_db
def test_reason_is_asked_for_and_required(client, in_state, editor):
    article = in_state("under_review")
    client.force_login(editor)
    response = client.post(
        transition_url(article, "request_changes"), {"row_version": article.row_version, "reason": ""}
    )
    assert response.status_code == 400
    assert "Say why" in response.content.decode()
    assert Article.objects.get(pk=article.pk).status == "under_review"


@pytest.mark.django_db
def test_stale_content_edit_is_refused_with_a_message(client, author):
    article = make_article(author)
    seen = Article.objects.get(pk=article.pk)
    services.article_update(
        article=article, expected_row_version=article.row_version, actor=author, fields={"summary": "Edited elsewhere."}
    )
    client.force_login(author)
    url = reverse("admin:articles_article_change", args=[article.pk])
    response = client.post(url, change_form(seen, summary="My edit."))
    assert response.status_code == 200
    assert "Someone changed this article while you were editing it" in response.content.decode()
    assert Article.objects.get(pk=article.pk).summary == "Edited elsewhere."


@pytest.mark.django_db
def test_content_edit_records_who_and_why(client, author):
    article = make_article(author)
    client.force_login(author)
    url = reverse("admin:articles_article_change", args=[article.pk])
    response = client.post(url, change_form(article, summary="Sharper answer.", change_reason="Tightened the summary"))
    assert response.status_code == 302
    latest = Article.objects.get(pk=article.pk).history.latest("history_date")
    assert (latest.summary, latest.history_user, latest.history_change_reason) == (
        "Sharper answer.",
        author,
        "Tightened the summary",
    )


@pytest.mark.django_db
def test_content_is_read_only_while_under_review(client, in_state, author):
    article = in_state("under_review")
    client.force_login(author)
    url = reverse("admin:articles_article_change", args=[article.pk])
    response = client.post(url, change_form(article, summary="Sneaky edit."))
    assert response.status_code == 403
    assert Article.objects.get(pk=article.pk).summary != "Sneaky edit."


@pytest.mark.django_db
def test_another_authors_article_is_invisible_on_every_page(client, author, other_author):
    theirs = make_article(other_author, title="Their question?")
    history_row = theirs.history.first()
    client.force_login(author)
    change = client.get(reverse("admin:articles_article_change", args=[theirs.pk]))
    assert change.status_code == 302  # the admin's "does not exist" redirect: nothing revealed
    assert "Their question?" not in client.get(change.url).content.decode()
    assert client.get(reverse("admin:articles_article_history", args=[theirs.pk])).status_code == 404
    record = reverse("admin:articles_article_simple_history", args=[theirs.pk, history_row.pk])
    assert client.get(record).status_code == 404
    assert client.get(transition_url(theirs, "withdraw")).status_code == 404
    response = client.post(transition_url(theirs, "withdraw"), {"row_version": theirs.row_version, "reason": "x"})
    assert response.status_code == 404
    changelist = client.get(reverse("admin:articles_article_changelist")).content.decode()
    assert "Their question?" not in changelist
    assert Article.objects.get(pk=theirs.pk).status == "draft"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["author", "editor", "superuser"])
def test_history_cannot_be_reverted_by_anyone(client, who, author, editor, superuser):
    article = make_article(author)
    services.article_update(
        article=article, expected_row_version=article.row_version, actor=author, fields={"summary": "Second summary."}
    )
    first = article.history.earliest("history_date")
    client.force_login({"author": author, "editor": editor, "superuser": superuser}[who])
    url = reverse("admin:articles_article_simple_history", args=[article.pk, first.pk])
    response = client.post(url, change_form(article, summary="A short answer.", _change_history="1"))
    assert response.status_code in (403, 404, 405)
    assert Article.objects.get(pk=article.pk).summary == "Second summary."
    assert article.history.count() == 2


@pytest.mark.django_db
def test_superuser_without_a_role_does_not_act_in_the_workflow(client, superuser, author):
    article = services.article_submit(article=make_article(author), actor=author)
    client.force_login(superuser)
    assert client.get(reverse("admin:articles_article_changelist")).status_code == 403
    response = client.post(transition_url(article, "start_review"), {"row_version": article.row_version})
    assert response.status_code in (403, 404)
    assert Article.objects.get(pk=article.pk).status == "submitted"
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 200


@pytest.mark.django_db
def test_nobody_deletes_articles_or_users(client, superuser, editor, author):
    article = make_article(author)
    client.force_login(editor)
    assert client.post(reverse("admin:articles_article_delete", args=[article.pk]), {"post": "yes"}).status_code == 403
    client.force_login(superuser)
    assert client.post(reverse("admin:auth_user_delete", args=[author.pk]), {"post": "yes"}).status_code == 403
    assert Article.objects.filter(pk=article.pk).exists()


@pytest.mark.django_db
def test_editor_dashboard_counts_and_links_each_stage(client, in_state, editor, author):
    in_state("submitted")
    in_state("submitted")
    in_state("under_review")
    ready = in_state("ready", make_article(author, title="Ready question?"))
    client.force_login(editor)
    html = client.get(reverse("admin:index")).content.decode()
    assert "Submitted: waiting for reviewers" in html
    assert '<span class="panel-count">2</span> <span class="panel-title">Submitted: waiting for reviewers' in html
    assert '<span class="panel-count">1</span> <span class="panel-title">Ready for your decision' in html
    assert "Ready question?" in html and "2 signatures, round 1" in html
    # Each panel's link lists exactly what the panel counts.
    listing = client.get(reverse("admin:articles_article_changelist") + "?stage=ready").content.decode()
    assert "Ready question?" in listing and listing.count('class="status-badge') == 1
    assert ready


@pytest.mark.django_db
def test_editor_dashboard_leads_to_the_readers_questions_waiting(client, in_state, editor, author):
    from editorial.workflow import questions

    article = in_state("approved")
    waiting = questions.question_ask(article=article, text="Is it safe with grapefruit juice?")
    handled = questions.question_ask(article=article, text="Does it interact with statins?")
    questions.question_dismiss(question=handled, actor=editor, reason="Answered in the article")
    client.force_login(editor)
    html = client.get(reverse("admin:index")).content.decode()
    assert '<span class="panel-count">1</span> <span class="panel-title">Readers&#x27; questions to triage' in html
    assert reverse("admin:editorial_readerquestion_change", args=[waiting.pk]) in html
    assert "grapefruit" in html and "statins" not in html
    client.force_login(author)
    assert "Readers&#x27; questions to triage" not in client.get(reverse("admin:index")).content.decode()


@pytest.mark.django_db
def test_author_dashboard_shows_returned_articles_with_their_letter(client, in_state, author, editor):
    in_state("changes_requested", make_article(author, title="Returned question?"))
    make_article(author, title="My draft?")
    client.force_login(author)
    html = client.get(reverse("admin:index")).content.decode()
    assert "Returned to you for changes" in html and "Returned question?" in html
    assert "Add doses." in html  # the decision letter, right there
    assert "Your drafts" in html and "My draft?" in html
    assert "Ready for your decision" not in html  # no editor panels for an author


@pytest.mark.django_db
def test_author_dashboard_shows_the_latest_letter_of_each_returned_article(client, in_state, author, editor, reviewers):
    article = in_state("changes_requested", make_article(author, title="Returned twice?"))
    article = services.article_resubmit(article=article, actor=author)  # re-invites both reviewers
    for invitation in Invitation.objects.filter(article=article, review_round=2):
        accepted = board.invitation_accept(invitation=invitation, actor=invitation.reviewer, conflict="none")
        board.review_submit(invitation=accepted, actor=accepted.reviewer, recommendation="minor_revisions")
    article = Article.objects.get(pk=article.pk)
    services.article_request_changes(article=article, actor=editor, reason="Now cite the 2026 guideline.")
    client.force_login(author)
    html = client.get(reverse("admin:index")).content.decode()
    assert "Now cite the 2026 guideline." in html and "Add doses." not in html


@pytest.mark.django_db
def test_board_dashboard_lists_invitations_and_due_reviews(client, in_state, reviewers):
    article = in_state("under_review")
    client.force_login(reviewers[1])  # still invited
    html = client.get(reverse("admin:index")).content.decode()
    assert "Invitations waiting for your answer" in html and article.title in html
    client.force_login(reviewers[0])  # accepted
    html = client.get(reverse("admin:index")).content.decode()
    assert "Reviews due (soonest first)" in html and "due " in html


@pytest.mark.django_db
def test_auditor_dashboard_shows_recent_transitions_and_export(client, in_state, auditor):
    in_state("approved")
    client.force_login(auditor)
    html = client.get(reverse("admin:index")).content.decode()
    assert "Transitions in the last 7 days" in html and "Approve by" in html
    assert reverse("admin:audit_export") in html


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["changelist", "index"])
def test_list_pages_run_a_bounded_number_of_queries(client, page, in_state, editor):
    """An N+1 on a list fails here: the count must not grow with the number of articles."""
    url = {"changelist": reverse("admin:articles_article_changelist"), "index": reverse("admin:index")}[page]
    for status in ("approved", "submitted", "under_review", "ready"):  # a row in every panel
        in_state(status)
    client.force_login(editor)
    small = _count_queries(client, url)
    for status in ("submitted", "under_review", "approved", "changes_requested", "retracted"):
        in_state(status)
    assert _count_queries(client, url) == small
    assert small <= 20


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["change", "history"])
def test_article_pages_run_a_bounded_number_of_queries(client, page, in_state, editor, author, reviewers):
    """The count must not grow with the article's rounds, transitions, reviews and references."""
    name = {"change": "admin:articles_article_change", "history": "admin:articles_article_history"}[page]
    short = in_state("approved")
    long = in_state("approved", make_article(author, title="A long story?", references=12))
    for _ in range(3):
        long = services.article_revise(article=long, actor=author)
        long = services.article_submit(article=long, actor=author)
        long = review_round(long, editor, reviewers)
        long = services.article_approve(article=long, actor=editor, password="pw", request=signing_request())
    client.force_login(editor)
    small = _count_queries(client, reverse(name, args=[short.pk]))
    assert _count_queries(client, reverse(name, args=[long.pk])) == small
    assert small <= 20


@pytest.mark.django_db
def test_the_article_list_pages_hold_the_same_rows_as_plain_slicing(author):
    from django.core.paginator import Paginator

    from articles.models import Article
    from editorial.workspace.article_forms import IdsFirstPaginator

    for n in range(7):
        make_article(author, title=f"Question {n}?")
    articles = Article.objects.select_related("author").order_by("-updated_at", "-id")
    ours, django = IdsFirstPaginator(articles, 3, orphans=1), Paginator(articles, 3, orphans=1)
    ours.deep = 0  # every page takes the ids-first path here
    assert ours.num_pages == django.num_pages == 2
    for number in (1, 2):
        assert list(ours.page(number)) == list(django.page(number))
