"""Notifications: inbox, preferences and digests, receipts, dead letters, reminders."""

import contextlib
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from editorial.models import (
    Delivery,
    Digest,
    Event,
    EventKind,
    Notification,
    NotificationPreference,
    NotificationSettings,
)
from editorial.notifications import delivery, digests, inbox, reminders
from editorial.notifications.delivery import DeliveryIncomplete
from editorial.workflow import board, services
from reviewers.models import Invitation
from tests.factories import make_article

N = Notification.Status


def deliver_all():
    for event in Event.objects.filter(status=Event.Status.PENDING).order_by("id"):
        with contextlib.suppress(DeliveryIncomplete):
            delivery.deliver(event.pk)


@pytest.mark.django_db
def test_every_recipient_gets_an_inbox_entry_and_reads_it_alone(author, editor, second_editor):
    services.article_submit(article=make_article(author), actor=author)
    deliver_all()
    assert inbox.unread_count(editor) == 1 and inbox.unread_count(second_editor) == 1
    theirs = Notification.objects.get(recipient=second_editor, channel="inbox")
    assert inbox.mark_read(editor, [theirs.pk]) == 0  # not yours to mark
    assert inbox.mark_read(editor) == 1
    assert inbox.unread_count(editor) == 0 and inbox.unread_count(second_editor) == 1


@pytest.mark.django_db
def test_inbox_page_shows_unread_counts_and_marks_read(client, author, editor):
    services.article_submit(article=make_article(author), actor=author)
    deliver_all()
    client.force_login(editor)
    page = client.get(reverse("admin:inbox")).content.decode()
    assert "Submitted for review: How is condition X treated?" in page
    assert 'class="unread-count"' in client.get(reverse("admin:index")).content.decode()
    client.post(reverse("admin:inbox"), {"all": "1"})
    assert inbox.unread_count(editor) == 0


@pytest.mark.django_db
def test_opening_the_page_a_notification_leads_to_reads_it(client, in_state, author, editor, reviewers):
    article = in_state("submitted")
    other = in_state("submitted", make_article(author, title="Another question?"))
    invitations = board.invitation_create(article=article, actor=editor, reviewers=reviewers[:1])
    board.invitation_create(article=other, actor=editor, reviewers=reviewers[:1])
    deliver_all()
    reviewer = reviewers[0]
    assert inbox.unread_count(reviewer) == 2
    client.force_login(reviewer)
    client.get(reverse("admin:reviewers_invitation_change", args=[invitations[0].pk]))
    assert inbox.unread_count(reviewer) == 1  # the other article's invitation stays unread
    assert inbox.unread_count(editor) == 2  # each person reads their own
    client.force_login(editor)
    client.get(reverse("admin:articles_article_change", args=[article.pk]))
    assert inbox.unread_count(editor) == 1


@pytest.mark.django_db
def test_a_digest_preference_holds_the_email_for_one_daily_message(client, author, editor):
    client.force_login(editor)
    client.post(
        reverse("admin:notification_preferences"),
        {f"kind-{EventKind.SUBMITTED}": Delivery.DIGEST, f"kind-{EventKind.WITHDRAWN}": Delivery.IMMEDIATE},
    )
    for n in range(3):
        services.article_submit(article=make_article(author, title=f"Question {n}?"), actor=author)
    deliver_all()
    assert mail.outbox == []
    assert Notification.objects.filter(recipient=editor, channel="email", status=N.DIGEST).count() == 3
    assert inbox.unread_count(editor) == 3  # the inbox gets everything at once
    collected = digests.collect_digests()
    assert len(collected) == 1 and digests.collect_digests() == []
    digest = Digest.objects.get(pk=collected[0])
    assert digest.event.kind == EventKind.DIGEST and digest.event.status == Event.Status.PENDING
    assert digest.event.relayed_at is None  # waiting for the relay like any other event
    delivery.deliver(digest.event_id)
    delivery.deliver(digest.event_id)  # a redelivered task sends nothing more
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "Your editorial digest: 3 updates"
    assert all(f"Question {n}?" in message.body for n in range(3))
    assert Notification.objects.filter(digest=digest, status=N.SENT).count() == 3
    digest_email = Notification.objects.get(event=digest.event)  # its own delivery, no inbox entry
    assert (digest_email.channel, digest_email.status, digest_email.attempts) == ("email", N.SENT, 1)
    assert message.extra_headers["Message-ID"] == f"<{digest_email.idempotency_key}@editorial.invalid>"
    assert Event.objects.get(pk=digest.event_id).status == Event.Status.DONE


