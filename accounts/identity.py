"""Who someone is on the record: the name and roles an act is credited to, as they were then.

Records keep these words themselves (21 CFR Part 11 §11.10(e): who did what, when), so that
renaming an account later changes no line of history; and an account's user name is frozen
once any record names it.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models

#: How a superuser is named among roles: an operator of the system, not an editorial role.
OPERATOR = "Operator"


def group_names(user) -> frozenset[str]:
    """The names of the groups (the editorial roles) ``user`` belongs to, read once per object."""
    if user is None or getattr(user, "pk", None) is None:
        return frozenset()
    cached = getattr(user, "_group_names", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._group_names = cached
    return cached


def display_name(user) -> str:
    """The account's full name, or its user name when it has none ("" for nobody)."""
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def role_label(user) -> str:
    """The roles ``user`` holds now, as a record keeps them: "Editors, Medical Advisory Board"."""
    if user is None:
        return ""
    names = sorted(group_names(user))
    if user.is_superuser:
        names.append(OPERATOR)
    return ", ".join(names)


def account_label(user) -> str:
    """An account as a log names it: "editor (Helen Okafor)"."""
    if user is None:
        return ""
    name = user.get_full_name()
    return f"{user.get_username()} ({name})" if name else user.get_username()


@dataclass(frozen=True)
class Snapshot:
    """A person as a record credits them: name and roles at the moment of the act."""

    name: str
    role: str


def snapshot(user) -> Snapshot:
    """Name and roles of ``user`` now, to be written into a record of what they do now."""
    return Snapshot(name=display_name(user), role=role_label(user))


def history_fields(user) -> dict[str, str]:
    """The actor columns of a history row (``ActorSnapshot``), e.g. for bulk-written history."""
    taken = snapshot(user)
    return {"history_actor_name": taken.name, "history_actor_role": taken.role}


class ActorSnapshot(models.Model):
    """Base of every history model: the acting person's name and roles as they were then.

    Filled from ``history_user`` when the row is written (``accounts.signals``), so a
    history page and an export read the words of the moment, not the account's today.
    """

    history_actor_name = models.CharField(max_length=300, blank=True, default="", db_default="")
    history_actor_role = models.CharField(max_length=300, blank=True, default="", db_default="")

    class Meta:
        abstract = True


# --- User names are frozen once a record names the account ----------------------------------


def _naming_relations():
    """Every relation through which a record names an account.

    Records protect the accounts they name (``on_delete=PROTECT``), and history rows name
    their acting user; settings and preferences (CASCADE) and the security log's own rows
    do not count.
    """
    relations = []
    for relation in get_user_model()._meta.get_fields(include_hidden=True):
        if not (relation.auto_created and not relation.concrete and (relation.one_to_many or relation.one_to_one)):
            continue
        if relation.related_model._meta.app_label == "accounts":
            continue
        if relation.on_delete is models.PROTECT or relation.field.name == "history_user":
            relations.append(relation)
    return relations


def is_on_record(user) -> bool:
    """Whether any record (history, transition, invitation, signature ...) names this account."""
    if user is None or user.pk is None:
        return False
    return any(
        relation.related_model._base_manager.filter(**{relation.field.name: user.pk}).exists()
        for relation in _naming_relations()
    )


def refuse_renaming_on_record(user) -> None:
    """Raise ValidationError if ``user``'s user name changed although a record names the account.

    Reads the stored user name (one query) only when the object is an existing account.
    """
    if user.pk is None:
        return
    stored = type(user)._base_manager.filter(pk=user.pk).values_list(user.USERNAME_FIELD, flat=True).first()
    if stored is None or stored == user.get_username():
        return
    if is_on_record(user):
        raise ValidationError(
            f"The user name {stored!r} is on record (history, signatures or invitations name it), "
            "so it cannot change. Change the person's name instead."
        )
