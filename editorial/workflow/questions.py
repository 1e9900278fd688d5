"""Readers' follow-up questions: asked on a public page, triaged by editors, commissioned, claimed.

A reader asks without an account, and is asked for nothing about themselves: the text is
made plain (``sanitise``) and refused when it carries an e-mail address or a telephone
number. Editors dismiss a question, merge it into another that asks the same, or commission
an article; an author (or a drafting pipeline's account, which holds the Authors role)
claims the commission, which opens a draft in their name titled with the question. Each
change locks the question's row, so two editors or two authors cannot both win, and writes a
history row (django-simple-history) naming who acted and why: the editor's note after what
was done ("Dismissed: …"), the draft a claim opened; a reader's asking is credited to the
system account, readers having none. Auditors read it on the question's page.
"""

import html
import re

import nh3
from django.db import transaction
from django.utils import timezone

from articles.models import Article
from editorial.models import QUESTION_LIMIT, QuestionStatus, ReaderQuestion
from editorial.workflow import permissions, services
from editorial.workflow.audit import set_audit_context
from editorial.workflow.contract import boundary
from editorial.workflow.exceptions import InvalidInput, NotPermitted, WrongState
from editorial.workflow.system import system_user

#: The fewest characters a question has (a shorter one cannot be triaged).
QUESTION_MINIMUM = 10

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACES = re.compile(r"[ \t]+")
_LINES = re.compile(r"\n{3,}")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
# Nine or more digits, allowing the spaces, dots, dashes and brackets numbers are written with.
_PHONE = re.compile(r"(?:\+?\d[\s().-]*){9,}")


def sanitise(text: str) -> str:
    """A reader's text as plain text: no markup, no control characters, tidy whitespace.

    In: what the form sent (any str). Out: plain text (HTML tags removed by nh3, entities
    decoded, runs of spaces and blank lines collapsed); the templates escape it when shown.
    """
    plain = html.unescape(nh3.clean(text.replace("\r\n", "\n"), tags=set()))
    plain = _CONTROL.sub("", plain)
    lines = [_SPACES.sub(" ", line).strip() for line in plain.split("\n")]
    return _LINES.sub("\n\n", "\n".join(lines)).strip()


@boundary
def question_ask(*, article: Article, text: str) -> ReaderQuestion:
    """Record a reader's question about ``article`` (the door has checked that its page is public).

    Raises InvalidInput (400) for a text shorter than QUESTION_MINIMUM or longer than
    QUESTION_LIMIT characters once sanitised, or one that carries an e-mail address or a
    telephone number (readers are asked for no personal data, and none is kept).
    """
    plain = sanitise(text)
    if len(plain) < QUESTION_MINIMUM:
        raise InvalidInput(f"Write your question in at least {QUESTION_MINIMUM} characters.", fields={"text": "short"})
    if len(plain) > QUESTION_LIMIT:
        raise InvalidInput(f"Keep your question under {QUESTION_LIMIT} characters.", fields={"text": "long"})
    if _EMAIL.search(plain) or _PHONE.search(plain):
        raise InvalidInput(
            "Please leave out e-mail addresses and telephone numbers: we do not reply personally, and we keep "
            "no personal details.",
            fields={"text": "personal_data"},
        )
    question = ReaderQuestion(article=article, text=plain)
    set_audit_context(question, actor=system_user(), reason="Asked by a reader on the article's public page")
    question.save()
    return question


def _lock(question: ReaderQuestion) -> ReaderQuestion:
    return ReaderQuestion.objects.select_for_update().get(pk=question.pk)


def _require_open(question: ReaderQuestion, verb: str) -> None:
    if question.status != QuestionStatus.OPEN:
        raise WrongState(f"This question is {question.get_status_display().lower()}: only an open one can be {verb}.")


def _handle(question: ReaderQuestion, *, actor, status: str, reason: str, done: str) -> ReaderQuestion:
    """Record an editor's decision: the status, who and when, the note; its history row says
    ``done``, then the note if there is one ("Dismissed: out of scope")."""
    question.status = status
    question.handled_by = actor
    question.handled_at = timezone.now()
    question.note = reason.strip()
    set_audit_context(question, actor=actor, reason=f"{done}: {question.note}" if question.note else done)
    question.save()
    return question