@pytest.mark.django_db
def test_a_digest_that_cannot_be_sent_is_dead_lettered_and_retried_by_the_admin(client, author, editor, monkeypatch):
    NotificationPreference.objects.create(user=editor, kind=EventKind.SUBMITTED, delivery=Delivery.DIGEST)
    services.article_submit(article=make_article(author), actor=author)
    deliver_all()
    digest = Digest.objects.get(pk=digests.collect_digests()[0])

    def refuse(self, *args, **kwargs):
        raise ConnectionRefusedError("SMTP refused")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    with pytest.raises(DeliveryIncomplete):
        delivery.deliver(digest.event_id)
    assert delivery.give_up(digest.event_id) == 1
    dead = Notification.objects.get(event=digest.event_id)
    assert dead.status == N.DEAD and "SMTP refused" in dead.last_error
    monkeypatch.undo()

    client.force_login(editor)
    client.post(reverse("admin:editorial_notification_changelist"), {"action": "retry", "_selected_action": [dead.pk]})
    event = Event.objects.get(pk=digest.event_id)
    assert (event.status, event.relayed_at) == (Event.Status.PENDING, None)  # back in the relay's queue
    delivery.deliver(event.pk)
    assert [m.subject for m in mail.outbox] == ["Your editorial digest: 1 update"]
    assert Notification.objects.get(recipient=editor, channel="email", digest=digest).status == N.SENT


@pytest.mark.django_db
def test_the_actor_is_told_only_if_they_asked_for_receipts(author, editor):
    NotificationSettings.objects.create(user=author, copy_own_actions=True)
    article = services.article_submit(article=make_article(author), actor=author)
    delivery.deliver(Event.objects.get(article=article).pk)
    assert sorted(m.to[0] for m in mail.outbox) == ["author@example.org", "editor@example.org"]


@pytest.mark.django_db
def test_dead_letters_after_the_last_retry_and_a_manual_retry(client, author, editor, monkeypatch, settings):
    article = services.article_submit(article=make_article(author), actor=author)
    event = Event.objects.get(article=article)

    def refuse(self, *args, **kwargs):
        raise ConnectionRefusedError("SMTP refused")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    with pytest.raises(DeliveryIncomplete):
        delivery.deliver(event.pk)
    assert delivery.give_up(event.pk) == 1
    dead = Notification.objects.get(event=event, channel="email")
    assert dead.status == N.DEAD and "SMTP refused" in dead.last_error
    assert Event.objects.get(pk=event.pk).status == Event.Status.DONE

    client.force_login(editor)
    log = client.get(reverse("admin:editorial_notification_changelist") + "?status__exact=dead").content.decode()
    assert "SMTP refused" in log
    monkeypatch.undo()

    def no_broker_in_a_request(*args, **kwargs):
        raise AssertionError("the admin's request published to the broker")

    monkeypatch.setattr("celery.app.base.Celery.send_task", no_broker_in_a_request)
    response = client.post(
        reverse("admin:editorial_notification_changelist"),
        {"action": "retry", "_selected_action": [dead.pk]},
    )
    assert response.status_code == 302
    dead.refresh_from_db()
    assert dead.status == N.PENDING
    assert Event.objects.filter(pk=event.pk, status=Event.Status.PENDING, relayed_at=None).exists()
    delivery.deliver(event.pk)
    assert len(mail.outbox) == 1 and Notification.objects.get(pk=dead.pk).status == N.SENT


