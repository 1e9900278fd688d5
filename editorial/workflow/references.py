"""An article's numbered references: replaced as a whole list (API) or edited one by one (workspace).

Each reference's number is its rank in the ordered list: what the text's ``[n]`` cites.
"""

from collections.abc import Iterable, Mapping

from django.db import transaction
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from accounts import identity
from articles import content
from articles.models import Article, Reference
from editorial.workflow import permissions
from editorial.workflow.audit import set_audit_context
from editorial.workflow.contract import boundary, reference_copies
from editorial.workflow.exceptions import InvalidInput


@boundary
def references_replace(*, article: Article, actor, references: Iterable[Mapping], reason: str = "") -> list[Reference]:
    """Make the article's reference list exactly ``references``, in order, with history.

    Only who may edit the article's content now may (editorial.workflow.permissions); at most ``MAX_REFERENCES``.
    Bulk writes: the number of queries does not grow with the number of references.
    Raises ``NotPermitted``, ``NotFound`` or ``InvalidInput``.
    """
    if references is None:
        raise InvalidInput("References: give the whole list (an empty list removes them all).")
    with transaction.atomic():
        current = Article.objects.select_for_update(of=("self",)).get(pk=article.pk)
        permissions.require_content_edit(actor, current)
        return write_references(
            article=current,
            actor=actor,
            wanted=list(references),
            existing=list(current.references.all()),
            reason=reason.strip() or "References edited",
        )


def write_references(*, article, actor, wanted: list, existing: list, reason: str) -> list[Reference]:
    """Write ``wanted`` (checked by the caller's boundary) over ``existing``: bulk, with history."""
    fields = [*content.REFERENCE_FIELDS, "position"]
    created, changed, result = [], [], []
    for position, data in enumerate(wanted, start=1):
        values = {field: data.get(field, None if field == "year" else "") for field in content.REFERENCE_FIELDS}
        values["position"] = position
        if position <= len(existing):
            reference = existing[position - 1]
            result.append(reference)
            if all(getattr(reference, key) == value for key, value in values.items()):
                continue
            changed.append(reference)
        else:
            reference = Reference(article=article)
            created.append(reference)
            result.append(reference)
        for key, value in values.items():
            setattr(reference, key, value)
        # The check constraint is the database's job; validating it here would cost a query.
        reference.full_clean(exclude=["article"], validate_constraints=False)
    credited = identity.history_fields(actor)  # bulk history skips the signal that fills these
    if created:
        bulk_create_with_history(
            created, Reference, default_user=actor, default_change_reason=reason, custom_historical_attrs=credited
        )
    if changed:
        bulk_update_with_history(
            changed,
            Reference,
            fields,
            default_user=actor,
            default_change_reason=reason,
            custom_historical_attrs=credited,
        )
    for reference in existing[len(wanted) :]:
        set_audit_context(reference, actor=actor, reason=reason)
        reference.delete()
    return result


@boundary(saved=reference_copies)
def references_save(
    *, article: Article, actor, saved: Iterable[Reference], deleted: Iterable[Reference], reason: str
) -> None:
    """Write references edited one by one (the workspace's inline list), with history.

    Raises ``InvalidInput`` if the article would then hold more than ``MAX_REFERENCES``.
    """
    permissions.require_content_edit(actor, article)
    reason = reason.strip() or "References edited"
    with transaction.atomic():
        for reference in deleted:
            set_audit_context(reference, actor=actor, reason=reason)
            reference.delete()
        for reference in saved:
            reference.article = article
            set_audit_context(reference, actor=actor, reason=reason)
            reference.save()
        if saved and article.references.count() > content.MAX_REFERENCES:
            raise InvalidInput(
                f"An article holds at most {content.MAX_REFERENCES} references, so each stays citable as [n].",
                fields={"references": "too many"},
            )
