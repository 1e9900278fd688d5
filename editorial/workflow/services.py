"""The one door for every change of an article: permission, state machine, audit, events.

Each service runs in one transaction: the status, the history row, the transition record
and the outbox event are written together or not at all.
"""

from collections.abc import Callable, Iterable, Mapping

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.text import slugify
from django_fsm import ConcurrentTransition, can_proceed

from accounts import identity
from articles import content
from articles.models import Article, ArticleVersion
from editorial.models import TransitionRecord
from editorial.workflow import (
    approval,
    chain,
    checks,
    invitations,
    permissions,
    refusals,
    revisions,
    rounds,
    signing,
    writes,
)
from editorial.workflow import provenance as _provenance
from editorial.workflow.approval import approval_status
from editorial.workflow.audit import set_audit_context
from editorial.workflow.contract import UNCHANGED, article_copy, boundary
from editorial.workflow.events import build_event
from editorial.workflow.exceptions import (
    EditorialError,
    InvalidInput,
    NotPermitted,
    NotReady,
    ReasonRequired,
    StaleArticle,
    WrongState,
)
from editorial.workflow.outcomes import OUTCOMES, reason_is_required
from editorial.workflow.references import references_replace, write_references


def _lock(article: Article, *, with_version: bool = False, with_declaration: bool = False) -> Article:
    """The article as it is now in the database, locked until the transaction ends; in the same
    query, what the transition needs: its current version (``with_version``, the whole text as
    JSON: to sign it) and whether AI provenance is declared (``ai_declared``: a submission
    copies it). What the locking statement reads beside the row is as of before any wait for
    the lock: ``ai_declared`` holds because a declaration moves the article's row_version (a
    copy read before it is refused as stale); whether an invitation is open is read after the
    lock instead (``approval.ApprovalStatus.open_invitations``, ``rounds.close_round``).
    """
    related = ("specialty", "current_version") if with_version else ("specialty",)
    locked = Article.objects.select_for_update(of=("self",)).select_related(*related)
    if with_declaration:
        locked = locked.annotate(ai_declared=_provenance.DECLARED)
    return locked.get(pk=article.pk)


def _refuse_stale(copy: Article, current: Article) -> None:
    if copy.row_version != current.row_version:
        raise StaleArticle(
            "This article changed meanwhile (it is now "
            f"{current.get_status_display().lower()}, last saved "
            f"{timezone.localtime(current.updated_at):%d %b %Y %H:%M}). "
            "Reload it and try again; nothing was changed."
        )


@boundary
def check_transition(*, article: Article, actor, name: str) -> None:
    """Raise the error that firing ``name`` now would raise, or nothing if it may go ahead.

    In order: the wrong person, the wrong state, missing content, the citation gate
    (``CitationsIncomplete``, with every problem), a condition that does not hold.
    """
    if name not in OUTCOMES:
        raise WrongState(f"There is no transition called {name!r}.")
    permissions.require_transition(actor, article, name)
    method = getattr(article, name)
    if not can_proceed(method, check_conditions=False):
        raise WrongState(refusals.wrong_state_message(article, name))
    if revisions.refusal(article, name):
        raise WrongState(revisions.refusal(article, name))
    if name == "approve" or (name in ("submit", "resubmit") and not article.missing_for_review()):
        checks.require_citations(article, name)
    if not can_proceed(method):
        if name == "approve":
            raise NotReady("Not ready to approve: " + approval_status(article).explain())
        missing = article.missing_for_review()
        raise NotReady(
            f"The article cannot be sent to review yet: it needs {', '.join(missing)}."
            if missing
            else f"The conditions to {name.replace('_', ' ')} this article do not hold."
        )


def _fire(*, article: Article, name: str, **fire) -> Article:
    """Fire transition ``name`` on ``article`` (the caller's copy): lock it, then ``_fire_locked``
    with ``fire`` (``actor``, and optionally ``reason``, ``guard``, ``after``)."""
    if name not in OUTCOMES:
        raise WrongState(f"There is no transition called {name!r}.")
    with transaction.atomic(), chain.together():  # the records' links: one statement at the end
        current = _lock(
            article,
            with_version=name == "approve",
            with_declaration=name in ("submit", "resubmit"),
        )
        return _fire_locked(current, article, name=name, **fire)


def start_review_locked(article: Article, *, actor, reason: str) -> Article:
    """Start the review of ``article``, which the caller's transaction has locked (``_lock``)
    and read under that lock: the first acceptance does (``board.invitation_accept``), and
    locking it again would cost a savepoint and a read. Raises as ``article_start_review``."""
    return _fire_locked(article, article, actor=actor, name="start_review", reason=reason)


