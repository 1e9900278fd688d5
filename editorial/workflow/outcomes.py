"""What each transition of an article causes beyond its state change, and what it asks of the editor.

The state machine itself is on the model (``articles.models.Article``); the services
(``editorial.workflow.services``) fire it and write what ``OUTCOMES`` says.
"""

from dataclasses import dataclass

from articles.models import Article
from editorial.models import EventKind


@dataclass(frozen=True)
class TransitionOutcome:
    name: str
    event: str | None = None
    default_reason: str = ""


#: What each transition causes beyond the state change.
OUTCOMES = {
    "submit": TransitionOutcome("submit", EventKind.SUBMITTED, "Submitted for review"),
    "resubmit": TransitionOutcome("resubmit", EventKind.SUBMITTED, "Resubmitted with changes"),
    "start_review": TransitionOutcome("start_review", None, "Review started"),
    "approve": TransitionOutcome("approve", EventKind.DECISION, "Approved"),
    "request_changes": TransitionOutcome("request_changes", EventKind.DECISION),
    "reject": TransitionOutcome("reject", EventKind.DECISION),
    "withdraw": TransitionOutcome("withdraw", EventKind.WITHDRAWN),
    "retract": TransitionOutcome("retract", EventKind.RETRACTED),
    "revise": TransitionOutcome("revise", None, "Revision opened"),
    "discard_revision": TransitionOutcome("discard_revision", None, "Revision discarded"),
}


def reason_is_required(name: str) -> bool:
    """Whether firing ``name`` needs the actor's reason (the machine says ``custom={"reason": "required"}``)."""
    method = getattr(Article, name)
    return any(t.custom.get("reason") == "required" for t in method._django_fsm.transitions.values())
