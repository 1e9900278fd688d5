"""The contract at the services' boundary: every argument checked, only the project's errors out.

Each public service is wrapped with ``@boundary``. Before the service runs, every argument is
checked by its name against ``RULES`` (the actor is an active account; an article or an
invitation is a saved row; a text is a ``str`` without NUL within its length; a reference list
holds at most ``MAX_REFERENCES`` well-formed references ...). A malformed argument raises
``InvalidInput`` naming it, before anything is written. While the service runs, a row that
does not exist becomes ``NotFound`` and a model validation error becomes ``InvalidInput``,
so a door only ever sees ``EditorialError`` subclasses, each with its HTTP status.

A service whose argument has no rule cannot be decorated: adding an argument means saying
how it is checked.
"""

import inspect
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from functools import wraps

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.validators import validate_slug
from django.http import HttpRequest

from articles import content
from articles.models import Article, Reference, Specialty
from editorial.models import QUESTION_LIMIT, ReaderQuestion
from editorial.workflow.exceptions import InvalidInput, NotFound, NotPermitted
from editorial.workflow.system import SYSTEM_USERNAME
from reviewers.models import REVIEW_BOXES, Invitation

User = get_user_model()

#: The most board members one invitation call may name.
MAX_REVIEWERS = 50


def _fail(name: str, message: str):
    raise InvalidInput(f"{name.replace('_', ' ').capitalize()}: {message}", fields={name: message})


def text(limit: int, *, allow_none: bool = False) -> Callable[[str, object], None]:
    """A ``str`` of at most ``limit`` characters, without NUL (which no database stores)."""

    def check(name: str, value) -> None:
        if value is None and allow_none:
            return
        if not isinstance(value, str):
            _fail(name, f"expected text, got {type(value).__name__}.")
        if len(value) > limit:
            _fail(name, f"at most {limit:,} characters (got {len(value):,}).")
        if "\x00" in value:
            _fail(name, "contains a NUL character.")

    return check


def actor(name: str, value) -> None:
    """An account that exists and may act: active, or the system's own account."""
    if getattr(value, "is_anonymous", False) is True:
        raise NotPermitted("Log in to do this: nobody acts anonymously.")
    if not isinstance(value, User) or value.pk is None:
        _fail(name, "someone must act: expected a saved user account.")
    if not value.is_active and value.get_username() != SYSTEM_USERNAME:
        raise NotPermitted("This account is deactivated: it cannot act.")


def row(model) -> Callable[[str, object], None]:
    """A saved row of ``model`` (whether it still exists is checked under the service's lock)."""

    def check(name: str, value) -> None:
        if not isinstance(value, model):
            _fail(name, f"expected a {model._meta.verbose_name}, got {type(value).__name__}.")
        if value.pk is None:
            raise NotFound(f"There is no such {model._meta.verbose_name}.")
        if not isinstance(value.pk, int) or isinstance(value.pk, bool) or value.pk < 1:
            raise NotFound(f"There is no {model._meta.verbose_name} {value.pk!r}.")

    return check


def optional_row(model) -> Callable[[str, object], None]:
    check = row(model)
    return lambda name, value: None if value is None else check(name, value)


def rows(model, *, limit: int) -> Callable[[str, object], None]:
    check = row(model)

    def check_all(name: str, value) -> None:
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
            _fail(name, f"expected a list of {model._meta.verbose_name_plural}.")
        items = list(value)
        if len(items) > limit:
            _fail(name, f"at most {limit} at once (got {len(items)}).")
        for item in items:
            check(name, item)

    return check_all


def moment(name: str, value) -> None:
    """None, or a time-zone-aware ``datetime``."""
    if value is None:
        return
    if not isinstance(value, datetime) or value.tzinfo is None:
        _fail(name, "expected a date and time with its time zone.")


def flag(name: str, value) -> None:
    if not isinstance(value, bool):
        _fail(name, f"expected true or false, got {type(value).__name__}.")


