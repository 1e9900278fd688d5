"""Who may do what: the one place every door asks (admin, API, tasks, services).

Roles are Django groups. Nobody acts on an article they wrote, whatever roles they hold, and
a superuser acts in the workflow only through the roles they hold (PRODUCT.md).
"""

from enum import StrEnum
from functools import partial

from django.db.models import Q, QuerySet

from articles.models import EDITABLE_STATES, Article
from editorial.exceptions import NotPermitted


class Role(StrEnum):
    AUTHOR = "Authors"
    BOARD = "Medical Advisory Board"
    EDITOR = "Editors"
    AUDITOR = "Auditors"


def roles(user) -> frozenset[Role]:
    """The editorial roles a user holds, read once per user object."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, "_editorial_roles", None)
    if cached is None:
        names = user.groups.filter(name__in=list(Role)).values_list("name", flat=True)
        cached = frozenset(Role(name) for name in names)
        user._editorial_roles = cached
    return cached


def has_role(user, *wanted: Role) -> bool:
    return not roles(user).isdisjoint(wanted)


def _is_author_of(user, article: Article) -> bool:
    return article.author_id == user.pk


# --- Transitions -------------------------------------------------------------------------

OWNER_TRANSITIONS = frozenset({"submit", "resubmit", "withdraw"})
EDITOR_TRANSITIONS = frozenset({"start_review", "approve", "request_changes", "reject", "retract"})


def transition_refusal(user, article: Article, name: str) -> str | None:
    """Why ``user`` may not fire transition ``name`` on ``article``; None when they may."""
    mine = _is_author_of(user, article)
    if name in OWNER_TRANSITIONS:
        if mine and has_role(user, Role.AUTHOR, Role.EDITOR):
            return None
        return f"Only the article's author can {_verb(name)} it."
    if name == "revise":
        if has_role(user, Role.EDITOR) or (mine and has_role(user, Role.AUTHOR)):
            return None
        return "Only the article's author or an editor can open a revision."
    if name in EDITOR_TRANSITIONS:
        if not has_role(user, Role.EDITOR):
            return f"Only an editor can {_verb(name)} an article."
        if mine:
            return f"You wrote this article, so you cannot {_verb(name)} it."
        return None
    return f"There is no transition called {name!r}."


def may_fire(user, article: Article, name: str) -> bool:
    return transition_refusal(user, article, name) is None


def require_transition(user, article: Article, name: str) -> None:
    refusal = transition_refusal(user, article, name)
    if refusal:
        raise NotPermitted(refusal)


def available_transitions(user, article: Article) -> list:
    """Transitions this user may take now: the machine's answer, filtered by the policy."""
    return list(article.get_available_user_status_transitions(user))


def install_transition_policy(model) -> None:
    """Point each transition's ``permission`` hook of the model at this policy."""
    for transition in model._meta.get_field("status").get_all_transitions(model):
        transition.permission = partial(_fsm_permission, name=transition.name)


def _fsm_permission(instance, user, *, name: str) -> bool:
    return may_fire(user, instance, name)


def _verb(name: str) -> str:
    return name.replace("_", " ")


# --- Content and visibility --------------------------------------------------------------


def may_create_article(user) -> bool:
    return has_role(user, Role.AUTHOR, Role.EDITOR)


def content_refusal(user, article: Article) -> str | None:
    """Why ``user`` may not edit the content of ``article`` now; None when they may."""
    own = _is_author_of(user, article) and has_role(user, Role.AUTHOR)
    if not (own or has_role(user, Role.EDITOR)):
        return "Only the article's author or an editor can edit it."
    if article.status not in EDITABLE_STATES:
        return (
            f"The article is {article.get_status_display().lower()}: its content can be "
            "edited only in draft or after changes were requested."
        )
    return None


def may_edit_content(user, article: Article) -> bool:
    return content_refusal(user, article) is None


def require_content_edit(user, article: Article) -> None:
    refusal = content_refusal(user, article)
    if refusal:
        raise NotPermitted(refusal)


def sees_every_article(user) -> bool:
    return has_role(user, Role.EDITOR, Role.AUDITOR)


def visible_articles(user, queryset: QuerySet | None = None) -> QuerySet:
    """The articles a user may see in the workspace, history and API included."""
    queryset = Article.objects.all() if queryset is None else queryset
    if sees_every_article(user):
        return queryset
    if has_role(user, Role.AUTHOR):
        return queryset.filter(Q(author=user))
    return queryset.none()


def may_view_article(user, article: Article) -> bool:
    """The same rule as ``visible_articles``, for one article already in hand."""
    if sees_every_article(user):
        return True
    return has_role(user, Role.AUTHOR) and _is_author_of(user, article)


def may_export_audit(user) -> bool:
    return has_role(user, Role.EDITOR, Role.AUDITOR)
