"""The review lifecycle as a model-based test: random people doing random things, rules checked after each.

A Hypothesis ``RuleBasedStateMachine`` drives the real services (articles, rounds, invitations,
reviews with signatures, decisions, revisions, withdrawals, retractions, board membership), moves
the clock forward through time-machine (a hook in code, not the database) and runs the beat's
reminder and expiry tasks. After every step it checks the invariants of issue 12:

- at most one open round per article, and no open invitation outside the article's current
  round, for an article not in review, or for a person no longer on the board;
- the reminder and expiry tasks record nothing for a closed or out-of-round invitation;
- the public page shows the published version if any, else the last submitted one, never the
  working text; a retraction notice once retracted; the update note only while an update is
  submitted or under review;
- every status change has exactly one transition record and one history row;
- ``valid_signatures`` equals the approval rule's count;
- nobody acts on their own article;
- the dashboards' counts match the worklists they link to.

Each example runs in a savepoint rolled back at its end. Bounded for CI (``LIFECYCLE_EXAMPLES``
below); ``pytest --deep`` (``make test-deep``) runs many more, longer sequences.
"""

import os
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from articles.models import Article, ArticleStatus
from editorial.models import Event, EventKind, TransitionRecord
from editorial.notifications import reminders
from editorial.reads import public, worklists
from editorial.workflow import board, services
from editorial.workflow.approval import approval_status
from editorial.workflow.exceptions import EditorialError
from editorial.workflow.permissions import Role
from editorial.workspace import dashboard
from reviewers.models import OPEN, Invitation, InvitationStatus, Signature
from tests.conftest import ALL_TICKED
from tests.factories import UserFactory, make_article, make_board_member, signing_request

S = ArticleStatus
ON_POSTGRES = "postgresql" in django_settings.DATABASES["default"]["ENGINE"]

#: (examples, steps per example): CI's bound, about two minutes per database here; --deep: far more.
LIFECYCLE_EXAMPLES = {"sqlite": (50, 25), "postgresql": (25, 25), "deep": (1000, 60)}
if os.environ.get("LIFECYCLE_EXAMPLES"):  # measuring: "examples,steps"
    LIFECYCLE_EXAMPLES["sqlite"] = LIFECYCLE_EXAMPLES["postgresql"] = tuple(
        int(n) for n in os.environ["LIFECYCLE_EXAMPLES"].split(",")
    )

TRANSITIONS = [
    "submit",
    "resubmit",
    "start_review",
    "approve",
    "request_changes",
    "reject",
    "withdraw",
    "retract",
    "revise",
    "discard_revision",
]
AUTHOR_TRANSITIONS = {"submit", "resubmit", "withdraw", "revise", "discard_revision"}
EDITOR_DECISIONS = {"start_review", "approve", "request_changes", "reject", "retract"}
REMINDER_KINDS = {EventKind.REVIEW_DUE_SOON, EventKind.REVIEW_OVERDUE, EventKind.REVIEW_ESCALATED}
IN_REVIEW = (S.SUBMITTED, S.UNDER_REVIEW)
RECOMMENDATIONS = ["approve", "approve", "minor_revisions", "reject"]

index = st.integers(min_value=0, max_value=99)
#: Who acts: mostly someone whose role fits, sometimes anyone (the policy must refuse them).
role = st.sampled_from(["author", "editor", "editor", "writing_editor", "anyone"])


def pick(items, i):
    return items[i % len(items)] if items else None


def holds_board_role(user) -> bool:
    return user.is_active and user.groups.filter(name=Role.BOARD).exists()


