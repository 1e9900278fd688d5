"""Electronic signatures and decision letters.

A signature binds a person, as named and credentialed at that moment, to the SHA-256 of the
exact version they approve, at the database's time. The password is checked with Django's
``authenticate()`` and the request, so that django-axes counts every failure: a locked
account cannot sign (21 CFR Part 11 §11.200(a), §11.300(d)).
"""

from django.contrib.auth import authenticate

from accounts import identity, security_log, sessions
from accounts.models import SecurityEventKind
from articles.models import Article
from editorial.workflow.approval import completed_reviews
from editorial.workflow.exceptions import AccountLocked, InvalidInput, NotReady, PasswordRequired, SignatureRefused
from reviewers.models import (
    FailedSignatureAttempt,
    Recommendation,
    Review,
    Signature,
    SignatureMeaning,
)


def verify_signer(*, actor, password: str, article: Article, request, editor: bool = False) -> None:
    """Check the signer's password; a wrong one is recorded and signs nothing.

    ``request`` is the HTTP request (or, for a command, one that stands for it): the lockout
    counts failures per user name and address; without it, InvalidInput. Raises
    PasswordRequired for an empty password
    (nothing counted), AccountLocked when the account is locked (before and after this
    failure), SignatureRefused for a wrong password (a failed signature: recorded, logged and
    counted). On success the session gets a new key (a re-authentication).

    Call it before the transaction that signs: the failed attempt must outlive the refusal.
    """
    if request is None:
        raise InvalidInput(
            "Request: signing checks the password with the request (the lockout counts by address).",
            fields={"request": "the HTTP request is needed to sign."},
        )
    request = getattr(request, "_request", request)  # DRF's request: the lockout marks Django's
    if not password:
        raise PasswordRequired("Enter your password to sign: it is your signature.")
    meaning = SignatureMeaning.PUBLICATION if editor else SignatureMeaning.MEDICALLY_ACCURATE
    # django-axes refuses a locked account before the password is checked, and says so here.
    refusal: dict = {}
    user = authenticate(request, username=actor.get_username(), password=password, response_context=refusal)
    if refusal:
        raise AccountLocked(
            "Your account is locked after too many failed attempts, so it cannot sign. "
            "Wait for the lock to end, or ask an operator to unlock it."
        )
    if user is None or user.pk != actor.pk:
        credited = identity.snapshot(actor)
        FailedSignatureAttempt.objects.create(
            user=actor, actor_name=credited.name, actor_role=credited.role, article=article, meaning=meaning
        )
        security_log.record(
            SecurityEventKind.SIGNATURE_FAILED,
            actor=actor,
            subject=actor,
            request=request,
            detail=f"{SignatureMeaning(meaning).label} on article {article.pk} ({article.title}): wrong password",
        )
        if getattr(request, "axes_locked_out", False):
            raise AccountLocked(
                "That password is not right, and that was one failure too many: your account is now "
                "locked, so nothing was signed."
            )
        raise SignatureRefused(
            "That password is not right, so nothing was signed. The failed attempt has been recorded."
        )
    sessions.rotate(request)


def printed_identity(user) -> tuple[str, str]:
    """The name and credentials a signature keeps: the board profile's, else the account's."""
    profile = getattr(user, "reviewer_profile", None)
    if profile is not None:
        return profile.printed_name, profile.credentials
    return (user.get_full_name() or user.get_username()), ""


def signature_for(*, article: Article, signer, review: Review | None) -> Signature:
    """The signature of ``signer`` on the article's current version, not yet saved (a reviewer's
    approval when ``review`` is given, else the editor's decision to publish). Raises NotReady
    when there is no submitted version."""
    version = article.current_version
    if version is None:
        raise NotReady("There is no submitted version to sign.")
    name, credentials = printed_identity(signer)
    return Signature(
        article=article,
        version=version,
        content_hash=version.content_hash,
        signer=signer,
        printed_name=name,
        credentials=credentials,
        meaning=SignatureMeaning.MEDICALLY_ACCURATE if review else SignatureMeaning.PUBLICATION,
        review=review,
    )


def sign(*, article: Article, signer, review: Review | None) -> Signature:
    """Sign the article's current version (a reviewer's approval, or the editor's decision): saved."""
    signature = signature_for(article=article, signer=signer, review=review)
    signature.save()
    return signature


DECISIONS = {
    "approved": "Approved for publication",
    "changes_requested": "Changes requested",
    "rejected": "Not accepted for publication",
}


def round_reviews(article: Article, review_round: int) -> list[Review]:
    """The completed reviews of one round, in the order the reviewers were invited."""
    return completed_reviews(article, review_round)


def decision_letter(
    article: Article, *, decision: str, editor_reason: str, review_round: int | None = None, reviews=None
) -> str:
    """The letter the author receives: the editor's words and the comments to the author.

    Never the confidential comments. Reviewers are named only once the article is approved.
    ``reviews``: the round's completed reviews when the caller has them already
    (``ApprovalStatus.round_reviews``); read otherwise.
    """
    review_round = review_round or article.review_round
    lines = [f"Decision on round {review_round}: {DECISIONS[decision]}.", ""]
    if editor_reason.strip():
        lines += ["From the editor:", editor_reason.strip(), ""]
    if reviews is None:
        reviews = round_reviews(article, review_round)
    for number, review in enumerate(reviews, start=1):
        if decision == "approved":
            who = printed_identity(review.invitation.reviewer)
            heading = f"{who[0]}{', ' + who[1] if who[1] else ''}"
        else:
            heading = f"Reviewer {number}"
        lines.append(f"{heading}, recommending {Recommendation(review.recommendation).label.lower()}:")
        lines.append(review.comments_to_author.strip() or "(No comments to the author.)")
        lines.append("")
    return "\n".join(lines).strip() + "\n"