@boundary
def question_dismiss(*, question: ReaderQuestion, actor, reason: str) -> ReaderQuestion:
    """An editor sets an open question aside, saying why (kept in its history, read by auditors).

    Raises NotPermitted (403) for others, WrongState (409) if the question is not open,
    InvalidInput (400) for a blank reason. Nothing is written when it raises.
    """
    with transaction.atomic():
        current = _lock(question)
        permissions.require_question_triage(actor)
        _require_open(current, "dismissed")
        if not reason.strip():
            raise InvalidInput(
                "Say why the question is dismissed: the reason is kept with it.", fields={"reason": "blank"}
            )
        return _handle(current, actor=actor, status=QuestionStatus.DISMISSED, reason=reason, done="Dismissed")


@boundary
def question_merge(*, question: ReaderQuestion, actor, into: ReaderQuestion, reason: str = "") -> ReaderQuestion:
    """An editor records an open question as a duplicate of ``into`` (which is not itself merged).

    Raises NotPermitted (403), WrongState (409: this one is not open, or ``into`` was merged
    away), InvalidInput (400: merged into itself).
    """
    if question.pk == into.pk:
        raise InvalidInput("A question cannot be merged into itself.", fields={"into": "same"})
    with transaction.atomic():
        first, second = sorted([question.pk, into.pk])
        locked = {q.pk: q for q in ReaderQuestion.objects.select_for_update().filter(pk__in=[first, second])}
        if len(locked) != 2:
            raise InvalidInput("Both questions must exist.", fields={"into": "missing"})
        current, target = locked[question.pk], locked[into.pk]
        permissions.require_question_triage(actor)
        _require_open(current, "merged")
        if target.status in (QuestionStatus.MERGED, QuestionStatus.DISMISSED):
            standing = target.get_status_display().lower()
            raise WrongState(f"Merge into a question that still stands: that one is {standing}.")
        current.merged_into = target
        done = f"Merged into question {target.pk}"
        return _handle(current, actor=actor, status=QuestionStatus.MERGED, reason=reason, done=done)


@boundary
def question_commission(*, question: ReaderQuestion, actor, reason: str = "") -> ReaderQuestion:
    """An editor asks for an article answering an open question; authors may then claim it."""
    with transaction.atomic():
        current = _lock(question)
        permissions.require_question_triage(actor)
        _require_open(current, "commissioned")
        done = "Commissioned an article"
        return _handle(current, actor=actor, status=QuestionStatus.COMMISSIONED, reason=reason, done=done)


def draft_title(text: str) -> str:
    """The question as an article's title: one line, at most the title's length (cut at a word)."""
    line = " ".join(text.split())
    limit = Article._meta.get_field("title").max_length
    if len(line) <= limit:
        return line
    return line[: limit - 1].rsplit(" ", 1)[0] + "…"


@boundary
def question_claim(*, question: ReaderQuestion, actor) -> Article:
    """An author (or a pipeline's account) claims a commission: a draft in their name, titled
    with the question. Raises NotPermitted (403) for anyone without the Authors role,
    WrongState (409) when the question is not commissioned or was claimed already.
    """
    with transaction.atomic():
        current = _lock(question)
        if not permissions.may_claim_question(actor):
            raise NotPermitted("Only authors (people or drafting pipelines) can claim a commissioned question.")
        if current.status != QuestionStatus.COMMISSIONED:
            raise WrongState(
                f"This question is {current.get_status_display().lower()}: only a commissioned one can be claimed."
            )
        article = services.article_create(
            actor=actor,
            fields={"title": draft_title(current.text)},
            reason=f"Draft commissioned from reader question {current.pk}",
        )
        current.status = QuestionStatus.DRAFTING
        current.claimed_by = actor
        current.claimed_at = timezone.now()
        current.draft = article
        set_audit_context(current, actor=actor, reason=f"Claimed: draft article {article.pk} opened")
        current.save()
    return article
