"""The services' contract: only the project's errors come out, and a refusal changes nothing.

The reproductions from the contracts review are named tests; then a Hypothesis property test
calls every public service with generated junk (None, wrong types, NUL, huge strings, missing
ids, other people) and asserts that each call either succeeds or raises an EditorialError,
and that a refused call left every table as it was.
"""

import importlib
import inspect
import pkgutil
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import editorial.workflow
from articles.models import Article, ArticleVersion, Reference, Specialty
from articles.provenance import AIProvenance
from editorial.models import Event, ReaderQuestion, TransitionRecord
from editorial.workflow import board, services
from editorial.workflow.exceptions import EditorialError, InvalidInput, NotFound, NotPermitted, SignatureRefused
from editorial.workflow.questions import question_ask, question_commission
from reviewers.models import Invitation, Review, Signature
from tests.factories import UserFactory, make_article, signing_request


def public_services() -> dict[str, object]:
    """Every function of editorial.workflow wrapped by the boundary, by module and name."""
    found = {}
    for module_info in pkgutil.iter_modules(editorial.workflow.__path__):
        module = importlib.import_module(f"editorial.workflow.{module_info.name}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__ and getattr(function, "__boundary__", False):
                found[f"{module_info.name}.{name}"] = function
    return found


ENTITY_PREFIXES = ("article_", "references_", "invitation_", "review_", "check_transition")


def test_every_public_service_is_behind_the_boundary():
    """A new service that writes (named <entity>_<action>) must check its arguments."""
    missing = []
    for module_info in pkgutil.iter_modules(editorial.workflow.__path__):
        if module_info.name == "contract":  # the rules themselves
            continue
        module = importlib.import_module(f"editorial.workflow.{module_info.name}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            ours = function.__module__ == module.__name__ and name.startswith(ENTITY_PREFIXES)
            if ours and not getattr(function, "__boundary__", False):
                missing.append(f"{module_info.name}.{name}")
    assert missing == []
    assert len(public_services()) >= 20


# --- The reproductions ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_missing_actor_is_invalid_input_not_an_attribute_error(author):
    article = make_article(author)
    with pytest.raises(InvalidInput) as refused:
        services.article_submit(article=article, actor=None)
    assert "actor" in refused.value.fields


@pytest.mark.django_db
def test_an_anonymous_or_deactivated_actor_is_not_permitted(author):
    article = make_article(author)
    with pytest.raises(NotPermitted):
        services.article_submit(article=article, actor=AnonymousUser())
    author.is_active = False
    author.save()
    with pytest.raises(NotPermitted):
        services.article_submit(article=article, actor=author)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": "Is a NUL \x00 allowed?"}, "title"),
        ({"title": "Q" * 100_000}, "title"),
        ({"summary": 42}, "summary"),
        ({"specialty": "cardiology"}, "specialty"),
        ({"status": "approved"}, "status"),
    ],
)
def test_malformed_content_is_invalid_input_naming_the_field(author, fields, field):
    with pytest.raises(InvalidInput) as refused:
        services.article_create(actor=author, fields={"title": "A question?", **fields})
    assert field in refused.value.fields
    assert not Article.objects.exists()


@pytest.mark.django_db
def test_an_integer_reason_is_invalid_input(author, editor, in_state):
    article = in_state("submitted")
    with pytest.raises(InvalidInput) as refused:
        services.article_reject(article=article, actor=editor, reason=42)
    assert "reason" in refused.value.fields


@pytest.mark.django_db
def test_an_article_or_invitation_that_does_not_exist_is_not_found(author, editor, reviewers):
    with pytest.raises(NotFound):
        services.article_submit(article=Article(pk=987654321), actor=author)
    with pytest.raises(NotFound):
        board.invitation_accept(invitation=Invitation(pk=987654321), actor=reviewers[0], conflict="none")


@pytest.mark.django_db
def test_updating_an_article_that_does_not_exist_inserts_nothing(author):
    ghost = Article(pk=4242, title="A ghost?", slug="ghost", author=author)
    with pytest.raises(NotFound):
        services.article_update(article=ghost, actor=author, fields={"summary": "Boo."}, expected_row_version=1)
    assert not Article.objects.filter(pk=4242).exists()


