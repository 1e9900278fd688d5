"""The nightly check: the beat runs it, the history page says when, and auditors hear of a break."""

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from editorial.models import Event, EventKind, Notification, TransitionRecord
from editorial.notifications import delivery, inbox
from editorial.notifications.tasks import verify_audit_chain
from editorial.workflow import chain_verify
from tests.editorial.audit.test_chain import tampering


def test_the_beat_runs_the_check_every_night():
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "editorial.tasks.verify_audit_chain")
    assert entry["schedule"].hour == {2}


@pytest.mark.django_db
def test_a_clean_check_alerts_nobody_and_the_history_page_says_when(client, in_state, auditor):
    article = in_state("approved")
    assert verify_audit_chain()["breaks"] == 0
    assert not Event.objects.filter(kind=EventKind.AUDIT_CHAIN_BROKEN).exists()
    client.force_login(auditor)
    page = client.get(reverse("admin:articles_article_history", args=[article.pk])).content.decode()
    assert "Chain verified at" in page
    assert "no break in this article" in page


@pytest.mark.django_db
def test_a_break_alerts_the_auditors_in_their_inbox_and_shows_on_the_page(client, in_state, auditor, editor):
    article = in_state("approved")
    record = TransitionRecord.objects.filter(article=article, transition="approve").get()
    verify_audit_chain()
    with tampering() as cursor:
        cursor.execute("UPDATE editorial_transitionrecord SET reason = 'Edited' WHERE id = %s", [record.pk])
        cursor.execute(
            "INSERT INTO editorial_transitionrecord (article_id, transition, from_status, to_status, actor_id,"
            " actor_name, actor_role, reason, review_round, created_at)"
            " VALUES (%s, 'retract', 'approved', 'retracted', %s, '', '', 'Slipped in', 1, '2001-01-01 00:00+00')",
            [article.pk, editor.pk],
        )
    # The record slipped in since the last check, and the changed reason: the only article's
    # older chain is the rolling slice.
    assert verify_audit_chain()["breaks"] == 2
    alert = Event.objects.get(kind=EventKind.AUDIT_CHAIN_BROKEN)
    assert alert.payload["breaks"] == 2 and alert.payload["first_article"] == article.pk
    delivery.deliver(alert.pk)
    entries = list(inbox.inbox(auditor))
    assert [n.event_id for n in entries] == [alert.pk]
    assert not Notification.objects.filter(event=alert).exclude(recipient=auditor).exists()
    assert any("Audit trail check failed" in message.subject for message in mail.outbox)
    client.force_login(auditor)
    url = reverse("admin:articles_article_history", args=[article.pk])
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url).content.decode()
    assert "Chain <strong>broken</strong>" in page
    assert "not in the chain" in page
    assert len(queries) < 60
    # A full check finds the changed reason too; the page lists the breaks of both runs.
    assert len(chain_verify.verify(full=True).breaks) == 2
    page = client.get(url).content.decode()
    assert "reason changed since it was written" in page and "not in the chain" in page
