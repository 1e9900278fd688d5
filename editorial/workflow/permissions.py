"""Who may do what: the one place every door asks (admin, API, tasks, services).

Roles are Django groups. Nobody acts on an article they wrote, whatever roles they hold, and
a superuser acts in the workflow only through the roles they hold (README, the demo board).
"""

from enum import StrEnum
from functools import partial

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts import identity
from articles.models import EDITABLE_STATES, Article
from editorial.workflow.exceptions import NotPermitted
from editorial.workflow.system import SYSTEM_USERNAME
from reviewers.models import OPEN_OR_DONE, Invitation, Review


class Role(StrEnum):
    AUTHOR = "Authors"
    BOARD = "Medical Advisory Board"
    EDITOR = "Editors"
    AUDITOR = "Auditors"


_ROLE_NAMES = frozenset(Role)


def roles(user) -> frozenset[Role]:
    """The editorial roles a user holds, read once per user object."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, "_editorial_roles", None)
    if cached is None:
        cached = frozenset(Role(name) for name in identity.group_names(user) if name in _ROLE_NAMES)
        user._editorial_roles = cached
    return cached


def has_role(user, *wanted: Role) -> bool:
    return not roles(user).isdisjoint(wanted)


def _is_author_of(user, article: Article) -> bool:
    return article.author_id == user.pk


# --- Transitions -------------------------------------------------------------------------

OWNER_TRANSITIONS = frozenset({"submit", "resubmit", "withdraw"})
EDITOR_TRANSITIONS = frozenset({"approve", "request_changes", "reject", "retract"})


def transition_refusal(user, article: Article, name: str) -> str | None:
    """Why ``user`` may not fire transition ``name`` on ``article``; None when they may."""
    mine = _is_author_of(user, article)
    if name in OWNER_TRANSITIONS:
        if mine and has_role(user, Role.AUTHOR, Role.EDITOR):
            return None
        return f"Only the article's author can {_verb(name)} it."
    if name == "start_review":
        # An editor starts it, or the system does when the first board member accepts (the
        # system acts so that no reviewer's name reaches the author before approval).
        if is_system(user):
            return None
        if mine:
            return "You wrote this article, so you cannot start its review."
        if has_role(user, Role.EDITOR):
            return None
        return "Only an editor can start the review (it also starts when a reviewer accepts)."
    if name in ("revise", "discard_revision"):
        if has_role(user, Role.EDITOR) or (mine and has_role(user, Role.AUTHOR)):
            return None
        return f"Only the article's author or an editor can {'open' if name == 'revise' else 'discard'} a revision."
    if name in EDITOR_TRANSITIONS:
        if not has_role(user, Role.EDITOR):
            return f"Only an editor can {_verb(name)} an article."
        if mine:
            return f"You wrote this article, so you cannot {_verb(name)} it."
        return None
    return f"There is no transition called {name!r}."


def is_system(user) -> bool:
    return getattr(user, "username", None) == SYSTEM_USERNAME and not user.is_active


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


def content_role_refusal(user, article: Article) -> str | None:
    """Why ``user`` may never edit ``article``, whatever its state; None when their role allows."""
    own = _is_author_of(user, article) and has_role(user, Role.AUTHOR)
    if not (own or has_role(user, Role.EDITOR)):
        return "Only the article's author or an editor can edit it."
    return None


def content_refusal(user, article: Article) -> str | None:
    """Why ``user`` may not edit the content of ``article`` now; None when they may."""
    refusal = content_role_refusal(user, article)
    if refusal:
        return refusal
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


def _invited(user):
    """Articles this board member is invited to, while the invitation is open or completed."""
    return Exists(Invitation.objects.filter(article=OuterRef("pk"), reviewer=user, status__in=OPEN_OR_DONE))


def visible_articles(user, queryset: QuerySet | None = None) -> QuerySet:
    """The articles a user may see in the workspace, history and API included."""
    queryset = Article.objects.all() if queryset is None else queryset
    if sees_every_article(user):
        return queryset
    rule = Q(pk__in=[])
    if has_role(user, Role.AUTHOR):
        rule |= Q(author=user)
    if has_role(user, Role.BOARD):
        rule |= _invited(user)
    return queryset.filter(rule)


def may_view_article(user, article: Article) -> bool:
    """The same rule as ``visible_articles``, for one article already in hand."""
    if sees_every_article(user):
        return True
    if has_role(user, Role.AUTHOR) and _is_author_of(user, article):
        return True
    return has_role(user, Role.BOARD) and (
        Invitation.objects.filter(article=article, reviewer=user, status__in=OPEN_OR_DONE).exists()
    )


def may_export_audit(user) -> bool:
    return has_role(user, Role.EDITOR, Role.AUDITOR)


def may_operate_accounts(user) -> bool:
    """Operators (active superusers) keep accounts: create, deactivate, roles, reset links, unlock."""
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def may_read_security_log(user) -> bool:
    """The security log (account acts, lockouts, failed signatures): auditors read and export it."""
    return has_role(user, Role.AUDITOR)


def may_operate_notifications(user) -> bool:
    """Retrying dead deliveries: the editors, and the operators who run the system."""
    return has_role(user, Role.EDITOR) or bool(user.is_active and user.is_superuser)


# --- Readers' questions ------------------------------------------------------------------


def may_triage_questions(user) -> bool:
    """Editors dismiss, merge and commission readers' questions."""
    return has_role(user, Role.EDITOR)


