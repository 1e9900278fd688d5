"""Leaving the Medical Advisory Board ends that person's open invitations.

A member leaves when removed from the board's group or when their account is deactivated.
In the same transaction as that change, each of their invitations still ``invited`` or
``accepted`` becomes ``cancelled`` (reason "left the board") and the editors are told, once
per article (the product's rule "Reviews": obligations end when their reason ends).
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import m2m_changed, post_save

from articles.models import Article
from editorial.models import EventKind
from editorial.workflow import writes
from editorial.workflow.audit import set_audit_context
from editorial.workflow.events import build_event
from editorial.workflow.permissions import Role
from editorial.workflow.system import system_user
from reviewers.models import OPEN, Invitation

User = get_user_model()

LEFT_THE_BOARD = "left the board"


def holds_board_role(user) -> bool:
    """Active and in the board's group, read from the database (not a cached role set)."""
    return bool(user.is_active) and user.groups.filter(name=Role.BOARD).exists()


def member_left(user, *, why: str) -> list[int]:
    """Cancel every open invitation of ``user`` if they no longer hold the board role.

    ``why`` says how they left ("removed from the board", "account deactivated"); it is the
    history's reason and the editors' notice. Returns the ids cancelled (empty if the person
    is still a member, or had nothing open). Runs in the caller's transaction, or its own.
    """
    if holds_board_role(user):
        return []
    with transaction.atomic():
        # Their articles first, in id order, then the invitations: the order every board step
        # takes its locks in (``board._lock_invitation``), so the two never deadlock.
        article_ids = set(
            Invitation.objects.filter(reviewer=user, status__in=OPEN).values_list("article_id", flat=True)
        )
        if not article_ids:
            return []
        list(Article.objects.select_for_update(of=("self",)).filter(pk__in=article_ids).order_by("pk").values("pk"))
        open_ones = list(
            Invitation.objects.select_for_update(of=("self",)).filter(reviewer=user, status__in=OPEN).order_by("pk")
        )
        if not open_ones:
            return []
        actor = system_user()
        by_article: dict[int, list[Invitation]] = {}
        updates = []
        for invitation in open_ones:
            before = writes.values_of(invitation)
            invitation.cancel(reason=LEFT_THE_BOARD)
            invitation.row_version += 1
            set_audit_context(invitation, actor=actor, reason=f"Cancelled: the reviewer {why}")
            updates.append(
                writes.Update(invitation, writes.changed_fields(invitation, before), "status", before["status"])
            )
            by_article.setdefault(invitation.article_id, []).append(invitation)
        member = user.get_full_name() or user.get_username()
        events = [
            build_event(
                kind=EventKind.BOARD_MEMBER_LEFT,
                actor=actor,
                article=Article(pk=article_id),  # locked above; the event needs only its id
                payload={
                    "member": member,
                    "reason": why,
                    "invitations": [invitation.pk for invitation in invitations],
                    "round": max(invitation.review_round for invitation in invitations),
                },
            )
            for article_id, invitations in by_article.items()
        ]
        # Every invitation's change and history row, and an event per article: one statement (writes).
        writes.write_together(updates, events)
    return [invitation.pk for invitation in open_ones]


def _groups_changed(sender, *, instance, action, reverse, pk_set, **kwargs) -> None:
    if action not in ("post_remove", "post_clear"):
        return
    if reverse:  # group.user_set.remove(...): pk_set holds the users (None after a clear)
        if instance.name != Role.BOARD:
            return
        people = User.objects.filter(pk__in=pk_set) if pk_set else []
    else:
        people = [instance]
    for person in people:
        member_left(person, why="was removed from the Medical Advisory Board")


def _user_saved(sender, *, instance, created, **kwargs) -> None:
    if created or instance.is_active:
        return
    if Invitation.objects.filter(reviewer=instance, status__in=OPEN).exists():
        member_left(instance, why="was deactivated")


def connect() -> None:
    """Listen for group removals and deactivations (called once, from the app's ``ready``)."""
    m2m_changed.connect(_groups_changed, sender=User.groups.through, dispatch_uid="editorial-board-left-groups")
    post_save.connect(_user_saved, sender=User, dispatch_uid="editorial-board-left-active")
