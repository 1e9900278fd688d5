"""Obligations end when their reason ends: reminders, expiries, leaving the board, deadlines.

One named regression test per case reproduced in issue 12; the clock moves with time-machine
(a hook in code, not the database).
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from articles.models import Article
from editorial.models import Event, EventKind
from editorial.notifications import reminders
from editorial.reads import worklists
from editorial.workflow import board, services
from editorial.workflow.invitations import board_date, default_dates, end_of_day
from editorial.workflow.permissions import Role
from reviewers.models import Invitation, InvitationStatus

pytestmark = pytest.mark.django_db

REMINDERS = [EventKind.REVIEW_DUE_SOON, EventKind.REVIEW_OVERDUE, EventKind.REVIEW_ESCALATED, EventKind.EXPIRED]


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def reminder_events():
    return Event.objects.filter(kind__in=REMINDERS).count()


def accepted_and_invited(in_state):
    article = in_state("under_review")  # reviewer1 accepted, reviewer2 invited
    accepted, invited = Invitation.objects.filter(article=article).order_by("pk")
    return article, accepted, invited


def run_the_beat_later(days=30):
    with time_machine.travel(timezone.now() + timedelta(days=days), tick=False):
        return reminders.expire_unanswered() + reminders.remind_reviews()


@pytest.mark.parametrize(
    ("name", "who", "reason"),
    [("withdraw", "author", "Not needed."), ("reject", "editor", "Out of scope."), ("request_changes", "editor", "x")],
)
def test_no_reminder_or_expiry_after_the_article_leaves_review(name, who, reason, in_state, author, editor):
    """Issue 12: a withdrawn (rejected, decided) article's invitations still got reminders and expiries."""
    article, accepted, invited = accepted_and_invited(in_state)
    actor = {"author": author, "editor": editor}[who]
    services.article_transition(article=article, actor=actor, name=name, reason=reason)
    assert run_the_beat_later() == 0
    assert reminder_events() == 0


def test_no_reminder_for_an_open_invitation_left_from_an_earlier_round(in_state):
    """Issue 12: a round-1 accepted review got "due soon" after round 2 opened (rows from before the rule)."""
    article, accepted, invited = accepted_and_invited(in_state)
    Article.objects.filter(pk=article.pk).update(review_round=2)  # as if round 2 had opened without closing 1
    assert run_the_beat_later() == 0
    assert fresh(invited).status == InvitationStatus.INVITED  # not expired either: it is out of round
    assert worklists.overdue_reviews().count() == 0


def test_reminders_still_go_for_the_current_round(in_state):
    article, accepted, invited = accepted_and_invited(in_state)
    assert run_the_beat_later() == 3  # the invited one expires; the accepted one is overdue and escalated


def test_removing_a_member_from_the_board_cancels_their_invitations_and_tells_the_editors(in_state, editor):
    """Issue 12: a member removed from the board kept getting "write your review" reminders."""
    article, accepted, invited = accepted_and_invited(in_state)
    reviewer = accepted.reviewer
    reviewer.groups.remove(Group.objects.get(name=Role.BOARD))
    accepted = fresh(accepted)
    assert (accepted.status, accepted.end_reason) == (InvitationStatus.CANCELLED, "left the board")
    assert fresh(invited).status == InvitationStatus.INVITED  # someone else's
    told = Event.objects.get(kind=EventKind.BOARD_MEMBER_LEFT)
    assert told.payload["invitations"] == [accepted.pk]
    assert "removed from the Medical Advisory Board" in told.payload["reason"]
    assert run_the_beat_later() == 1  # only the other member's invitation expires


def test_removing_members_through_the_group_cancels_too(in_state):
    article, accepted, invited = accepted_and_invited(in_state)
    Group.objects.get(name=Role.BOARD).user_set.remove(accepted.reviewer, invited.reviewer)
    assert {fresh(accepted).status, fresh(invited).status} == {InvitationStatus.CANCELLED}


def test_deactivating_a_member_cancels_their_invitations(in_state):
    article, accepted, invited = accepted_and_invited(in_state)
    reviewer = invited.reviewer
    reviewer.is_active = False
    reviewer.save()
    assert fresh(invited).status == InvitationStatus.CANCELLED
    assert fresh(accepted).status == InvitationStatus.ACCEPTED
    assert Event.objects.filter(kind=EventKind.BOARD_MEMBER_LEFT).count() == 1