@pytest.mark.django_db
def test_an_edit_must_say_which_version_it_started_from(author):
    article = make_article(author)
    with pytest.raises(InvalidInput) as refused:
        services.article_save(article=article, actor=author)
    assert "expected_row_version" in refused.value.fields


@pytest.mark.django_db
def test_at_most_300_references(author):
    too_many = [{"title": f"Source {n}"} for n in range(301)]
    with pytest.raises(InvalidInput):
        services.article_create(actor=author, fields={"title": "Q?"}, references=too_many)
    article = services.article_create(actor=author, fields={"title": "Q?"}, references=too_many[:300])
    assert article.references.count() == 300


# --- Every service, with generated junk ---------------------------------------------------------

#: Tables a refused call must leave exactly as they were (failed signatures are recorded on
#: purpose: a wrong password is an event of its own).
WATCHED = [
    AIProvenance,
    Article,
    Article.history.model,
    Reference,
    Reference.history.model,
    ArticleVersion,
    Invitation,
    Invitation.history.model,
    Review,
    Signature,
    TransitionRecord,
    Event,
    Specialty,
]


def snapshot() -> dict:
    state = {model._meta.label: list(model.objects.order_by("pk").values_list("pk", flat=True)) for model in WATCHED}
    state["articles"] = list(Article.objects.order_by("pk").values_list("pk", "status", "row_version", "title"))
    state["invitations"] = list(Invitation.objects.order_by("pk").values_list("pk", "status", "row_version"))
    state["questions"] = list(ReaderQuestion.objects.order_by("pk").values_list("pk", "status", "draft_id"))
    return state