class Lifecycle(RuleBasedStateMachine):
    """One editorial office: two authors, two editors (one also writes), five board members."""

    cast: dict = {}

    def __init__(self):
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.clock = time_machine.travel(timezone.now(), tick=False)
        self.traveller = self.clock.start()
        self.articles: list[int] = []
        self.edits = 0
        self.last_event = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    def teardown(self):
        self.clock.stop()
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    # --- People and things -------------------------------------------------------------------

    def person(self, i, as_=None, article=None):
        if as_ == "author" and article is not None:
            return article.author
        if as_ == "editor":
            return self.cast["editors"][0]
        if as_ == "writing_editor":
            return self.cast["editors"][1]
        return pick(self.cast["people"], i)

    def article(self, i):
        pk = pick(self.articles, i)
        return Article.objects.get(pk=pk) if pk else None

    def invitation(self, i):
        pks = list(Invitation.objects.filter(article_id__in=self.articles).order_by("pk").values_list("pk", flat=True))
        pk = pick(pks, i)
        return Invitation.objects.select_related("article", "reviewer").get(pk=pk) if pk else None

    def attempt(self, call):
        """Run a service; a refusal must be one of the project's errors and change nothing."""
        before = self.fingerprint()
        try:
            return call()
        except EditorialError:
            assert self.fingerprint() == before, "a refused action changed something"
            return None

    def fingerprint(self):
        return (
            TransitionRecord.objects.count(),
            Event.objects.count(),
            tuple(Invitation.objects.order_by("pk").values_list("status", "row_version")),
            tuple(Article.objects.order_by("pk").values_list("status", "row_version", "valid_signatures")),
        )

    # --- Rules: what people do --------------------------------------------------------------

    @initialize(
        who=index,
        members=st.sets(st.integers(0, 4), min_size=1, max_size=4),
        start=st.sampled_from(["submitted", "changes_requested", "approved"]),
    )
    def an_article_is_submitted_and_reviewers_invited(self, who, members, start):
        """Start where the board's work starts: a submitted article with reviewers invited, or
        one the board reviewed and the editor returned for changes (working text that no one
        submitted is near), or an approved one (revisions, discards and retractions are near)."""
        self.write_an_article(who)
        article = services.article_submit(article=self.article(0), actor=self.article(0).author)
        editor = self.cast["editors"][0] if article.author_id != self.cast["editors"][0].pk else self.cast["editors"][1]
        people = [self.cast["members"][m] for m in sorted(members) if self.cast["members"][m].pk != article.author_id]
        reviewed = start != "submitted"
        if reviewed:
            people = [m for m in self.cast["members"] if m.pk != article.author_id][:2]
        if not people:
            return
        invitations = board.invitation_create(article=article, actor=editor, reviewers=people)
        if not reviewed:
            return
        for invitation in invitations:
            board.invitation_accept(invitation=invitation, actor=invitation.reviewer, conflict="none")
            board.review_submit(
                invitation=Invitation.objects.get(pk=invitation.pk),
                actor=invitation.reviewer,
                recommendation="approve",
                checklist=ALL_TICKED,
                password="pw",
                request=signing_request(),
            )
        current = Article.objects.get(pk=article.pk)
        if start == "approved":
            services.article_approve(article=current, actor=editor, password="pw", request=signing_request())
        else:
            services.article_request_changes(article=current, actor=editor, reason="Add the doses.")

    @rule(who=index)
    def write_an_article(self, who):
        if len(self.articles) >= 2:
            return
        author = pick(self.cast["writers"], who)
        article = make_article(author, title=f"Question {len(self.articles) + 1}?")
        self.articles.append(article.pk)

    @rule(a=index, as_=role, who=index)
    def edit_the_working_text(self, a, as_, who):
        article = self.article(a)
        if article is None:
            return
        self.edits += 1
        summary = f"Working text {self.edits}, saved and not submitted."
        self.attempt(
            lambda: services.article_update(
                article=article,
                actor=self.person(who, as_, article),
                fields={"summary": summary},
                expected_row_version=article.row_version,
            )
        )

    @rule(a=index, n=index, any_name=st.booleans(), as_=role, who=index)
    def fire(self, a, n, any_name, as_, who):
        """A transition the machine allows now (half the time), by someone whose role fits (mostly)."""
        article = self.article(a)
        if article is None:
            return
        allowed = [t.name for t in article.get_available_status_transitions()]
        name = pick(TRANSITIONS if any_name or not allowed else allowed, n)
        if as_ in ("author", "editor"):  # the role that fits this transition
            as_ = "author" if name in AUTHOR_TRANSITIONS else "editor"
        self.attempt(
            lambda: services.article_transition(
                article=article,
                actor=self.person(who, as_, article),
                name=name,
                reason="Because.",
                password="pw",
                request=signing_request(),
                override_reason="Overruled." if name == "approve" else "",
            )
        )

    @rule(
        a=index, as_=role, who=index, members=st.sets(st.integers(0, 4), min_size=1, max_size=3), confirm=st.booleans()
    )
    def invite(self, a, as_, who, members, confirm):
        article = self.article(a)
        if article is None:
            return
        people = [self.cast["members"][m] for m in sorted(members)]
        self.attempt(
            lambda: board.invitation_create(
                article=article,
                actor=self.person(who, as_, article),
                reviewers=people,
                conflict_override="Minor interest." if confirm else "",
            )
        )

    @rule(i=index, own=st.booleans(), who=index, accept=st.booleans(), declare=st.booleans())
    def answer(self, i, own, who, accept, declare):
        invitation = self.invitation(i)
        if invitation is None:
            return
        actor = invitation.reviewer if own else self.person(who)
        if accept:
            self.attempt(
                lambda: board.invitation_accept(
                    invitation=invitation,
                    actor=actor,
                    conflict="declared" if declare else "none",
                    description="Gave a talk." if declare else "",
                )
            )
        else:
            self.attempt(lambda: board.invitation_decline(invitation=invitation, actor=actor, reason="Too busy."))

    @rule(
        i=index, own=st.booleans(), who=index, recommendation=st.sampled_from(["approve", "minor_revisions", "reject"])
    )
    def review(self, i, own, who, recommendation):
        invitation = self.invitation(i)
        if invitation is None:
            return
        self.attempt(
            lambda: board.review_submit(
                invitation=invitation,
                actor=invitation.reviewer if own else self.person(who),
                recommendation=recommendation,
                checklist=ALL_TICKED,
                comments_to_author="Comments.",
                password="pw",
                request=signing_request(),
            )
        )

    @rule(i=index, as_=role, who=index)
    def cancel(self, i, as_, who):
        invitation = self.invitation(i)
        if invitation is not None:
            actor = self.person(who, as_, invitation.article)
            self.attempt(lambda: board.invitation_cancel(invitation=invitation, actor=actor, reason="No."))

    @rule(m=st.integers(0, 4), how=st.sampled_from(["leave", "rejoin", "deactivate", "reactivate"]))
    def membership(self, m, how):
        member = type(self.cast["members"][m]).objects.get(pk=self.cast["members"][m].pk)
        group = Group.objects.get(name=Role.BOARD)
        if how == "leave":
            member.groups.remove(group)
        elif how == "rejoin":
            member.groups.add(group)
        else:
            member.is_active = how == "reactivate"
            member.save()

    @rule(hours=st.integers(min_value=1, max_value=24 * 20))
    def time_passes(self, hours):
        self.traveller.shift(timedelta(hours=hours))

    @rule()
    def the_beat_runs(self):
        before = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        reminders.expire_unanswered()
        reminders.remind_reviews()
        reminders.rereviews_due()
        for event in Event.objects.filter(pk__gt=before).select_related("article"):
            if event.kind in REMINDER_KINDS:
                invitation = Invitation.objects.select_related("reviewer").get(pk=event.payload["invitation"])
                assert invitation.status == InvitationStatus.ACCEPTED, f"a reminder for a {invitation.status} one"
                assert invitation.review_round == event.article.review_round, "a reminder out of round"
                assert event.article.status == S.UNDER_REVIEW, "a reminder for an article not under review"
                assert holds_board_role(invitation.reviewer), "a reminder to someone off the board"
            if event.kind == EventKind.EXPIRED:
                invitation = Invitation.objects.get(pk=event.payload["invitation"])
                assert invitation.review_round == event.article.review_round, "an expiry out of round"
                assert event.article.status in IN_REVIEW, "an expiry for an article not in review"

    # --- Invariants ---------------------------------------------------------------------------

    @invariant()
    def open_invitations_belong_to_the_current_round_of_an_article_in_review(self):
        for invitation in Invitation.objects.filter(status__in=OPEN).select_related("article", "reviewer"):
            article = invitation.article
            assert article.status in IN_REVIEW, f"an open invitation on a {article.status} article"
            assert invitation.review_round == article.review_round, "an open invitation of an earlier round"
            assert holds_board_role(invitation.reviewer), "an open invitation for someone off the board"

    @invariant()
    def the_public_page_shows_a_submitted_version(self):
        for article in Article.objects.filter(pk__in=self.articles).select_related(
            "published_version", "current_version"
        ):
            page = public.public_page(article.slug)
            if article.status in public.NEVER_PUBLIC or (
                article.published_version is None and article.status == S.DRAFT
            ):
                assert page is None, f"a {article.status} article is public"
                continue
            assert page is not None, f"a {article.status} article is missing from the site"
            shown = article.published_version or article.current_version
            assert (page.title, page.summary) == (shown.content["title"], shown.content["summary"])
            if article.summary != shown.content["summary"]:  # an edit nobody submitted (yet)
                assert page.summary != article.summary, "the working text is public"
            if article.status == S.RETRACTED:
                assert page.status == public.ReaderStatus.RETRACTED
            update = article.published_version is not None and article.status in IN_REVIEW
            assert page.update_in_review == update

    @invariant()
    def every_status_change_has_one_record_and_one_history_row(self):
        for pk in self.articles:
            statuses = list(
                Article.history.filter(id=pk).order_by("history_date", "history_id").values_list("status", flat=True)
            )
            changes = list(zip(statuses, statuses[1:], strict=False))
            changes = [(before, after) for before, after in changes if before != after]
            records = list(
                TransitionRecord.objects.filter(article_id=pk).order_by("pk").values_list("from_status", "to_status")
            )
            assert records == changes

    @invariant()
    def the_signature_count_is_the_approval_rules(self):
        for article in Article.objects.filter(pk__in=self.articles, status=S.UNDER_REVIEW):
            assert article.valid_signatures == len(approval_status(article).valid)

    @invariant()
    def nobody_acts_on_their_own_article(self):
        for article in Article.objects.filter(pk__in=self.articles):
            decided = TransitionRecord.objects.filter(article=article, transition__in=EDITOR_DECISIONS)
            assert not decided.filter(actor_id=article.author_id).exists()
            assert not Invitation.objects.filter(article=article, reviewer_id=article.author_id).exists()
            assert not Signature.objects.filter(article=article, signer_id=article.author_id).exists()

    @invariant()
    def dashboards_count_what_the_worklists_hold(self):
        for member in self.cast["members"]:
            member = type(member).objects.get(pk=member.pk)
            due = next(panel for panel in dashboard.board_panels(member) if panel.key == "due")
            live = reminders.live_invitations(InvitationStatus.ACCEPTED).filter(reviewer=member)
            mine = Invitation.objects.filter(reviewer=member, status=InvitationStatus.ACCEPTED)
            assert due.count == mine.count() == live.count(), "a review in hand of a closed round"
        for editor in self.cast["editors"]:
            articles = Article.objects.exclude(author=editor)
            for panel in dashboard.editor_panels(editor):
                if panel.key in worklists.STAGE_BUILDERS and panel.key != "overdue":
                    assert panel.count == worklists.STAGE_BUILDERS[panel.key](articles).count(), panel.key
                elif panel.key == "overdue":
                    assert panel.count == worklists.overdue_reviews().count()


