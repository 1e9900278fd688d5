"""Discarding a revision: the working text goes back to the approved version readers see.

``article_discard_revision`` (editorial.workflow.services) returns an article in revision to
``approved``: its working text and references are restored from the published version, the
round in progress closes (its invitations end), and the public page never changes. Only
``retract`` takes approved content off the site: ``withdraw`` is for articles never approved.
"""

from articles.models import Article, Specialty
from editorial.workflow.approval import recount_signatures
from editorial.workflow.references import write_references


def refusal(article: Article, name: str) -> str | None:
    """Why transition ``name`` may not take ``article`` where it asks (a 409's message), or None.

    ``withdraw`` of an article with an approved version, ``discard_revision`` of one without.
    """
    if name == "withdraw" and article.published_version_id:
        return (
            "This article has an approved version that readers see: withdrawing cannot take it off "
            "the site. Discard the revision to return to the approved version; only an editor's "
            "retraction removes approved content."
        )
    if name == "discard_revision" and not article.published_version_id:
        return "This article was never approved: there is no revision to discard (withdraw it instead)."
    return None


def restore_published(article: Article, actor) -> None:
    """Put the published version's content back into the locked ``article``'s working text.

    Title, summary, both texts and the specialty (by the name the version recorded; left as it
    is if no specialty has that name any more) are set on ``article`` for the caller to save
    with the transition; the reference list is rewritten at once, with history, by ``actor``.
    ``article.published_version`` must exist (the transition's condition). The count of valid
    signatures is that of the published version again (it is the current version once more).
    """
    data = article.published_version.content
    for field in ("title", "summary", "body", "patient_body"):
        setattr(article, field, data.get(field, ""))
    name = data.get("specialty", "")
    if not name:
        article.specialty = None
    elif not (article.specialty_id and article.specialty.name == name):
        article.specialty = Specialty.objects.filter(name=name).first() or article.specialty
    write_references(
        article=article,
        actor=actor,
        wanted=list(data.get("references", [])),
        existing=list(article.references.all()),
        reason="Revision discarded: references of the approved version restored",
    )
    recount_signatures(article)
