"""Services of the Medical Advisory Board: invitations, competing interests, reviews.

Like ``editorial.workflow.services``: each checks the policy, takes row locks, writes history with
the acting user and a reason, and records its events, all in one transaction.
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django_fsm import can_proceed

from articles.models import Article, ArticleStatus
from editorial.models import EventKind
from editorial.workflow import approval, chain, checks, permissions, services, signing, writes
from editorial.workflow import invitations as invitation_rows
from editorial.workflow.audit import set_audit_context
from editorial.workflow.contract import boundary
from editorial.workflow.events import build_event
from editorial.workflow.exceptions import Ineligible, NotOnTheBoard, ReasonRequired, StaleArticle, WrongState
from editorial.workflow.permissions import Role
from editorial.workflow.system import system_user
from reviewers.models import (
    CHECKLIST,
    MACHINE_CHECK,
    OPEN,
    OPEN_OR_DONE,
    ROUND_CLOSED,
    Conflict,
    Invitation,
    InvitationStatus,
    Recommendation,
    Review,
)

User = get_user_model()


# --- Invitations ------------------------------------------------------------------------------


@boundary
def invitation_create(
    *, article: Article, actor, reviewers, respond_by=None, due_at=None, reason: str = "", conflict_override: str = ""
) -> list[Invitation]:
    """Invite board members to the article's current round (editors, not on their own article).

    ``respond_by`` and ``due_at`` are aware datetimes (a date picked in a form is the end of that
    day in the board's time zone: ``invitations.end_of_day``); defaults from the settings. A
    member who declared competing interests on this article in an earlier round is refused
    (``Ineligible``, naming the declaration) unless ``conflict_override`` gives the editor's
    reason to invite them anyway: it is recorded in each invitation's history and the event.
    Raises ``Ineligible`` (400), ``WrongState`` (409), ``NotPermitted`` (403).
    """
    conflict_override = (conflict_override or "").strip()
    reviewers = list(reviewers)
    if not reviewers:
        raise Ineligible("Choose at least one board member to invite.")
    default_respond, default_due = invitation_rows.default_dates()
    respond_by, due_at = respond_by or default_respond, due_at or default_due
    if respond_by <= timezone.now():
        raise Ineligible("The respond-by date must be in the future.")
    if due_at <= respond_by:
        raise Ineligible("The review due date must come after the respond-by date.")
    with transaction.atomic(), chain.together():
        current = services._lock(article)
        permissions.require_invite(actor, current)
        if current.status not in (ArticleStatus.SUBMITTED, ArticleStatus.UNDER_REVIEW):
            raise WrongState(
                f"The article is {current.get_status_display().lower()}: reviewers can be invited only "
                "while it is submitted or under review."
            )
        refusals, conflicted = ineligibility(current, reviewers)
        if conflicted and not conflict_override:
            refusals += [
                f"{name} declared competing interests on this article (round {round_}: “{text}”): "
                "confirm and give your reason to invite them anyway."
                for name, round_, text in conflicted
            ]
        if refusals:
            left = any("not an active member" in refusal for refusal in refusals)
            raise (NotOnTheBoard if left else Ineligible)(" ".join(refusals))
        history_reason = reason.strip() or f"Invited to review round {current.review_round}"
        if conflicted:
            names = ", ".join(name for name, _, _ in conflicted)
            history_reason += f" (invited despite declared competing interests of {names}: {conflict_override})"
        return invitation_rows.create_invitations(
            article=current,
            reviewers=reviewers,
            invited_by=actor,
            actor=actor,
            respond_by=respond_by,
            due_at=due_at,
            reason=history_reason,
            note=reason.strip(),
        )


def ineligibility(article: Article, reviewers) -> tuple[list[str], list[tuple[str, int, str]]]:
    """Why each of ``reviewers`` cannot be invited to the article's current round (2 queries).

    Returns the refusals (author, not a member, already invited), and apart from them the
    members who declared competing interests on this article before, as (name, round, the
    declaration): the editor may invite those after confirming, with a reason.
    """
    ids = [reviewer.pk for reviewer in reviewers]
    members = set(
        User.objects.filter(
            pk__in=ids,
            is_active=True,
            groups__name=Role.BOARD,
            reviewer_profile__is_active=True,
        ).values_list("pk", flat=True)
    )
    taken, conflicted = set(), {}
    # This round's invitations and every round's declared competing interests: one read.
    earlier = (
        Invitation.objects.filter(article=article, reviewer_id__in=ids)
        .filter(Q(review_round=article.review_round, status__in=OPEN_OR_DONE) | Q(conflict=Conflict.DECLARED))
        .order_by("review_round", "pk")
        .values_list("reviewer_id", "review_round", "status", "conflict", "conflict_description")
    )
    for reviewer_id, round_, status, conflict, text in earlier:
        if round_ == article.review_round and status in OPEN_OR_DONE:
            taken.add(reviewer_id)
        if conflict == Conflict.DECLARED:
            conflicted[reviewer_id] = (round_, text)  # read last: the latest declaration
    refusals, declared = [], []
    for reviewer in reviewers:
        name = reviewer.get_full_name() or reviewer.get_username()
        if reviewer.pk == article.author_id:
            refusals.append(f"{name} wrote this article and cannot review it.")
        elif reviewer.pk not in members:
            refusals.append(f"{name} is not an active member of the Medical Advisory Board.")
        elif reviewer.pk in taken:
            refusals.append(f"{name} is already invited to this round.")
        elif reviewer.pk in conflicted:
            declared.append((name, *conflicted[reviewer.pk]))
    return refusals, declared


def _lock_invitation(invitation: Invitation, *, with_version: bool = False, others_open: bool = False) -> Invitation:
    """The invitation as it is now, locked, after its article (always in that order: no deadlock).

    The article is locked first, as every article service and the closing of a round lock it,
    so two acceptances of one article queue on its row instead of failing each other; the
    locked article is the invitation's ``article`` (``with_version``: with its current version,
    to sign it). ``others_open`` annotates ``others_open``: whether another invitation of the
    round is still invited or accepted (under the article's lock no other writer changes that).
    """
    article = services._lock(Article(pk=invitation.article_id), with_version=with_version)
    locked = Invitation.objects.select_for_update(of=("self",)).select_related("reviewer__reviewer_profile")
    if others_open:
        locked = locked.annotate(
            others_open=Exists(
                Invitation.objects.filter(
                    article_id=OuterRef("article_id"), review_round=OuterRef("review_round"), status__in=OPEN
                ).exclude(pk=OuterRef("pk"))
            )
        )
    current = locked.get(pk=invitation.pk)
    current.article = article
    if invitation.row_version != current.row_version:
        raise StaleArticle(
            f"This invitation changed meanwhile (it is now {current.get_status_display().lower()}). "
            "Reload the page; nothing was changed."
        )
    return current


def _require_state(invitation: Invitation, name: str, doing: str) -> None:
    """Refuse (409) what the invitation's state or its round no longer allows, saying which."""
    if invitation.end_reason == ROUND_CLOSED:
        raise WrongState(
            f"Round {invitation.review_round} of this article's review is closed: this invitation "
            f"was {invitation.get_status_display().split(' ')[0].lower()} with it, so you cannot {doing} it. "
            "Nothing was changed."
        )
    if not can_proceed(getattr(invitation, name)):
        raise WrongState(f"This invitation is {invitation.get_status_display().lower()}: you cannot {doing} it.")
    article = invitation.article
    if name in ("accept", "decline", "expire", "complete") and (
        article.review_round != invitation.review_round
        or article.status not in (ArticleStatus.SUBMITTED, ArticleStatus.UNDER_REVIEW)
    ):
        raise WrongState(
            f"Round {invitation.review_round} of this article's review is closed (the article is "
            f"{article.get_status_display().lower()}, round {article.review_round}): you cannot {doing} "
            "this invitation. Nothing was changed."
        )


def _save(invitation: Invitation, *, before: dict, actor, reason: str, records=(), also=()) -> Invitation:
    """Write the invitation's changed columns (``before``: ``writes.values_of`` at its lock) with
    its history row, then ``also`` (more ``writes.Update``) and ``records`` (unsaved rows): one
    statement on PostgreSQL (``editorial.workflow.writes``)."""
    invitation.row_version += 1
    set_audit_context(invitation, actor=actor, reason=reason)
    update = writes.Update(invitation, writes.changed_fields(invitation, before), "status", before["status"])
    writes.write_together([update, *also], records)
    return invitation


@boundary
def invitation_accept(*, invitation: Invitation, actor, conflict: str, description: str = "") -> Invitation:
    """Accept with a competing-interest declaration; the first acceptance starts the review.

    Concurrent acceptances of one article all succeed: each waits for the article's lock, and
    only the first finds it submitted and starts the review. An invitation of a closed round
    (cancelled or closed with it, or not the article's current round, or an article no longer
    in review) is refused with ``WrongState`` (409), nothing changed.
    """
    description = (description or "").strip()
    if conflict not in Conflict.values:
        raise ReasonRequired("Declare your competing interests: none, or declared with a description.")
    if conflict == Conflict.DECLARED and not description:
        raise ReasonRequired("Describe the competing interests you declare.")
    with transaction.atomic(), chain.together():
        current = _lock_invitation(invitation)
        before = writes.values_of(current)
        permissions.require_reviewer(actor, current)
        _require_state(current, "accept", "accept")
        now = timezone.now()
        if now > current.respond_by:
            raise WrongState("The respond-by date of this invitation has passed: ask the editor to invite you again.")
        current.accept(at=now, conflict=conflict, description=description)
        reason = "Accepted; " + (
            "no competing interests" if conflict == Conflict.NONE else f"competing interests declared: {description}"
        )
        _save(current, before=before, actor=actor, reason=reason)
        article = current.article  # locked by _lock_invitation: it is current
        if article.status == ArticleStatus.SUBMITTED:
            # The first acceptance starts the review, once: a concurrent one waited for the lock
            # and now reads "under review". The system starts it, so the author's timeline names
            # no reviewer; on the article this service has locked already.
            services.start_review_locked(article, actor=system_user(), reason="Review started: a reviewer accepted")
    return current


@boundary
def invitation_decline(*, invitation: Invitation, actor, reason: str) -> Invitation:
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired("Say why you decline, so the editor can find someone else.")
    with transaction.atomic(), chain.together():
        current = _lock_invitation(invitation)
        before = writes.values_of(current)
        permissions.require_reviewer(actor, current)
        _require_state(current, "decline", "decline")
        current.decline(at=timezone.now(), reason=reason)
        event = build_event(
            kind=EventKind.DECLINED,
            actor=actor,
            article=current.article,
            payload={"invitation": current.pk, "reason": reason, "round": current.review_round},
        )
        _save(current, before=before, actor=actor, reason=f"Declined: {reason}", records=[event])
    return current


@boundary
def invitation_cancel(*, invitation: Invitation, actor, reason: str) -> Invitation:
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired("Say why you cancel this invitation.")
    with transaction.atomic(), chain.together():
        current = _lock_invitation(invitation)
        before = writes.values_of(current)
        permissions.require_invite(actor, current.article)
        _require_state(current, "cancel", "cancel")
        current.cancel(reason=reason[:300])
        event = build_event(
            kind=EventKind.CANCELLED,
            actor=actor,
            article=current.article,
            payload={"invitation": current.pk, "reason": reason, "round": current.review_round},
        )
        _save(current, before=before, actor=actor, reason=f"Cancelled: {reason}", records=[event])
    return current


@boundary
def invitation_expire(*, invitation: Invitation) -> Invitation:
    """No answer by the respond-by date: the system expires it and tells the editors."""
    actor = system_user()
    with transaction.atomic(), chain.together():
        current = _lock_invitation(invitation)
        before = writes.values_of(current)
        _require_state(current, "expire", "expire")
        if timezone.now() <= current.respond_by:
            raise WrongState("This invitation can still be answered: it expires after its respond-by date.")
        current.expire()
        event = build_event(
            kind=EventKind.EXPIRED,
            actor=actor,
            article=current.article,
            payload={"invitation": current.pk, "round": current.review_round},
        )
        _save(current, before=before, actor=actor, reason="Expired: no answer by the respond-by date", records=[event])
    return current


@boundary
def invitation_rule_conflict(*, invitation: Invitation, actor, disqualifying: bool, reason: str) -> Invitation:
    """An editor rules a declared competing interest disqualifying (or not)."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired("Say why you rule on this competing interest.")
    with transaction.atomic(), chain.together():
        current = _lock_invitation(invitation)  # the article locked too: its signature count may change
        before = writes.values_of(current)
        permissions.require_invite(actor, current.article)
        if current.conflict != Conflict.DECLARED:
            raise WrongState("This reviewer declared no competing interests to rule on.")
        current.conflict_disqualifying = disqualifying
        verdict = "disqualifying" if disqualifying else "not disqualifying"
        _save(current, before=before, actor=actor, reason=f"Competing interest ruled {verdict}: {reason}")
        approval.recount_signatures(current.article)
    return current


# --- Reviews ------------------------------------------------------------------------------------


def _refuse_review(invitation: Invitation, article: Article) -> None:
    """Refuse (409, WrongState) a review the invitation's state or its round no longer allows."""
    if invitation.status == InvitationStatus.COMPLETED:
        raise WrongState("You have already reviewed this round of the article.")
    _require_state(invitation, "complete", "review on")
    if article.status != ArticleStatus.UNDER_REVIEW or article.review_round != invitation.review_round:
        raise WrongState(
            f"The article is {article.get_status_display().lower()} (round {article.review_round}): "
            f"round {invitation.review_round} is no longer open for reviews."
        )


@boundary
def review_submit(
    *,
    invitation: Invitation,
    actor,
    recommendation: str,
    checklist: dict | None = None,
    comments_to_author: str = "",
    confidential_comments: str = "",
    password: str = "",
    request=None,
) -> Review:
    """Submit the review of an accepted invitation; "approve" is signed with the password.

    ``checklist`` maps each CHECKLIST field, and ``doses_not_applicable``, to a bool; an approve
    needs every item (editorial.workflow.checks.require_checklist, ChecklistIncomplete).
    """
    if recommendation not in Recommendation.values:
        raise ReasonRequired("Choose a recommendation.")
    checklist = checklist or {}
    # The wrong person, then a checklist that cannot be signed, are refused before the password
    # is read: neither counts as a failed signature (see article_approve).
    permissions.require_reviewer(actor, invitation)
    _refuse_review(invitation, invitation.article)  # the wrong moment: no failed signature either
    doses, machine_drafted = checks.checklist_facts(invitation.article.current_version_id)
    checks.require_checklist(
        recommendation=recommendation, checklist=checklist, doses=doses, machine_drafted=machine_drafted
    )
    if recommendation == Recommendation.APPROVE:
        signing.verify_signer(actor=actor, password=password, article=invitation.article, request=request)
    with transaction.atomic(), chain.together():
        current = _lock_invitation(invitation, with_version=recommendation == Recommendation.APPROVE, others_open=True)
        before = writes.values_of(current)
        permissions.require_reviewer(actor, current)
        article = current.article
        _refuse_review(current, article)
        review = Review(
            invitation=current,
            version_id=article.current_version_id,
            recommendation=recommendation,
            comments_to_author=comments_to_author.strip(),
            confidential_comments=confidential_comments.strip(),
            **{field: bool(checklist.get(field)) for field, _ in CHECKLIST},
            doses_not_applicable=bool(checklist.get("doses_not_applicable")),
            machine_passages_verified=bool(checklist.get(MACHINE_CHECK[0])),
        )
        label = Recommendation(recommendation).label.lower()
        set_audit_context(review, actor=actor, reason=f"Review submitted: {label}")
        # The review's INSERT gives its id; its history row, the signature, the signature count,
        # the invitation's completion and the event follow in one statement (writes).
        review.skip_history_when_saving = True
        try:
            review.save()
        finally:
            del review.skip_history_when_saving
        records, also = [writes.history_row(review, "+")], []
        if recommendation == Recommendation.APPROVE:
            # current.reviewer is the actor (checked above), with the profile the signature prints.
            records.append(signing.signature_for(article=article, signer=current.reviewer, review=review))
            also.extend(approval.count_signature(article, current))
        current.complete(at=timezone.now())
        if not current.others_open:
            records.append(
                build_event(
                    kind=EventKind.REVIEWS_COMPLETE,
                    actor=actor,
                    article=article,
                    payload={"round": article.review_round},
                )
            )
        _save(current, before=before, actor=actor, reason=f"Review completed: {label}", records=records, also=also)
    return review
