"""Readers' questions keep a history: who asked for what, when and why, read by auditors on the
question's page; on PostgreSQL it is append-only and the database's clock stamps it."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from accounts import identity
from editorial.models import QuestionStatus, ReaderQuestion
from editorial.workflow import questions
from editorial.workflow.exceptions import InvalidInput, NotPermitted, WrongState
from editorial.workflow.system import SYSTEM_USERNAME
from tests.editorial.audit.test_db_roles import app_role, connect_as_app, refused
from tests.editorial.questions.test_questions import QUESTION, ask


def trail(question) -> list[tuple]:
    rows = ReaderQuestion.history.filter(id=question.pk).order_by("history_date", "history_id")
    return [(row.history_type, row.status, row.history_user.username, row.history_change_reason) for row in rows]


@pytest.mark.django_db
def test_each_act_on_a_question_is_kept_with_its_actor_and_reason(in_state, editor, author):
    article = in_state("approved")
    first = questions.question_ask(article=article, text=QUESTION)
    second = questions.question_ask(article=article, text="Is ibuprofen safe alongside this treatment?")
    third = questions.question_ask(article=article, text="Does this apply to children under twelve?")
    questions.question_merge(question=second, actor=editor, into=first, reason="Same medicine, same worry")
    questions.question_dismiss(question=third, actor=editor, reason="For a paediatric article")
    questions.question_commission(question=first, actor=editor, reason="Asked twice")
    draft = questions.question_claim(question=first, actor=author)

    asked = ("+", QuestionStatus.OPEN, SYSTEM_USERNAME, "Asked by a reader on the article's public page")
    assert trail(first) == [
        asked,
        ("~", QuestionStatus.COMMISSIONED, editor.username, "Commissioned an article: Asked twice"),
        ("~", QuestionStatus.DRAFTING, author.username, f"Claimed: draft article {draft.pk} opened"),
    ]
    assert trail(second) == [
        asked,
        ("~", QuestionStatus.MERGED, editor.username, f"Merged into question {first.pk}: Same medicine, same worry"),
    ]
    assert trail(third) == [
        asked,
        ("~", QuestionStatus.DISMISSED, editor.username, "Dismissed: For a paediatric article"),
    ]
    editor_row = ReaderQuestion.history.filter(id=first.pk, history_user=editor).get()
    assert editor_row.history_actor_name == identity.display_name(editor)  # the name and roles of the moment
    assert "Editors" in editor_row.history_actor_role


@pytest.mark.django_db
def test_a_refused_act_leaves_no_history(in_state, editor, author):
    question = questions.question_ask(article=in_state("approved"), text=QUESTION)
    questions.question_dismiss(question=question, actor=editor, reason="Out of scope")
    with pytest.raises(WrongState):
        questions.question_commission(question=question, actor=editor)
    with pytest.raises(NotPermitted):
        questions.question_dismiss(question=question, actor=author, reason="Not mine to dismiss")
    assert len(trail(question)) == 2
    other = questions.question_ask(article=question.article, text="Does this apply to children under twelve?")
    for blank in ("", "   \n"):
        with pytest.raises(InvalidInput):
            questions.question_dismiss(question=other, actor=editor, reason=blank)
    other.refresh_from_db()
    assert other.status == QuestionStatus.OPEN and len(trail(other)) == 1  # a dismissal must say why


@pytest.mark.django_db
def test_auditors_and_editors_read_the_history_on_the_question_page(client, in_state, editor, auditor, author):
    article = in_state("approved")
    assert ask(article).status_code in (200, 201, 302, 303)
    question = ReaderQuestion.objects.get()
    client.force_login(editor)
    url = reverse("admin:editorial_readerquestion_act", args=[question.pk, "commission"])
    assert client.post(url, {"reason": "Readers keep asking"}).status_code == 302
    page_url = reverse("admin:editorial_readerquestion_change", args=[question.pk])
    for reader in (auditor, editor):
        client.force_login(reader)
        page = client.get(page_url).content.decode()
        history = page[page.index('id="question-history-heading"') :]
        assert "Asked by a reader on the article&#x27;s public page" in history
        assert "Commissioned an article: Readers keep asking" in history
        assert editor.get_full_name() in history and "Editors" in history
    client.force_login(author)  # authors see the commission to claim it, not the editors' trail
    page = client.get(page_url).content.decode()
    assert "Claim and start the draft" in page and "question-history-heading" not in page


@pytest.mark.skipif(connection.vendor != "postgresql", reason="database roles exist on PostgreSQL only")
@pytest.mark.django_db(transaction=True)
def test_the_application_cannot_change_a_questions_history(in_state, editor):
    question = questions.question_ask(article=in_state("approved"), text=QUESTION)
    call_command("create_app_role", app_role())
    with connect_as_app() as conn:
        for statement in (
            "UPDATE editorial_historicalreaderquestion SET history_change_reason = 'rewritten'",
            "DELETE FROM editorial_historicalreaderquestion",
        ):
            assert "permission denied" in refused(conn, statement)
        conn.execute(
            "INSERT INTO editorial_historicalreaderquestion (id, article_id, text, status, asked_at, note,"
            " history_date, history_type, history_user_id, history_change_reason, history_actor_name,"
            " history_actor_role) VALUES (%s, %s, 'x', 'dismissed', now(), '', '2001-01-01 00:00+00', '~', %s,"
            " 'Back-dated', '', '')",
            [question.pk, question.article_id, editor.pk],
        )
    forged = ReaderQuestion.history.get(history_change_reason="Back-dated")
    assert forged.history_date.year > 2001
    with connection.cursor() as cursor, pytest.raises(Exception, match="append-only"):
        cursor.execute("DELETE FROM editorial_historicalreaderquestion")


@pytest.mark.django_db
def test_the_articles_history_page_leads_to_its_readers_questions(client, in_state, editor, author, auditor):
    article = in_state("approved")
    question = questions.question_ask(article=article, text=QUESTION)
    questions.question_commission(question=question, actor=editor)
    draft = questions.question_claim(question=question, actor=author)
    client.force_login(auditor)
    question_url = reverse("admin:editorial_readerquestion_change", args=[question.pk])
    for shown in (article, draft):
        page = client.get(reverse("admin:articles_article_history", args=[shown.pk])).content.decode()
        assert "Readers' questions" in page and question_url in page
    assert "this article answers it" in page