JUNK = st.one_of(
    st.none(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.booleans(),
    st.text(max_size=20),
    st.just("a\x00b"),
    st.just("x" * 200_000),
    st.binary(max_size=10),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
# Mostly well-formed values, so that calls get past the policy and reach the database with a
# NUL or an oversized text often enough; st.one_of picks each branch equally.
TEXT = st.one_of(st.text(max_size=40), st.text(max_size=40), st.just("a\x00b"), st.just("x" * 200_000), JUNK)


@pytest.fixture
def cast(author, other_author, editor, auditor, reviewers, in_state, superuser, board_member):
    """The people and rows the generated calls name, by label (built fresh for each call)."""
    inactive = UserFactory(username="gone", is_active=False)
    states = ("draft", "submitted", "under_review", "ready", "changes_requested", "approved", "revision")
    articles = {status: in_state(status).pk for status in states}
    in_review = Invitation.objects.filter(article_id=articles["under_review"]).order_by("pk")
    people = {
        "author": author,
        "other_author": other_author,
        "editor": editor,
        "auditor": auditor,
        "reviewer": reviewers[0],
        "second_reviewer": reviewers[1],
        "member": board_member,
        "superuser": superuser,
        "inactive": inactive,
    }
    invitations = {"accepted": in_review[0].pk, "invited": in_review[1].pk}
    approved = Article.objects.get(pk=articles["approved"])
    asked = {
        label: question_ask(article=approved, text=f"A reader's {label} question?").pk for label in ("open", "other")
    }
    commissioned = question_ask(article=approved, text="A commissioned question?")
    asked["commissioned"] = question_commission(question=commissioned, actor=editor).pk
    return {
        "people": people,
        "articles": articles,
        "invitation": invitations["accepted"],
        "invitations": invitations,
        "questions": asked,
    }


def strategies(cast) -> dict:
    people = list(cast["people"])
    person = st.sampled_from(people).map(lambda label: ("person", label))
    user = st.one_of(person, person, person, JUNK.map(lambda v: ("raw", v)))
    real_article = st.sampled_from(sorted(cast["articles"])).map(lambda status: ("article", status))
    article = st.one_of(
        real_article,
        real_article,
        real_article,
        st.just(("raw", Article(pk=10**9))),
        st.just(("raw", Article())),
        JUNK.map(lambda v: ("raw", v)),
    )
    raw_junk = JUNK.map(lambda v: ("raw", v))
    invitation = st.one_of(
        st.just(("invitation", None)),
        st.just(("invitation", None)),
        st.just(("raw", Invitation(pk=10**9))),
        JUNK.map(lambda v: ("raw", v)),
    )
    real_question = st.sampled_from(["open", "other", "commissioned"]).map(lambda label: ("question", label))
    question = st.one_of(real_question, real_question, st.just(("raw", ReaderQuestion(pk=10**9))), raw_junk)
    fields = st.one_of(
        st.dictionaries(
            st.sampled_from(["title", "slug", "summary", "body", "patient_body", "specialty", "status", "author"]),
            TEXT,
            max_size=3,
        ),
        JUNK,
    )
    reference = st.dictionaries(st.sampled_from(["title", "doi", "year", "url", "bogus"]), TEXT, max_size=3)
    moments = st.one_of(
        st.just(timezone.now() + timedelta(days=3)),
        st.just(datetime(2030, 1, 1)),  # naive
        JUNK,
    )
    raw = lambda strategy: strategy.map(lambda v: ("raw", v))  # noqa: E731
    return {
        "actor": user,
        "article": article,
        "invitation": invitation,
        "question": question,
        "into": question,
        "text": raw(st.one_of(st.just("A follow-up question about doses?"), TEXT)),
        "reviewers": st.one_of(st.lists(user, max_size=3).map(lambda items: ("list", items)), raw(JUNK)),
        "name": raw(st.one_of(st.sampled_from(sorted(services.TRANSITION_SERVICES)), TEXT)),
        "reason": raw(TEXT),
        "override_reason": raw(TEXT),
        "conflict_override": raw(TEXT),
        "description": raw(TEXT),
        "conflict": raw(st.one_of(st.sampled_from(["none", "declared"]), TEXT)),
        "recommendation": raw(st.one_of(st.sampled_from(["approve", "reject", "minor_revisions"]), TEXT)),
        "comments_to_author": raw(TEXT),
        "confidential_comments": raw(TEXT),
        "password": raw(st.one_of(st.just("pw"), TEXT)),
        "respond_by": raw(moments),
        "due_at": raw(moments),
        "disqualifying": raw(st.one_of(st.booleans(), JUNK)),
        "force": raw(st.one_of(st.booleans(), JUNK)),
        "checklist": raw(st.one_of(st.dictionaries(st.sampled_from(["claims_accurate", "x"]), JUNK), JUNK)),
        "fields": raw(fields),
        "references": raw(st.one_of(st.lists(reference, max_size=3), JUNK)),
        "expected_row_version": raw(st.one_of(st.integers(min_value=-5, max_value=2**40), JUNK)),
        "saved": raw(st.one_of(st.lists(st.just(Reference(title="t")), max_size=2), JUNK)),
        "deleted": raw(st.one_of(st.just([]), JUNK)),
        "provenance": raw(
            st.one_of(
                st.none(),
                st.dictionaries(
                    st.sampled_from(["tool", "model", "sections", "generated_at", "run_id", "bogus"]),
                    st.one_of(TEXT, JUNK, st.lists(st.sampled_from(["body", "summary", "x"]), max_size=3)),
                    max_size=4,
                ),
                JUNK,
            )
        ),
        "request": raw(st.one_of(st.none(), st.builds(signing_request))),
    }


def realise(value, cast):
    kind, payload = value
    if kind == "person":
        return type(cast["people"][payload]).objects.get(pk=cast["people"][payload].pk)
    if kind == "article":
        return Article.objects.get(pk=cast["articles"][payload])
    if kind == "invitation":
        return Invitation.objects.get(pk=cast["invitations"][payload or "accepted"])
    if kind == "question":
        return ReaderQuestion.objects.get(pk=cast["questions"][payload])
    if kind == "list":
        return [realise(item, cast) for item in payload]
    if kind == "request":
        return signing_request()
    return payload


SERVICES = sorted(public_services().items())


@pytest.mark.django_db
@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_every_service_raises_only_project_errors_and_a_refusal_changes_nothing(cast, data):
    name, service = data.draw(st.sampled_from(SERVICES), label="service")
    table = strategies(cast)
    parameters = inspect.signature(service).parameters
    wanted = {}
    for parameter in parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            continue
        optional = parameter.default is not inspect.Parameter.empty
        if optional and data.draw(st.booleans(), label=f"omit {parameter.name}"):
            continue
        wanted[parameter.name] = data.draw(table[parameter.name], label=parameter.name)
    with transaction.atomic():
        kwargs = {key: realise(value, cast) for key, value in wanted.items()}
        before = snapshot()
        try:
            service(**kwargs)
        except SignatureRefused:
            pass  # a wrong password is recorded, on purpose; nothing else is written
        except EditorialError:
            assert snapshot() == before, f"{name} refused but changed the database"
        transaction.set_rollback(True)


# --- Every service called as it should be, but with one argument poisoned -------------------------

P, A, INV, R = "person", "article", "invitation", "raw"

#: A call of each service that its policy and state allow, as (kind, label) pairs to build.
VALID_CALLS = {
    "services.check_transition": {"article": (A, "submitted"), "actor": (P, "editor"), "name": (R, "reject")},
    "services.article_submit": {"article": (A, "draft"), "actor": (P, "author")},
    "services.article_resubmit": {"article": (A, "changes_requested"), "actor": (P, "author")},
    "services.article_start_review": {"article": (A, "submitted"), "actor": (P, "editor")},
    "services.article_approve": {
        "article": (A, "ready"),
        "actor": (P, "editor"),
        "password": (R, "pw"),
        "request": ("request", None),
    },
    "services.article_request_changes": {"article": (A, "ready"), "actor": (P, "editor"), "reason": (R, "Doses.")},
    "services.article_reject": {"article": (A, "submitted"), "actor": (P, "editor"), "reason": (R, "Out of scope.")},
    "services.article_withdraw": {"article": (A, "draft"), "actor": (P, "author"), "reason": (R, "Not needed.")},
    "services.article_retract": {"article": (A, "approved"), "actor": (P, "editor"), "reason": (R, "Changed.")},
    "services.article_revise": {"article": (A, "approved"), "actor": (P, "author")},
    "services.article_discard_revision": {"article": (A, "revision"), "actor": (P, "author")},
    "services.article_transition": {
        "article": (A, "submitted"),
        "actor": (P, "editor"),
        "name": (R, "reject"),
        "reason": (R, "Out of scope."),
    },
    "services.article_save": {"article": (A, "draft"), "actor": (P, "author"), "expected_row_version": (R, 1)},
    "services.article_create": {
        "actor": (P, "author"),
        "fields": (R, {"title": "A new question?", "body": "Text [1]."}),
        "references": (R, [{"title": "A source", "year": 2024}]),
    },
    "services.article_update": {
        "article": (A, "draft"),
        "actor": (P, "author"),
        "fields": (R, {"summary": "Changed."}),
        "expected_row_version": (R, 1),
    },
    "provenance.provenance_declare": {
        "article": (A, "draft"),
        "actor": (P, "author"),
        "provenance": (R, {"tool": "MedDraft", "model": "gpt-4o", "sections": ["body"]}),
    },
    "questions.question_ask": {"article": (A, "approved"), "text": (R, "Does this apply to children?")},
    "questions.question_dismiss": {
        "question": ("question", "open"),
        "actor": (P, "editor"),
        "reason": (R, "Out of scope."),
    },
    "questions.question_merge": {
        "question": ("question", "open"),
        "actor": (P, "editor"),
        "into": ("question", "other"),
    },
    "questions.question_commission": {"question": ("question", "open"), "actor": (P, "editor")},
    "questions.question_claim": {"question": ("question", "commissioned"), "actor": (P, "author")},
    "references.references_replace": {
        "article": (A, "draft"),
        "actor": (P, "author"),
        "references": (R, [{"title": "Another source"}]),
    },
    "references.references_save": {
        "article": (A, "draft"),
        "actor": (P, "author"),
        "saved": (R, "new-reference"),
        "deleted": (R, []),
        "reason": (R, "Sources."),
    },
    "board.invitation_create": {
        "article": (A, "submitted"),
        "actor": (P, "editor"),
        "reviewers": ("list", [(P, "member")]),
    },
    "board.invitation_accept": {
        "invitation": (INV, "invited"),
        "actor": (P, "second_reviewer"),
        "conflict": (R, "none"),
    },
    "board.invitation_decline": {
        "invitation": (INV, "invited"),
        "actor": (P, "second_reviewer"),
        "reason": (R, "Busy."),
    },
    "board.invitation_cancel": {"invitation": (INV, "invited"), "actor": (P, "editor"), "reason": (R, "Not needed.")},
    "board.invitation_expire": {"invitation": (INV, "invited")},
    "board.invitation_rule_conflict": {
        "invitation": (INV, "accepted"),
        "actor": (P, "editor"),
        "disqualifying": (R, True),
        "reason": (R, "Ruled."),
    },
    "board.review_submit": {
        "invitation": (INV, "accepted"),
        "actor": (P, "reviewer"),
        "recommendation": (R, "minor_revisions"),
        "comments_to_author": (R, "Add the doses."),
    },
}

POISON = st.one_of(st.just("a\x00b"), st.just("x" * 200_000), st.just(""), JUNK)


def test_every_service_has_a_valid_call_to_poison():
    assert sorted(VALID_CALLS) == [name for name, _ in SERVICES]


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(VALID_CALLS))
def test_each_valid_call_goes_through(cast, name):
    """The calls the poisoned test starts from are right: unpoisoned, each succeeds."""
    service = dict(SERVICES)[name]
    draft_version = Article.objects.get(pk=cast["articles"]["draft"]).row_version
    kwargs = {key: build(value, cast, draft_version) for key, value in VALID_CALLS[name].items()}
    if name == "board.invitation_expire":
        with pytest.raises(EditorialError, match="can still be answered"):
            service(**kwargs)
    elif name == "board.invitation_rule_conflict":
        with pytest.raises(EditorialError, match="declared no competing interests"):
            service(**kwargs)
    else:
        service(**kwargs)


def build(value, cast, draft_version: int):
    kind, label = value
    if (kind, label) == (R, "new-reference"):
        return [Reference(title="A new source")]
    if kind == R and isinstance(label, int) and not isinstance(label, bool) and label == 1:
        return draft_version  # the expected_row_version of the draft as it is now
    return realise(value, cast)


@pytest.mark.django_db
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_a_valid_call_with_one_poisoned_argument_raises_only_project_errors(cast, data):
    name, service = data.draw(st.sampled_from(SERVICES), label="service")
    call = dict(VALID_CALLS[name])
    parameters = [p for p in inspect.signature(service).parameters.values() if p.kind is not p.VAR_KEYWORD]
    poisoned = data.draw(st.sampled_from([None, *(p.name for p in parameters)]), label="poisoned argument")
    with transaction.atomic():
        draft_version = Article.objects.get(pk=cast["articles"]["draft"]).row_version
        kwargs = {key: build(value, cast, draft_version) for key, value in call.items()}
        if poisoned == "fields":  # one content field poisoned, or the whole mapping
            field = data.draw(st.sampled_from(["title", "slug", "summary", "body", "specialty"]), label="field")
            kwargs[poisoned] = data.draw(st.one_of(POISON.map(lambda v: {field: v}), POISON), label=poisoned)
        elif poisoned == "references":  # one reference's field poisoned, or the whole list
            field = data.draw(st.sampled_from(["title", "doi", "url", "year"]), label="reference field")
            kwargs[poisoned] = data.draw(st.one_of(POISON.map(lambda v: [{field: v}]), POISON), label=poisoned)
        elif poisoned is not None:
            kwargs[poisoned] = data.draw(POISON, label=poisoned)
        before = snapshot()
        try:
            service(**kwargs)
        except SignatureRefused:
            pass
        except EditorialError:
            assert snapshot() == before, f"{name} refused but changed the database"
        transaction.set_rollback(True)