def test_saving_an_active_member_costs_no_query_for_invitations(in_state):
    article, accepted, invited = accepted_and_invited(in_state)
    reviewer = accepted.reviewer
    with CaptureQueriesContext(connection) as queries:
        reviewer.save()
    assert not [q for q in queries if "reviewers_invitation" in q["sql"]]  # no look for invitations


def test_reminder_rule_costs_one_query(in_state):
    accepted_and_invited(in_state)
    with CaptureQueriesContext(connection) as queries:
        list(reminders.live_invitations(InvitationStatus.ACCEPTED))
    assert len(queries) == 1


# --- Deadlines ---------------------------------------------------------------------------------


def test_a_picked_date_is_the_end_of_that_day_in_the_board_time_zone(settings):
    settings.EDITORIAL_BOARD_TIME_ZONE = "America/New_York"
    moment = end_of_day(date(2026, 12, 16))
    assert moment.astimezone(ZoneInfo("UTC")) > datetime(2026, 12, 17, 4, 59, tzinfo=ZoneInfo("UTC"))
    assert moment.astimezone(ZoneInfo("UTC")) < datetime(2026, 12, 17, 5, 0, tzinfo=ZoneInfo("UTC"))
    assert board_date(moment) == date(2026, 12, 16)  # the form shows the day picked


def test_the_default_time_zone_is_the_site_time_zone(settings):
    settings.EDITORIAL_BOARD_TIME_ZONE = ""
    moment = end_of_day(date(2026, 12, 16))
    assert (moment.hour, moment.minute, str(moment.tzinfo)) == (23, 59, settings.TIME_ZONE)


def test_default_deadlines_end_a_day(settings):
    settings.EDITORIAL_BOARD_TIME_ZONE = "Europe/Paris"
    respond_by, due_at = default_dates(datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("UTC")))
    assert board_date(respond_by) == date(2026, 12, 1) + timedelta(days=settings.EDITORIAL_INVITATION_RESPONSE_DAYS)
    assert (respond_by.hour, respond_by.minute, due_at.hour) == (23, 59, 23)


def test_a_review_is_not_overdue_on_its_due_day(in_state, editor, reviewers, settings):
    """Issue 12: due dates were stored as 00:00 UTC, so a review was "overdue" at 09:00 on its own due day."""
    settings.EDITORIAL_BOARD_TIME_ZONE = "Europe/Paris"
    article = in_state("submitted")
    today = board_date(timezone.now())
    invitation = board.invitation_create(
        article=article,
        actor=editor,
        reviewers=reviewers[:1],
        respond_by=end_of_day(today + timedelta(days=1)),
        due_at=end_of_day(today + timedelta(days=5)),
    )[0]
    due_day_morning = datetime.combine(today + timedelta(days=5), datetime.min.time(), tzinfo=ZoneInfo("Europe/Paris"))
    board.invitation_accept(invitation=invitation, actor=invitation.reviewer, conflict="none")
    with time_machine.travel(due_day_morning + timedelta(hours=9), tick=False):
        assert worklists.overdue_reviews().count() == 0
        reminders.remind_reviews()
        assert not Event.objects.filter(kind=EventKind.REVIEW_OVERDUE).exists()
    with time_machine.travel(due_day_morning + timedelta(days=1, minutes=1), tick=False):
        assert worklists.overdue_reviews().count() == 1


def test_accepting_on_the_answer_by_day_works(in_state, editor, reviewers, settings):
    """Issue 12: accepting on the answer-by day was refused (the deadline was that day's midnight UTC)."""
    settings.EDITORIAL_BOARD_TIME_ZONE = "America/Los_Angeles"
    article = in_state("submitted")
    today = board_date(timezone.now())
    invitation = board.invitation_create(
        article=article,
        actor=editor,
        reviewers=reviewers[:1],
        respond_by=end_of_day(today + timedelta(days=2)),
        due_at=end_of_day(today + timedelta(days=9)),
    )[0]
    evening = datetime.combine(today + timedelta(days=2), datetime.min.time(), tzinfo=ZoneInfo("America/Los_Angeles"))
    with time_machine.travel(evening + timedelta(hours=22), tick=False):
        accepted = board.invitation_accept(invitation=invitation, actor=invitation.reviewer, conflict="none")
    assert accepted.status == InvitationStatus.ACCEPTED
