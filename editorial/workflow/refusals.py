"""The words of a refusal: why a transition of the article cannot happen now."""

from articles.models import Article


def wrong_state_message(article: Article, name: str) -> str:
    """The 409's words when transition ``name`` does not start from the article's status."""
    labels = dict(Article._meta.get_field("status").choices)
    sources = [labels[source].lower() for source in getattr(Article, name)._django_fsm.transitions]
    return (
        f"The article is {article.get_status_display().lower()}: "
        f"it can be {past(name)} only when it is {' or '.join(sources)}."
    )


def past(name: str) -> str:
    """What transition ``name`` does, in the past participle ("returned for changes")."""
    return {
        "submit": "submitted",
        "resubmit": "resubmitted",
        "start_review": "taken into review",
        "approve": "approved",
        "request_changes": "returned for changes",
        "reject": "rejected",
        "withdraw": "withdrawn",
        "retract": "retracted",
        "revise": "revised",
        "discard_revision": "discarded (its revision)",
    }[name]
