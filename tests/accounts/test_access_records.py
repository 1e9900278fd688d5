"""django-axes' attempts and logs are deleted once older than ACCOUNTS_ACCESS_RECORD_DAYS (90),
by the beat; an attempt that still counts towards a lock never is."""

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts import lockout
from editorial.notifications.tasks import purge_access_records
from tests.accounts.helpers import post_password

pytestmark = pytest.mark.django_db

DAYS = 90


def test_the_beat_purges_them_every_night():
    schedule = settings.CELERY_BEAT_SCHEDULE.values()
    entry = next(e for e in schedule if e["task"] == "editorial.tasks.purge_access_records")
    assert entry["schedule"].hour == {4}
    assert settings.ACCOUNTS_ACCESS_RECORD_DAYS == DAYS


def aged(model, days: float, **fields):
    """A row of ``model`` written ``days`` ago (axes stamps ``attempt_time`` itself on insert)."""
    row = model.objects.create(user_agent=f"agent {days}", ip_address="10.2.2.2", username="someone", **fields)
    model.objects.filter(pk=row.pk).update(attempt_time=timezone.now() - timedelta(days=days))
    return row.pk


def test_rows_older_than_the_retention_go_and_newer_ones_stay():
    old = {
        AccessAttempt: aged(AccessAttempt, DAYS + 1, failures_since_start=3),
        AccessLog: aged(AccessLog, DAYS + 5),
        AccessFailureLog: aged(AccessFailureLog, DAYS + 0.5),
    }
    kept = {
        AccessAttempt: aged(AccessAttempt, DAYS - 1, failures_since_start=1),
        AccessLog: aged(AccessLog, 1),
        AccessFailureLog: aged(AccessFailureLog, DAYS - 0.5),
    }
    assert purge_access_records() == {"attempts": 1, "logs": 1, "failure_logs": 1}
    for model in old:
        assert list(model.objects.values_list("pk", flat=True)) == [kept[model]], model
    assert purge_access_records() == {"attempts": 0, "logs": 0, "failure_logs": 0}


def test_failures_of_the_login_form_are_gone_after_the_retention(author):
    for _ in range(3):
        post_password(Client(), "author", "not-it", address="10.3.3.3")
    assert AccessAttempt.objects.filter(username="author").exists()
    with time_machine.travel(timezone.now() + timedelta(days=DAYS, hours=1)):
        assert purge_access_records()["attempts"] == 1
    assert not AccessAttempt.objects.exists()


def test_an_attempt_that_still_counts_towards_a_lock_is_kept(settings, author):
    settings.ACCOUNTS_ACCESS_RECORD_DAYS = 0
    for _ in range(5):
        post_password(Client(), "author", "not-it", address="10.4.4.4")
    assert lockout.is_locked(username="author")
    assert purge_access_records()["attempts"] == 0  # within the cool-off: the lock holds
    assert lockout.is_locked(username="author")
    settings.AXES_COOLOFF_TIME = None  # no cool-off: a lock lasts until an operator lifts it
    with time_machine.travel(timezone.now() + timedelta(days=DAYS * 2)):
        assert purge_access_records()["attempts"] == 0
    assert AccessAttempt.objects.filter(username="author").exists()
