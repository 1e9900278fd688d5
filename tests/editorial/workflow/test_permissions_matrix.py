"""Every transition × every role: allowed where the product's rules say so, refused everywhere else."""

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
    "discard_revision": ("revision", "approved", ""),
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
    "discard_revision": {"owner_author", "editor"},
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
            {"ready": "under_review", "revision": "draft"}.get(source, source),
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
        if name == "discard_revision":  # from a review state, but only with an approved version
            with pytest.raises(WrongState, match="never approved: there is no revision to discard"):
                services.article_transition(article=article, actor=actor, name=name, reason=reason)
            return
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
    """The transitions declared on the model are exactly the ones the README's "The review status" draws."""
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
        ("discard_revision", "draft", "approved"),
        ("discard_revision", "submitted", "approved"),
        ("discard_revision", "under_review", "approved"),
        ("discard_revision", "changes_requested", "approved"),
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


# --- No side channels: what a filter, search, sort, count or autocomplete answers -------------
#
# A probe asks a page about something the role may not see (another author's article, who
# reviews an article, whether its quorum is reached) and about something that does not exist.
# The answers must be the same, on every list page and every autocomplete; a filter not
# offered to the role must change nothing at all.

SECRET_TITLE, SECRET_REFERENCE = "Zephyr", "Quagga"


@pytest.fixture
def scene(in_state, author, other_author, editor, reviewers, board_member, auditor, superuser):
    """The author's article under review (quorum reached, an unanswered invitation, an overdue
    review) and a draft; another author's submitted article; people in every role."""
    from datetime import timedelta

    from django.utils import timezone

    from editorial.workflow import board
    from reviewers.models import Invitation
    from tests.factories import make_board_member

    ready = in_state("ready")
    grace = make_board_member("reviewer3", "Grace Adeyemi", "PharmD")
    jonas = make_board_member("reviewer4", "Jonas Becker", "MD, PhD")
    board.invitation_create(article=ready, actor=editor, reviewers=[grace, jonas])
    late = Invitation.objects.get(article=ready, reviewer=jonas)
    board.invitation_accept(invitation=late, actor=jonas, conflict="none")
    Invitation.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(days=2))
    draft = make_article(author, title="Is a draft about zinc visible?")
    theirs = make_article(other_author, title=f"Does {SECRET_TITLE} help?", references=1)
    services.references_replace(
        article=theirs, actor=other_author, references=[{"title": f"{SECRET_REFERENCE} trial"}], reason="Source"
    )
    services.article_submit(article=theirs, actor=other_author)
    return {
        "articles": {"ready": ready, "draft": draft, "theirs": theirs},
        "people": {
            "owner_author": author,
            "other_author": other_author,
            "invited_member": reviewers[0],
            "uninvited_member": board_member,
            "editor": editor,
            "auditor": auditor,
            "superuser": superuser,
        },
    }


ROLES = ["owner_author", "other_author", "invited_member", "uninvited_member", "editor", "auditor", "superuser"]
NOT_THEIR_ARTICLE = {"owner_author", "invited_member", "uninvited_member"}
NOT_THE_BOARDS_BUSINESS = {"owner_author", "other_author", "invited_member", "uninvited_member"}

#: (parameter, a value naming what is hidden, a value naming nothing, roles it is hidden from)
PROBES = [
    ("q", SECRET_TITLE, "Xylophone", NOT_THEIR_ARTICLE),
    ("q", SECRET_REFERENCE, "Xylophone", NOT_THEIR_ARTICLE),
    ("author", "other_author", "nobody", NOT_THEIR_ARTICLE),
    ("reviewer", "Grace Adeyemi", "Nobody Atall", NOT_THE_BOARDS_BUSINESS),
    ("reviewer", "reviewer3", "nobody", NOT_THE_BOARDS_BUSINESS),
    ("reviewer", "Becker", "Nobody", NOT_THE_BOARDS_BUSINESS),
]


def list_pages() -> list[str]:
    from django.contrib import admin
    from django.urls import reverse

    return sorted(
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist") for model in admin.site._registry
    ) + ["/admin/inbox/", "/admin/"]


def autocompletes() -> list[str]:
    """Every autocomplete the admin would answer: each foreign key to a searchable model admin."""
    from django.contrib import admin

    found = []
    for model in admin.site._registry:
        for field in model._meta.get_fields():
            remote = getattr(field, "related_model", None)
            if field.concrete and remote in admin.site._registry and admin.site._registry[remote].search_fields:
                label = model._meta
                found.append(
                    f"/admin/autocomplete/?app_label={label.app_label}&model_name={label.model_name}"
                    f"&field_name={field.name}"
                )
    return found