def require_question_triage(user) -> None:
    """Raises NotPermitted (403) unless ``user`` may triage readers' questions (editors)."""
    if not may_triage_questions(user):
        raise NotPermitted("Only editors can dismiss, merge or commission readers' questions.")


def may_claim_question(user) -> bool:
    """Authors, and drafting pipelines' accounts (which hold the Authors role), claim commissions."""
    return has_role(user, Role.AUTHOR)


def sees_questions(user) -> bool:
    """Whether the questions' queue appears for ``user`` at all (what it holds: ``visible_questions``)."""
    return has_role(user, Role.EDITOR, Role.AUDITOR, Role.AUTHOR)


def visible_questions(user, queryset: QuerySet):
    """The queue a user may see: editors and auditors all of it; authors the commissions open to
    claim and those they claimed; nobody else anything."""
    if has_role(user, Role.EDITOR, Role.AUDITOR):
        return queryset
    if has_role(user, Role.AUTHOR):
        return queryset.filter(Q(status="commissioned") | Q(claimed_by=user))
    return queryset.none()


# --- The board ---------------------------------------------------------------------------


def invite_refusal(user, article: Article) -> str | None:
    """Why ``user`` may not invite reviewers to (or cancel invitations on) ``article``."""
    if not has_role(user, Role.EDITOR):
        return "Only an editor can invite reviewers."
    if _is_author_of(user, article):
        return "You wrote this article, so you cannot choose its reviewers."
    return None


def require_invite(user, article: Article) -> None:
    refusal = invite_refusal(user, article)
    if refusal:
        raise NotPermitted(refusal)


def reviewer_refusal(user, invitation: Invitation) -> str | None:
    """Why ``user`` may not answer, review or sign on ``invitation``."""
    if invitation.reviewer_id != user.pk or not has_role(user, Role.BOARD):
        return "Only the invited board member can answer this invitation or review."
    if invitation.article.author_id == user.pk:
        return "You wrote this article, so you cannot review it."
    return None


def require_reviewer(user, invitation: Invitation) -> None:
    refusal = reviewer_refusal(user, invitation)
    if refusal:
        raise NotPermitted(refusal)


def may_read_confidential(user, review: Review) -> bool:
    """Confidential comments: the editors, the auditors and the reviewer who wrote them."""
    return sees_every_article(user) or review.invitation.reviewer_id == user.pk


def visible_invitations(user, queryset: QuerySet | None = None) -> QuerySet:
    """Invitations a user may see: editors and auditors all, a board member their own."""
    queryset = Invitation.objects.all() if queryset is None else queryset
    if sees_every_article(user):
        return queryset
    if has_role(user, Role.BOARD):
        return queryset.filter(reviewer=user)
    return queryset.none()