@pytest.mark.django_db
def test_auditors_read_the_log_but_cannot_retry(client, auditor):
    client.force_login(auditor)
    assert client.get(reverse("admin:editorial_notification_changelist")).status_code == 200
    response = client.post(
        reverse("admin:editorial_notification_changelist"), {"action": "retry", "_selected_action": [1]}
    )
    assert response.status_code in (200, 302, 403)
    assert not Notification.objects.exists()


# --- Reminders -------------------------------------------------------------------------------------


def accepted_invitation(in_state, editor, reviewer, due_at):
    article = in_state("submitted")
    invitation = board.invitation_create(
        article=article,
        actor=editor,
        reviewers=[reviewer],
        due_at=due_at,
        respond_by=timezone.now() + timedelta(hours=1),
    )[0]
    return board.invitation_accept(invitation=invitation, actor=reviewer, conflict="none")


@pytest.mark.django_db
def test_review_due_soon_is_reminded_once_per_due_date(in_state, editor, reviewers):
    invitation = accepted_invitation(in_state, editor, reviewers[0], timezone.now() + timedelta(hours=30))
    assert reminders.remind_reviews() == 1
    assert reminders.remind_reviews() == 0  # however often the schedule runs
    event = Event.objects.get(kind=EventKind.REVIEW_DUE_SOON)
    delivery.deliver(event.pk)
    assert [m.to for m in mail.outbox] == [[reviewers[0].email]]
    assert f"/admin/reviewers/invitation/{invitation.pk}/change/" in mail.outbox[0].body


@pytest.mark.django_db
def test_overdue_reviews_remind_then_escalate_after_the_grace_period(in_state, editor, reviewers, settings):
    invitation = accepted_invitation(in_state, editor, reviewers[0], timezone.now() + timedelta(hours=2))
    Invitation.objects.filter(pk=invitation.pk).update(due_at=timezone.now() - timedelta(days=1))
    assert reminders.remind_reviews() == 1  # overdue, within the grace period
    Invitation.objects.filter(pk=invitation.pk).update(
        due_at=timezone.now() - timedelta(days=settings.EDITORIAL_ESCALATION_GRACE_DAYS + 1)
    )
    assert reminders.remind_reviews() == 2  # a new due date: reminded again, and escalated
    assert reminders.remind_reviews() == 0
    escalation = Event.objects.get(kind=EventKind.REVIEW_ESCALATED)
    delivery.deliver(escalation.pk)
    assert [m.to for m in mail.outbox] == [[editor.email]]


@pytest.mark.django_db
def test_unanswered_invitations_expire_and_the_editor_is_told(in_state, editor, reviewers):
    article = in_state("submitted")
    invitation = board.invitation_create(article=article, actor=editor, reviewers=[reviewers[0]])[0]
    assert reminders.expire_unanswered() == 0
    Invitation.objects.filter(pk=invitation.pk).update(respond_by=timezone.now() - timedelta(minutes=1))
    assert reminders.expire_unanswered() == 1
    assert reminders.expire_unanswered() == 0
    assert Invitation.objects.get(pk=invitation.pk).status == "expired"
    delivery.deliver(Event.objects.get(kind=EventKind.EXPIRED).pk)
    assert [m.to for m in mail.outbox] == [[editor.email]]


@pytest.mark.django_db
def test_rereview_due_tells_the_editors_once(in_state, editor):
    from articles.models import Article

    article = in_state("approved")
    assert reminders.rereviews_due() == 0
    Article.objects.filter(pk=article.pk).update(review_due_at=timezone.now() - timedelta(days=1))
    assert reminders.rereviews_due() == 1
    assert reminders.rereviews_due() == 0
    delivery.deliver(Event.objects.get(kind=EventKind.REREVIEW_DUE).pk)
    assert [m.to for m in mail.outbox] == [[editor.email]]
    assert "Due for re-review" in mail.outbox[0].subject