def answer(client, url: str):
    """What a page tells: its status, where it sends you, and which rows it lists."""
    response = client.get(url)
    context = getattr(response, "context", None) or {}
    rows = None
    if "cl" in context:
        rows = sorted(obj.pk for obj in context["cl"].result_list)
    elif response.get("Content-Type", "").startswith("application/json"):
        rows = sorted(str(result["id"]) for result in response.json().get("results", []))
    return response.status_code, response.headers.get("Location", ""), rows


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_no_page_answers_differently_about_what_the_role_may_not_see(role, scene, client):
    client.force_login(scene["people"][role])
    pages = list_pages() + [f"{url}&term=" for url in autocompletes()]
    for page in pages:
        joiner = "&" if "?" in page else "?"
        for parameter, hidden, nothing, hidden_from in PROBES:
            if role not in hidden_from:
                continue
            if page.endswith("&term="):
                hit, miss = answer(client, page + hidden), answer(client, page + nothing)
            else:
                hit = answer(client, f"{page}{joiner}{parameter}={hidden}")
                miss = answer(client, f"{page}{joiner}{parameter}={nothing}")
            assert hit == miss, (page, parameter, hidden)


@pytest.mark.django_db
@pytest.mark.parametrize("role", sorted(NOT_THEIR_ARTICLE))
def test_no_page_shows_an_article_the_role_may_not_see(role, scene, client):
    client.force_login(scene["people"][role])
    for page in list_pages():
        for query in ("", "?_facets=1", "?q=Does", "?q=trial", "?o=-1", "?e=1"):  # words of the secrets
            html = client.get(page + query, follow=True).content.decode()
            assert SECRET_TITLE not in html and SECRET_REFERENCE not in html, page + query
    for url in autocompletes():
        body = client.get(f"{url}&term=Does").content.decode()
        assert SECRET_TITLE not in body, url


@pytest.mark.django_db
@pytest.mark.parametrize("role", sorted(NOT_THE_BOARDS_BUSINESS))
def test_filters_not_offered_to_a_role_change_nothing(role, scene, client):
    """The issue's probe: the author's ?reviewer=Grace Adeyemi listed the article, ?reviewer=nobody did not."""
    client.force_login(scene["people"][role])
    url = "/admin/articles/article/"
    without = answer(client, url)
    page = client.get(url).content.decode()
    assert 'name="reviewer"' not in page and "Ready for decision" not in page and "overdue review" not in page
    for query in (
        "reviewer=Grace Adeyemi",
        "reviewer=reviewer3",
        "reviewer=Priya Raman",
        "reviewer=Becker",
        "stage=ready",
        "stage=overdue",
    ):
        assert answer(client, f"{url}?{query}") == without, query


@pytest.mark.django_db
def test_the_authors_reviewer_probe_lists_the_same_as_without_it(scene, client):
    client.force_login(scene["people"]["owner_author"])
    mine = sorted(a.pk for a in (scene["articles"]["ready"], scene["articles"]["draft"]))
    url = "/admin/articles/article/"
    assert answer(client, url)[2] == mine
    assert answer(client, f"{url}?reviewer=Grace Adeyemi")[2] == mine
    assert answer(client, f"{url}?reviewer=nobody")[2] == mine


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["editor", "auditor"])
def test_editors_and_auditors_keep_the_reviewer_and_board_stage_filters(role, scene, client):
    client.force_login(scene["people"][role])
    url = "/admin/articles/article/"
    ready = [scene["articles"]["ready"].pk]
    assert answer(client, f"{url}?reviewer=Grace Adeyemi")[2] == ready
    assert answer(client, f"{url}?stage=ready")[2] == ready
    assert answer(client, f"{url}?stage=overdue")[2] == ready


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_sorting_the_article_list_never_changes_which_rows_it_holds(role, scene, client):
    client.force_login(scene["people"][role])
    url = "/admin/articles/article/"
    status, _, rows = answer(client, url)
    for column in range(1, 7):
        for order in (f"{column}", f"-{column}"):
            assert answer(client, f"{url}?o={order}") == (status, "", rows), order


@pytest.mark.django_db
def test_the_api_list_ignores_the_workspace_filters(scene):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(scene["people"]["owner_author"])
    ids = lambda query: sorted(a["id"] for a in api.get(f"/api/v1/articles/{query}").json()["results"])  # noqa: E731
    assert (
        ids("?reviewer=Grace Adeyemi")
        == ids("?reviewer=nobody")
        == ids("")
        == sorted(a.pk for a in (scene["articles"]["ready"], scene["articles"]["draft"]))
    )