def version(name: str, value) -> None:
    """The ``row_version`` the caller read (None only where nothing was read: a new article)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**31 - 1:
        _fail(name, "expected the article's row_version, a positive whole number.")


def checklist(name: str, value) -> None:
    if value is None:
        return
    known = set(REVIEW_BOXES)
    if not isinstance(value, Mapping):
        _fail(name, "expected a mapping of checklist items to true or false.")
    unknown = sorted(str(key) for key in value if key not in known)
    if unknown:
        _fail(name, f"unknown item(s): {', '.join(unknown)}.")
    if any(not isinstance(ticked, bool) for ticked in value.values()):
        _fail(name, "each item is true or false.")


def _field_check(model, field_name: str) -> Callable[[str, object], None]:
    field = model._meta.get_field(field_name)
    if field.get_internal_type() in ("CharField", "TextField", "SlugField", "URLField"):
        return text(field.max_length or content.TEXT_LIMIT)
    return lambda name, value: None


ARTICLE_FIELDS = {name: _field_check(Article, name) for name in content.EDITABLE_TEXT_FIELDS}
REFERENCE_TEXT_FIELDS = {name: _field_check(Reference, name) for name in content.REFERENCE_FIELDS if name != "year"}


def article_fields(name: str, value) -> None:
    """Content fields of an article by name: known, each of its type and within its length."""
    if not isinstance(value, Mapping):
        _fail(name, "expected a mapping of field names to values.")
    for field, given in value.items():
        if field == "specialty":
            if given is not None and (not isinstance(given, Specialty) or given.pk is None):
                _fail("specialty", "expected a specialty (or none).")
        elif field in ARTICLE_FIELDS:
            ARTICLE_FIELDS[field](field, given)
            if field == "slug" and given:
                try:
                    validate_slug(given)
                except ValidationError:
                    _fail("slug", "letters, numbers, hyphens and underscores only.")
        else:
            _fail(str(field)[:40], "this field cannot be edited.")


def references(name: str, value) -> None:
    """None (leave them as they are), or the whole ordered list of at most MAX_REFERENCES."""
    if value is None:
        return
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        _fail(name, "expected a list of references.")
    items = list(value)
    if len(items) > content.MAX_REFERENCES:
        _fail(name, f"at most {content.MAX_REFERENCES} references, so each stays citable as [n].")
    for number, item in enumerate(items, start=1):
        if not isinstance(item, Mapping):
            _fail(name, f"reference {number}: expected its fields by name.")
        unknown = sorted(str(key) for key in item if key not in content.REFERENCE_FIELDS)
        if unknown:
            _fail(name, f"reference {number}: unknown field(s) {', '.join(unknown)}.")
        for field, check in REFERENCE_TEXT_FIELDS.items():
            if field in item:
                check(f"reference {number} {field}", item[field])
        year = item.get("year")
        if year is not None and (isinstance(year, bool) or not isinstance(year, int) or not 1 <= year <= 9999):
            _fail(name, f"reference {number}: the year is a whole number such as 2024.")


def article_copy(name: str, value) -> None:
    """An article as the caller edited it: new (no id yet) or saved, its content fields valid."""
    if not isinstance(value, Article):
        _fail(name, f"expected an article, got {type(value).__name__}.")
    if value.pk is not None and (isinstance(value.pk, bool) or not isinstance(value.pk, int) or value.pk < 1):
        raise NotFound(f"There is no article {value.pk!r}.")
    fields = {field: getattr(value, field) for field in content.EDITABLE_TEXT_FIELDS}
    fields["specialty"] = value.specialty if value.specialty_id else None
    article_fields(name, fields)


def reference_copies(name: str, value) -> None:
    """References as the caller edited them (new or saved), each field of its type and length."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        _fail(name, "expected a list of references.")
    items = list(value)
    if len(items) > content.MAX_REFERENCES:
        _fail(name, f"at most {content.MAX_REFERENCES} references, so each stays citable as [n].")
    for item in items:
        if not isinstance(item, Reference):
            _fail(name, f"expected references, got {type(item).__name__}.")
    references(name, [{field: getattr(item, field) for field in content.REFERENCE_FIELDS} for item in items])


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


