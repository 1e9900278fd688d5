"""The benchmark data generator: reproducible, and consistent with the app's rules."""

import io
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import F

from articles.content import content_hash
from articles.models import Article, ArticleVersion, ContentCheck, Reference
from editorial.models import Event, Notification, TransitionRecord
from editorial.workflow import chain_verify, checks
from editorial.workflow.approval import approval_status
from reviewers.models import CHECKLIST, Invitation, Review, ReviewerProfile, Signature

#: The checksum of ``--articles 200 --seed 1`` on an empty database, SQLite or PostgreSQL alike.
#: A deliberate change to the generator (or a new column in a generated table) changes it: update it with it.
EXPECTED_CHECKSUM = "e0657bdd58b821db5f2e686cfdc8bf82dbbfa89945216d552101d3427ff5f918"

User = get_user_model()

HISTORY_MODELS = [
    Article.history.model,
    Reference.history.model,
    Invitation.history.model,
    Review.history.model,
    ReviewerProfile.history.model,
]


def generate(**options) -> str:
    out = io.StringIO()
    options = {"articles": 200, "seed": 1, **options}
    call_command("generate_bench_data", no_progress=True, stdout=out, **options)
    return out.getvalue()


def checksum_of(output: str) -> str:
    return next(line.split()[1] for line in output.splitlines() if line.startswith("checksum "))


@pytest.mark.django_db
def test_the_same_seed_on_an_empty_database_gives_the_same_data_and_never_adds_to_it():
    assert checksum_of(generate(checksum=True)) == EXPECTED_CHECKSUM
    with pytest.raises(CommandError, match="already has articles"):
        generate()


@pytest.mark.django_db
def test_generated_data_keeps_the_apps_rules_and_opens_in_the_workspace(client):
    """One generation (a few seconds), every rule checked on it."""
    generate()
    check_every_status_with_revisions_of_approved_ones()
    check_no_open_invitation_outside_a_round_in_review()
    check_versions_and_signatures_are_consistent_with_each_status()
    check_each_article_history_ends_in_its_status_and_transitions_chain()
    check_every_history_row_names_a_user_and_a_reason()
    check_the_content_rules_hold_on_every_version()
    check_events_were_delivered_once_by_email_and_inbox()
    check_the_workspace_opens_generated_articles(client)
    # Generated as the owner, before the chain: verify_audit neither checks nor reports it.
    assert chain_verify.verify(full=True).breaks == []


def check_every_status_with_revisions_of_approved_ones():
    statuses = Counter(Article.objects.values_list("status", flat=True))
    assert set(statuses) == {
        "draft",
        "submitted",
        "under_review",
        "changes_requested",
        "approved",
        "rejected",
        "withdrawn",
        "retracted",
    }
    assert sum(statuses.values()) == 200
    revisions = Article.objects.filter(published_version__isnull=False).exclude(status__in=["approved", "retracted"])
    assert set(revisions.values_list("status", flat=True)) >= {"draft", "under_review"}
    assert set(Invitation.objects.values_list("status", flat=True)) == {
        "invited",
        "accepted",
        "declined",
        "expired",
        "cancelled",
        "completed",
        "closed",
    }


def check_versions_and_signatures_are_consistent_with_each_status():
    for article in Article.objects.select_related("current_version", "published_version"):
        if article.review_round == 0:
            assert article.status in ("draft", "withdrawn") and article.current_version is None
            continue
        version = article.current_version
        assert version is not None
        # The count the services keep agrees with the approval rule on every article.
        assert article.valid_signatures == len(approval_status(article).valid), article.pk
        if article.status in ("submitted", "under_review", "changes_requested", "approved"):
            assert version.review_round == article.review_round, article.pk
        if article.status == "approved":
            assert article.published_version_id == version.pk
            assert article.last_approved_at and article.review_due_at > article.last_approved_at
            assert approval_status(article).quorum_reached, article.pk
        if article.status == "retracted":
            assert article.published_version_id == version.pk
        if article.status == "under_review":
            assert article.invitations.filter(
                review_round=article.review_round, status__in=["accepted", "completed"]
            ).exists()
    assert not Signature.objects.exclude(content_hash=F("version__content_hash")).exists()
    assert not Review.objects.exclude(invitation__article=F("version__article")).exists()
    assert not Signature.objects.filter(signer=F("article__author")).exists()
    for version in ArticleVersion.objects.all()[:50]:
        assert content_hash(version.content) == version.content_hash


def check_the_content_rules_hold_on_every_version():
    """The citation gate passes on every version, each has its lints' record, approvals tick every item."""
    versions = ArticleVersion.objects.all()
    assert ContentCheck.objects.count() == versions.count()
    for version in versions:
        assert checks.citation_report(version.content).ok, version.pk
    approvals = Review.objects.filter(recommendation="approve")
    assert approvals.exists()
    for field, _ in CHECKLIST:
        assert not approvals.filter(**{field: False}).exists(), field


def check_no_open_invitation_outside_a_round_in_review():
    """Issue 12's rule: a closing round ends its invitations (none left on withdrawn articles)."""
    stray = Invitation.objects.filter(status__in=["invited", "accepted"]).exclude(
        article__status__in=["submitted", "under_review"], review_round=F("article__review_round")
    )
    assert not stray.exists(), list(stray.values_list("article__status", "status")[:5])
    assert Invitation.objects.filter(status__in=["cancelled", "closed"], end_reason="round closed").exists()


def check_each_article_history_ends_in_its_status_and_transitions_chain():
    for article in Article.objects.all():
        last = article.history.order_by("-history_date", "-history_id").first()
        assert last.status == article.status and last.review_round == article.review_round
        records = list(TransitionRecord.objects.filter(article=article).order_by("created_at", "id"))
        state = "draft"
        for record in records:
            assert record.from_status == state, article.pk
            state = record.to_status
        assert state == article.status
        assert article.row_version == article.history.count()


def check_every_history_row_names_a_user_and_a_reason():
    total = 0
    for model in HISTORY_MODELS:
        assert not model.objects.filter(history_user__isnull=True).exists(), model
        assert not model.objects.filter(history_change_reason__in=["", None]).exists(), model
        total += model.objects.count()
    assert total >= 10 * 200


def check_events_were_delivered_once_by_email_and_inbox():
    assert not Event.objects.exclude(status="done").exists()
    emails = Notification.objects.filter(channel="email")
    assert emails.exists() and not emails.exclude(status="sent", attempts=1).exists()
    assert Notification.objects.filter(channel="inbox").count() == emails.count()


def check_the_workspace_opens_generated_articles(client):
    editor = User.objects.get(username="bench-editor-01")
    client.force_login(editor)
    article = Article.objects.filter(status="approved").first()
    for url in [
        "/admin/",
        "/admin/articles/article/",
        "/admin/articles/article/?status__exact=under_review",
        f"/admin/articles/article/{article.pk}/change/",
        f"/admin/articles/article/{article.pk}/history/",
    ]:
        assert client.get(url).status_code == 200, url
    author = article.author
    client.force_login(author)
    assert client.get(f"/admin/articles/article/{article.pk}/history/").status_code == 200
