"""Every transition × every role: allowed where PRODUCT.md says so, refused everywhere else."""

import pytest
from django.contrib.auth.models import AnonymousUser

from articles.models import Article
from editorial.models import Event, TransitionRecord
from editorial.workflow import permissions, services
from editorial.workflow.exceptions import NotPermitted, NotReady, WrongState
from editorial.workflow.permissions import Role
from tests.factories import UserFactory, make_article, signing_request

#: transition -> (status it starts from, status it leads to, reason)
TRANSITIONS = {
    "submit": ("draft", "submitted", ""),
    "resubmit": ("changes_requested", "submitted", ""),
    "start_review": ("submitted", "under_review", ""),
    "approve": ("ready", "approved", ""),
    "request_changes": ("under_review", "changes_requested", "Please add doses."),
    "reject": ("submitted", "rejected", "Out of scope."),
    "withdraw": ("draft", "withdrawn", "No longer needed."),
    "retract": ("approved", "retracted", "Guidance changed."),
    "revise": ("approved", "draft", ""),
}

ACTORS = ["owner_author", "other_author", "board_member", "editor", "auditor", "superuser", "anonymous"]

ALLOWED = {
    "submit": {"owner_author"},
    "resubmit": {"owner_author"},
    "withdraw": {"owner_author"},
    "start_review": {"editor"},
    "approve": {"editor"},
    "request_changes": {"editor"},
    "reject": {"editor"},
    "retract": {"editor"},
    "revise": {"owner_author", "editor"},
}


@pytest.fixture
def actors(author, other_author, board_member, editor, auditor, superuser):
    return {
        "owner_author": author,
        "other_author": other_author,
        "board_member": board_member,
        "editor": editor,
        "auditor": auditor,
        "superuser": superuser,
        "anonymous": AnonymousUser(),
    }


def snapshot_counts(article: Article):
    return (
        Article.objects.get(pk=article.pk).status,
        article.history.count(),
        TransitionRecord.objects.filter(article=article).count(),
        Event.objects.filter(article=article).count(),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(TRANSITIONS))
@pytest.mark.parametrize("actor_key", ACTORS)
def test_transition_by_role(name, actor_key, actors, in_state):
    source, target, reason = TRANSITIONS[name]
    article = in_state(source)
    actor = actors[actor_key]
    before = snapshot_counts(article)

    if actor_key in ALLOWED[name]:
        assert permissions.may_fire(actor, article, name)
        assert name in [t.name for t in permissions.available_transitions(actor, article)]
        result = services.article_transition(
            article=article, actor=actor, name=name, reason=reason, password="pw", request=signing_request()
        )
        assert result.status == target
        record = TransitionRecord.objects.filter(article=article).latest("id")
        assert (record.transition, record.from_status, record.to_status, record.actor) == (
            name,
            "under_review" if source == "ready" else source,
            target,
            actor,
        )
    else:
        assert not permissions.may_fire(actor, article, name)
        assert name not in [t.name for t in permissions.available_transitions(actor, article)]
        with pytest.raises(NotPermitted) as refused:
            services.article_transition(
                article=article, actor=actor, name=name, reason=reason, password="pw", request=signing_request()
            )
        assert refused.value.http_status == 403
        assert snapshot_counts(article) == before


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["start_review", "approve", "request_changes", "reject", "retract"])
def test_editor_cannot_decide_on_own_article(name, in_state):
    """An editor who wrote the article is its author here: no decisions, whatever the role."""
    writer = UserFactory(username="writing_editor", roles=[Role.EDITOR, Role.AUTHOR])
    source, _, reason = TRANSITIONS[name]
    article = make_article(writer)
    if source != "draft":
        article = services.article_submit(article=article, actor=writer)
        article = in_state(source, article) if source != "submitted" else article
    with pytest.raises(NotPermitted, match="You wrote this article"):
        services.article_transition(
            article=article, actor=writer, name=name, reason=reason, password="pw", request=signing_request()
        )


@pytest.mark.django_db
def test_editor_may_submit_own_article(editor):
    article = make_article(editor)
    assert services.article_submit(article=article, actor=editor).status == "submitted"


ALL_STATES = [
    "ready",
    "draft",
    "submitted",
    "under_review",
    "changes_requested",
    "approved",
    "rejected",
    "withdrawn",
    "retracted",
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(TRANSITIONS))
@pytest.mark.parametrize("state", ALL_STATES)
def test_transition_from_every_state(name, state, in_state, author, editor):
    """From a state the machine does not allow, the permitted person gets WrongState."""
    sources = {t.source for t in Article._meta.get_field("status").get_all_transitions(Article) if t.name == name}
    article = in_state(state)
    actor = author if "owner_author" in ALLOWED[name] else editor
    state = article.status if state != "ready" else state
    reason = TRANSITIONS[name][2]
    if state in sources or (state == "ready" and "under_review" in sources):
        if name == "approve" and state == "under_review":
            with pytest.raises(NotReady, match="of the 2 board signatures"):
                services.article_transition(
                    article=article, actor=actor, name=name, reason=reason, password="pw", request=signing_request()
                )
            return
        services.article_transition(
            article=article, actor=actor, name=name, reason=reason, password="pw", request=signing_request()
        )
        return
    before = snapshot_counts(article)
    with pytest.raises(WrongState) as refused:
        services.article_transition(
            article=article, actor=actor, name=name, reason=reason, password="pw", request=signing_request()
        )
    assert refused.value.http_status == 409
    assert f"The article is {article.get_status_display().lower()}" in refused.value.message
    assert snapshot_counts(article) == before


def test_machine_matches_product_diagram():
    """The transitions declared on the model are exactly the ones PRODUCT.md draws."""
    declared = {(t.name, t.source, t.target) for t in Article._meta.get_field("status").get_all_transitions(Article)}
    assert declared == {
        ("submit", "draft", "submitted"),
        ("resubmit", "changes_requested", "submitted"),
        ("start_review", "submitted", "under_review"),
        ("approve", "under_review", "approved"),
        ("request_changes", "under_review", "changes_requested"),
        ("reject", "submitted", "rejected"),
        ("reject", "under_review", "rejected"),
        ("withdraw", "draft", "withdrawn"),
        ("withdraw", "submitted", "withdrawn"),
        ("withdraw", "under_review", "withdrawn"),
        ("withdraw", "changes_requested", "withdrawn"),
        ("retract", "approved", "retracted"),
        ("revise", "approved", "draft"),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("actor_key", ACTORS)
def test_visibility_rules_agree(actor_key, actors, author, other_author):
    """The queryset rule (lists) and the instance rule (single pages) give the same answer."""
    mine, theirs = make_article(author), make_article(other_author, title="Another question?")
    actor = actors[actor_key]
    visible = set(permissions.visible_articles(actor).values_list("pk", flat=True))
    for article in (mine, theirs):
        assert (article.pk in visible) == permissions.may_view_article(actor, article)
    expected = {
        "owner_author": {mine.pk},
        "other_author": {theirs.pk},
        "editor": {mine.pk, theirs.pk},
        "auditor": {mine.pk, theirs.pk},
    }.get(actor_key, set())
    assert visible == expected