def _fire_locked(
    current: Article,
    article: Article,
    *,
    actor,
    name: str,
    reason: str = "",
    guard: Callable[[Article], None] | None = None,
    after: Callable[[Article], dict] | None = None,
) -> Article:
    """Fire transition ``name`` on ``current``, the article locked in the caller's transaction
    (``article``: the caller's copy, refused when stale), as ``actor``.

    ``guard`` may refuse after the machine's own checks; ``after`` returns what the event
    carries, or that and unsaved rows to write with it (the editor's signature).
    """
    outcome = OUTCOMES[name]
    reason = (reason or "").strip()
    permissions.require_transition(actor, current, name)
    _refuse_stale(article, current)
    if name in ("submit", "resubmit"):
        # One read of the references serves the conditions and the snapshot.
        prefetch_related_objects([current], "references")
    check_transition(article=current, actor=actor, name=name)
    if reason_is_required(name) and not reason:
        raise ReasonRequired(f"Say why you {name.replace('_', ' ')} this article.")
    if guard:
        guard(current)
    from_status = current.status
    before = writes.values_of(current)

    getattr(current, name)(**_transition_arguments(name))
    if name == "discard_revision":
        revisions.restore_published(current, actor)
    if name in ("submit", "resubmit"):
        current.current_version = _snapshot_version(current, actor)
        current.valid_signatures = 0  # a new version: signatures on the last one no longer count

    reason = reason or outcome.default_reason
    current.row_version += 1
    set_audit_context(current, actor=actor, reason=reason)
    credited = identity.snapshot(actor)
    record = TransitionRecord(
        article=current,
        transition=name,
        from_status=from_status,
        to_status=current.status,
        actor=actor,
        actor_name=credited.name,
        actor_role=credited.role,
        reason=reason,
        review_round=current.review_round,
    )
    caused = after(current) if after else {}
    extra, written_with = caused if isinstance(caused, tuple) else (caused, [])
    event = None
    if name in rounds.ROUND_CLOSERS:
        known = approval.known_status(current)  # read under the lock by this transition's checks
        none_open = known is not None and not known.open_invitations
        rounds.close_round(current, actor=actor, transition=name, none_open=none_open)
    if outcome.event:
        event = build_event(
            kind=outcome.event,
            actor=actor,
            article=current,
            payload={
                "transition": name,
                "from": from_status,
                "to": current.status,
                "reason": reason,
                "round": current.review_round,
                **extra,
            },
        )
    # The article's changed columns, its history row, the record and the event: one
    # statement on PostgreSQL (editorial.workflow.writes).
    try:
        writes.save_with_records(
            current,
            fields=writes.changed_fields(current, before),
            state_field="status",
            state_was=from_status,
            records=[record, *written_with, event],
        )
    except ConcurrentTransition as error:  # a writer that bypassed the lock got there first
        raise StaleArticle("This article changed meanwhile. Reload it and try again.") from error
    return current


def _transition_arguments(name: str) -> dict:
    if name == "approve":
        now = timezone.now()
        return {"at": now, "review_due_at": now + relativedelta(months=settings.EDITORIAL_REREVIEW_MONTHS)}
    return {}


def _snapshot_version(article: Article, actor) -> ArticleVersion:
    data = content.snapshot(article, article.references.all())
    version = ArticleVersion.objects.create(
        article=article,
        review_round=article.review_round,
        content=data,
        content_hash=content.content_hash(data),
        created_by=actor,
    )
    checks.record_content_check(version)
    _provenance.copy_to_version(article, version)
    return version


# --- The transitions, one service each -----------------------------------------------------


@boundary
def article_submit(*, article: Article, actor, reason: str = "") -> Article:
    return _fire(article=article, actor=actor, name="submit", reason=reason)


@boundary
def article_resubmit(*, article: Article, actor, reason: str = "") -> Article:
    """Open the next round; the previous round's reviewers are invited again by default."""
    return _fire(
        article=article, actor=actor, name="resubmit", reason=reason, after=invitations.reinvite_previous_round
    )


@boundary
def article_start_review(*, article: Article, actor, reason: str = "") -> Article:
    return _fire(article=article, actor=actor, name="start_review", reason=reason)


