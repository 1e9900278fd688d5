"""Why an editorial action was refused. Each maps to its own message and HTTP status."""


class EditorialError(Exception):
    """An action refused with a message meant for the person who tried it."""

    http_status = 400
    code = "invalid"

    def __init__(self, message: str, *, problems: list[str] | tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        #: Each thing to put right, one sentence each (the API returns them as a list).
        self.problems = list(problems)


class NotPermitted(EditorialError):
    """The wrong person: their role or their relation to the article forbids it."""

    http_status = 403
    code = "not_permitted"


class WrongState(EditorialError):
    """The wrong moment: the article's status does not allow this transition."""

    http_status = 409
    code = "wrong_state"


class NotReady(EditorialError):
    """The right moment, but a condition of the transition does not hold yet."""

    http_status = 409
    code = "not_ready"


class CitationsIncomplete(NotReady):
    """The citation gate: a [n] with no reference, or a reference nothing cites (articles.citations)."""

    code = "citations"

    def __init__(self, problems) -> None:
        problems = list(problems)
        super().__init__("Every citation must match a reference: " + " ".join(problems), problems=problems)


class ContentRefused(EditorialError):
    """Text the renderer could not show as its author meant (articles.rendering): nothing was saved."""

    code = "content_refused"

    def __init__(self, problems) -> None:
        problems = list(problems)
        super().__init__("The text cannot be saved as it is: " + " ".join(problems), problems=problems)


class ChecklistIncomplete(EditorialError):
    """A review whose checklist does not say what its recommendation needs (nothing was signed)."""

    code = "checklist_incomplete"


class SourceUnavailable(EditorialError):
    """A reference could not be looked up: look-ups are off, or Crossref / PubMed did not answer."""

    http_status = 503
    code = "source_unavailable"


class StaleArticle(EditorialError):
    """A stale copy: someone changed the article after this copy was read."""

    http_status = 409
    code = "stale"


class ReasonRequired(EditorialError):
    """The action must say why."""

    http_status = 400
    code = "reason_required"


class NotFound(EditorialError):
    """What the action names does not exist (or is not visible to this person)."""

    http_status = 404
    code = "not_found"


class InvalidInput(EditorialError):
    """An argument is malformed: the wrong type, too long, a NUL character, an unknown field.

    ``fields`` maps each offending argument (or field) name to what is wrong with it.
    """

    http_status = 400
    code = "invalid_input"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = dict(fields or {})


class MissingAuditContext(RuntimeError):
    """A history row was about to be written without the acting user or a reason.

    A programming error, not a user error: every door must say who acts and why.
    """


class SignatureRefused(EditorialError):
    """The password given to sign was wrong: nothing was signed, the attempt was recorded."""

    http_status = 403
    code = "signature_refused"


class PasswordRequired(EditorialError):
    """A signature was asked for without the password: nothing was checked, nothing counted."""

    http_status = 400
    code = "password_required"


class AccountLocked(EditorialError):
    """The account is locked after too many failed attempts: it cannot sign until unlocked."""

    http_status = 403
    code = "account_locked"


class Ineligible(EditorialError):
    """The person chosen cannot take this part (a reviewer who is the author, a non-member ...)."""

    http_status = 400
    code = "ineligible"


class NotOnTheBoard(Ineligible):
    """A person chosen is not (or no longer) an active member of the board: nothing was sent."""

    http_status = 409
    code = "not_on_the_board"