def lifecycle_bounds(deep: bool) -> tuple[int, int]:
    if deep:
        return LIFECYCLE_EXAMPLES["deep"]
    return LIFECYCLE_EXAMPLES["postgresql" if ON_POSTGRES else "sqlite"]


@pytest.mark.django_db
def test_the_review_lifecycle_keeps_its_invariants_under_any_sequence(request):
    """Random sequences of everything people and the beat do; the invariants hold after each step."""
    writer_editor = UserFactory(username="writing_editor", roles=[Role.EDITOR, Role.AUTHOR])
    member_author = make_board_member("member_author", "Mo Author", "MD")
    member_author.groups.add(Group.objects.get_or_create(name=Role.AUTHOR)[0])
    members = [make_board_member(f"m{n}", f"Member {n}", "MD") for n in range(4)] + [member_author]
    authors = [UserFactory(username=f"a{n}", roles=[Role.AUTHOR]) for n in range(2)]
    editors = [UserFactory(username="e1", roles=[Role.EDITOR]), writer_editor]
    User = type(writer_editor)
    fresh = {user.pk: user for user in User.objects.filter(pk__in=[u.pk for u in [*members, *authors, *editors]])}
    members, authors, editors = ([fresh[u.pk] for u in group] for group in (members, authors, editors))
    writer_editor, member_author = editors[1], members[-1]
    Lifecycle.cast = {
        "people": [*authors, *editors, *members],
        "writers": [*authors, writer_editor, member_author],
        "editors": editors,
        "members": members,
    }
    examples, steps = lifecycle_bounds(request.config.getoption("--deep"))
    run_state_machine_as_test(
        Lifecycle,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )
    assert connection.in_atomic_block  # every example ran inside the test's transaction