@boundary
def article_approve(
    *, article: Article, actor, password: str, reason: str = "", override_reason: str = "", request=None
) -> Article:
    """The editor's signed decision to publish; needs the approval rule (editorial.workflow.approval)."""
    override_reason = (override_reason or "").strip()
    # Refuse the wrong person or moment before checking the password: a refusal that has
    # nothing to do with the password must not count as a failed signature. (The quorum is
    # checked under the lock, with everything else.)
    permissions.require_transition(actor, article, "approve")
    if not can_proceed(article.approve, check_conditions=False):
        raise WrongState(refusals.wrong_state_message(article, "approve"))
    signing.verify_signer(actor=actor, password=password, article=article, request=request, editor=True)

    def refuse_open_rejects(current: Article) -> None:
        rejects = approval_status(current).open_rejects
        if rejects and not override_reason:
            raise NotReady(
                f"{len(rejects)} reviewer(s) recommend rejection. To approve anyway, give your reason "
                "for overriding that recommendation."
            )

    def sign(current: Article) -> tuple[dict, list]:
        signature = signing.signature_for(article=current, signer=actor, review=None)
        return {
            "letter": signing.decision_letter(
                current, decision="approved", editor_reason=reason, reviews=approval_status(current).round_reviews
            ),
            "override_reason": override_reason,
            "signature_hash": signature.content_hash,
        }, [signature]

    if override_reason:
        reason = f"{reason or 'Approved'} (overriding a reject recommendation: {override_reason})"
    return _fire(article=article, actor=actor, name="approve", reason=reason, guard=refuse_open_rejects, after=sign)


@boundary
def article_request_changes(*, article: Article, actor, reason: str) -> Article:
    def letter(current: Article) -> dict:
        return {"letter": signing.decision_letter(current, decision="changes_requested", editor_reason=reason)}

    return _fire(article=article, actor=actor, name="request_changes", reason=reason, after=letter)


@boundary
def article_reject(*, article: Article, actor, reason: str) -> Article:
    def letter(current: Article) -> dict:
        return {"letter": signing.decision_letter(current, decision="rejected", editor_reason=reason)}

    return _fire(article=article, actor=actor, name="reject", reason=reason, after=letter)


@boundary
def article_withdraw(*, article: Article, actor, reason: str) -> Article:
    return _fire(article=article, actor=actor, name="withdraw", reason=reason)


@boundary
def article_retract(*, article: Article, actor, reason: str) -> Article:
    return _fire(article=article, actor=actor, name="retract", reason=reason)


@boundary
def article_revise(*, article: Article, actor, reason: str = "") -> Article:
    return _fire(article=article, actor=actor, name="revise", reason=reason)


@boundary
def article_discard_revision(*, article: Article, actor, reason: str = "") -> Article:
    """Abandon the revision of an approved article (its author or an editor): editorial.workflow.revisions."""
    return _fire(article=article, actor=actor, name="discard_revision", reason=reason)


TRANSITION_SERVICES = {
    "submit": article_submit,
    "resubmit": article_resubmit,
    "start_review": article_start_review,
    "approve": article_approve,
    "request_changes": article_request_changes,
    "reject": article_reject,
    "withdraw": article_withdraw,
    "retract": article_retract,
    "revise": article_revise,
    "discard_revision": article_discard_revision,
}


@boundary
def article_transition(*, article: Article, actor, name: str, reason: str = "", **extra) -> Article:
    """Fire a transition chosen by name (buttons, API): the same services underneath.

    ``extra`` carries what some decisions need: ``password`` (and ``override_reason``,
    ``request``) for approve.
    """
    service = TRANSITION_SERVICES.get(name)
    if service is None:
        raise WrongState(f"There is no transition called {name!r}.")
    if name != "approve":
        extra = {}
    return service(article=article, actor=actor, reason=reason, **extra)


# --- Content -------------------------------------------------------------------------------

EDITABLE_FIELDS = ("title", "slug", "summary", "body", "patient_body", "specialty")


def unique_slug(title: str, *, exclude_pk=None) -> str:
    base = slugify(title)[:180] or "article"
    slug, n = base, 1
    taken = Article.objects.exclude(pk=exclude_pk).filter(slug__startswith=base)
    existing = set(taken.values_list("slug", flat=True))
    while slug in existing:
        n += 1
        slug = f"{base}-{n}"
    return slug