#: "Leave it as it is": an update that does not mention an optional part (AI provenance).
UNCHANGED = _Unchanged()


def declaration(name: str, value) -> None:
    """UNCHANGED, None (remove it) or a mapping (checked field by field by the service)."""
    if value is UNCHANGED or value is None:
        return
    if not isinstance(value, Mapping):
        _fail(name, "expected an object (or null).")


def http_request(name: str, value) -> None:
    """The HTTP request (Django's, or DRF's around it) a door passes along: signing checks the
    password with it, so that the lockout counts failures per user name and address."""
    if value is not None and not isinstance(getattr(value, "_request", value), HttpRequest):
        _fail(name, f"expected the HTTP request, got {type(value).__name__}.")


#: How each argument of a public service is checked, by its name.
RULES: dict[str, Callable[[str, object], None]] = {
    "actor": actor,
    "article": row(Article),
    "invitation": row(Invitation),
    "reviewers": rows(User, limit=MAX_REVIEWERS),
    "saved": rows(Reference, limit=content.MAX_REFERENCES),
    "deleted": rows(Reference, limit=content.MAX_REFERENCES),
    "name": text(40),
    "reason": text(content.REASON_LIMIT),
    "conflict_override": text(300),
    "override_reason": text(content.REASON_LIMIT),
    "description": text(content.REASON_LIMIT),
    "conflict": text(20),
    "recommendation": text(40),
    "comments_to_author": text(content.COMMENTS_LIMIT),
    "confidential_comments": text(content.COMMENTS_LIMIT),
    "password": text(1024),
    "respond_by": moment,
    "due_at": moment,
    "disqualifying": flag,
    "force": flag,
    "checklist": checklist,
    "fields": article_fields,
    "references": references,
    "expected_row_version": version,
    "request": http_request,
    "provenance": declaration,
    "question": row(ReaderQuestion),
    "into": row(ReaderQuestion),
    "text": text(QUESTION_LIMIT * 5),
}


def boundary(service: Callable | None = None, /, **overrides: Callable[[str, object], None]):
    """Check a service's arguments by ``RULES`` and let only the project's errors out.

    Use as ``@boundary``, or ``@boundary(article=article_copy)`` to check an argument by
    another rule than its name's. Raises ``InvalidInput`` (400) for a malformed or missing
    argument, ``NotFound`` (404) for a row that does not exist, ``NotPermitted`` (403) for a
    deactivated actor, and whatever ``EditorialError`` the service itself raises. Raises
    ``TypeError`` at import time if the service takes an argument no rule covers.
    """
    if service is None:
        return lambda function: _wrap(function, {**RULES, **overrides})
    return _wrap(service, RULES)


def _wrap(service: Callable, rules: dict) -> Callable:
    signature = inspect.signature(service)
    unknown = [
        name
        for name, parameter in signature.parameters.items()
        if name not in rules and parameter.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    if unknown:
        raise TypeError(f"{service.__qualname__}: no boundary rule for argument(s) {', '.join(unknown)}")

    @wraps(service)
    def checked(*args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:
            raise InvalidInput(f"{service.__name__}: {error}") from None
        for name, value in bound.arguments.items():
            parameter = signature.parameters[name]
            if parameter.kind is inspect.Parameter.VAR_KEYWORD:
                for key, extra in value.items():
                    if key not in rules:
                        raise InvalidInput(f"{service.__name__}: unexpected argument {key!r}", fields={key: "unknown"})
                    rules[key](key, extra)
            else:
                rules[name](name, value)
        try:
            return service(*args, **kwargs)
        except ObjectDoesNotExist as error:
            raise NotFound(f"Not found: {error}") from error
        except ValidationError as error:
            details = getattr(error, "message_dict", {"__all__": error.messages})
            message = "; ".join(f"{field}: {' '.join(texts)}" for field, texts in details.items())
            raise InvalidInput(message, fields={k: " ".join(v) for k, v in details.items()}) from error

    checked.__boundary__ = True
    return checked