@boundary(article=article_copy)
def article_save(
    *, article: Article, actor, reason: str = "", expected_row_version: int | None = None, force: bool = False
) -> Article:
    """Save a new article, or an edited one (the fields already set on ``article``).

    An edit must say which version the editor started from (``expected_row_version``, the
    ``row_version`` they read): an older one is a stale copy (``StaleArticle``, 409), none at
    all is ``InvalidInput`` (optimistic concurrency is not optional). A copy naming an id
    that does not exist is ``NotFound``: an update never creates a row. The caller's
    transaction (or this one) holds the row lock, so the check and the write cannot
    interleave with another save. A save that changes none of ``EDITABLE_FIELDS`` writes
    nothing: no history row, the same ``row_version`` and "last updated" date, unless
    ``force`` (the caller changes what else the version covers: references, provenance). A text the
    renderer could not show as its author meant is refused after the permission and
    staleness checks (ContentRefused, 400).
    """
    creating = article.pk is None
    if not creating and expected_row_version is None:
        raise InvalidInput(
            "Say which version of the article you edited (its row_version): without it a change "
            "made meanwhile would be silently overwritten.",
            fields={"expected_row_version": "required"},
        )
    with transaction.atomic(), chain.together():
        if creating:
            if not permissions.may_create_article(actor):
                raise NotPermitted("Only authors and editors can create articles.")
            if not article.author_id:
                article.author = actor
            chosen_slug = bool(article.slug)
            if not article.slug:
                article.slug = unique_slug(article.title)
            reason = reason.strip() or "Draft created"
        else:
            current = _lock(article)
            permissions.require_content_edit(actor, current)
            if expected_row_version != current.row_version:
                _refuse_stale(Article(row_version=expected_row_version), current)
            if not force and not _content_changed(article, current):
                article.row_version = current.row_version  # nothing happened: no history row, same version
                return article
            article._state.adding = False  # a copy built with an id updates that row, never inserts
            article.row_version = current.row_version + 1
            reason = reason.strip() or "Content edited"
            chosen_slug = article.slug != current.slug
            if not article.slug:
                article.slug, chosen_slug = unique_slug(article.title, exclude_pk=article.pk), False
        if chosen_slug and Article.objects.filter(slug=article.slug).exclude(pk=article.pk).exists():
            raise InvalidInput(f"The address {article.slug!r} is taken by another article.", fields={"slug": "taken"})
        checks.require_renderable(article)
        article.content_updated_at = timezone.now()
        set_audit_context(article, actor=actor, reason=reason)
        article.save()
    return article


def _content_changed(copy: Article, current: Article) -> bool:
    """Whether the copy's editable fields differ from the row's (a save of no change is none)."""
    names = [Article._meta.get_field(name).attname for name in EDITABLE_FIELDS]
    return any(getattr(copy, name) != getattr(current, name) for name in names)


@boundary
def article_create(
    *, actor, fields: Mapping, references: Iterable[Mapping] = (), reason: str = "", provenance=None
) -> Article:
    """A new draft by ``actor`` with its references and, if a machine drafted it, its AI provenance.

    ``provenance``: None, or the declaration (``editorial.workflow.provenance.clean_declaration``);
    the text given now is kept as the machine draft of the declared sections.
    """
    article = Article(**{name: value for name, value in fields.items() if name in EDITABLE_FIELDS})
    with transaction.atomic(), chain.together():
        article_save(article=article, actor=actor, reason=reason)
        write_references(
            article=article, actor=actor, wanted=list(references or ()), existing=[], reason=reason or "Draft created"
        )
        if provenance is not None:
            _provenance.write_declaration(article=article, actor=actor, provenance=provenance)
    return article


@boundary
def article_update(
    *,
    article: Article,
    actor,
    fields: Mapping,
    references: Iterable[Mapping] | None = None,
    expected_row_version: int,
    reason: str = "",
    provenance=UNCHANGED,
) -> Article:
    """Change content fields (and, if given, the whole reference list) of an editable article.

    ``expected_row_version`` is the ``row_version`` the caller read: required (see ``article_save``).
    ``provenance``: UNCHANGED (default), None (no machine involved: withdraw the declaration) or a
    new declaration (``editorial.workflow.provenance``).
    """
    with transaction.atomic(), chain.together():
        for name, value in fields.items():
            if name not in EDITABLE_FIELDS:
                raise EditorialError(f"{name!r} cannot be edited.")
            setattr(article, name, value)
        # References or a provenance given: the version (the API's ETag) covers them too.
        force = references is not None or provenance is not UNCHANGED
        article_save(
            article=article, actor=actor, reason=reason, expected_row_version=expected_row_version, force=force
        )
        if references is not None:
            references_replace(
                article=article, actor=actor, references=references, reason=reason or "References edited"
            )
        _provenance.write_declaration(article=article, actor=actor, provenance=provenance)
    return article
