"""The relay: committed events handed to the broker once, by claims that never overlap.

The broker boundary is ``Celery.send_task``: recorded here, made to fail where a test needs a
broker that refuses. The real broker, relay and worker processes are in test_faults.py.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from editorial.models import Event, EventKind
from editorial.notifications import outbox, relay
from editorial.workflow.events import record_event
from tests.factories import make_article

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="LISTEN/NOTIFY and SKIP LOCKED")


@pytest.fixture
def published(monkeypatch):
    """What reached the broker: (task name, event id), in order."""
    sent = []
    monkeypatch.setattr(
        "celery.app.base.Celery.send_task", lambda self, name, args=None, **kwargs: sent.append((name, args[0]))
    )
    return sent


def events(author, count: int) -> list[int]:
    article = make_article(author)
    return [record_event(kind=EventKind.SUBMITTED, actor=author, article=article).pk for _ in range(count)]


@pytest.mark.django_db
def test_each_waiting_event_is_handed_over_once_in_order(author, published):
    ids = events(author, 3)
    assert relay.waiting()
    assert relay.relay_once(limit=2) == ids[:2]
    assert relay.relay_once(limit=2) == ids[2:]
    assert relay.relay_once(limit=2) == []
    assert published == [(relay.DELIVER_EVENT_TASK, event_id) for event_id in ids]
    assert not relay.waiting()
    assert not Event.objects.filter(relayed_at=None).exists()


@pytest.mark.django_db
def test_events_the_broker_did_not_take_wait_again(author, monkeypatch):
    ids = events(author, 3)
    taken = []

    def broker_fails_on_the_second(self, name, args=None, **kwargs):
        if len(taken) == 1:
            raise ConnectionError("Redis went away")
        taken.append(args[0])

    monkeypatch.setattr("celery.app.base.Celery.send_task", broker_fails_on_the_second)
    with pytest.raises(relay.BrokerUnavailable) as failure:
        relay.relay_once()
    assert failure.value.handed == 1 and taken == ids[:1]
    waiting = Event.objects.filter(relayed_at=None).order_by("id").values_list("pk", flat=True)
    assert list(waiting) == ids[1:]  # put back for the next pass


@pytest.mark.django_db
def test_done_events_and_events_already_relayed_are_left_alone(author, published):
    done, relayed, waiting = events(author, 3)
    Event.objects.filter(pk=done).update(status=Event.Status.DONE)
    Event.objects.filter(pk=relayed).update(relayed_at=timezone.now())
    relay.relay_once()
    assert published == [(relay.DELIVER_EVENT_TASK, waiting)]


@pytest.mark.django_db
def test_the_beats_requeue_takes_what_no_relay_took_and_what_stayed_pending(author, published, settings):
    settings.EDITORIAL_EVENT_REQUEUE_AFTER = 20
    never, stale, fresh, recent = events(author, 4)
    long_ago = timezone.now() - timedelta(minutes=10)
    Event.objects.filter(pk__in=[never, stale]).update(created_at=long_ago)
    Event.objects.filter(pk=stale).update(relayed_at=long_ago)  # handed over, never delivered
    Event.objects.filter(pk=recent).update(created_at=long_ago, relayed_at=timezone.now())
    assert outbox.requeue_pending_events() == 2
    assert sorted(event_id for _, event_id in published) == [never, stale]
    assert outbox.requeue_pending_events() == 0  # not again until ten times the delay
    assert fresh not in [event_id for _, event_id in published]


def leading() -> relay._Listener:
    listener = relay._Listener()
    assert listener.lead(), "no other relay leads in a test"
    return listener


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_notify_wakes_the_leader_at_commit_and_never_for_a_rollback(author):
    article = make_article(author)
    listener = leading()
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            record_event(kind=EventKind.SUBMITTED, actor=author, article=article)
            raise RuntimeError("rolled back")
        assert listener.wait(0.3) == []
        with transaction.atomic():
            record_event(kind=EventKind.SUBMITTED, actor=author, article=article)
            record_event(kind=EventKind.SUBMITTED, actor=author, article=article)
            assert listener.wait(0.3) == []  # nothing before the commit
        woken = listener.wait(2)
        while len(woken) < 2 and (more := listener.wait(1)):
            woken += more
        assert len(woken) == 2  # one for each event of the transaction
        Event.objects.update(status=Event.Status.DONE)
        assert listener.wait(0.3) == []  # an event finishing wakes nobody
        Event.objects.update(status=Event.Status.PENDING, relayed_at=None)  # the admin's retry
        assert sorted(listener.wait(2) + listener.wait(0.3)) == sorted(
            str(pk) for pk in Event.objects.values_list("pk", flat=True)
        )
    finally:
        listener.close()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_notification_carries_what_the_claim_would_hand_over(author, editor):
    """The trigger's row and the claim's are one: the leader publishes without reading the event.

    Read at commit (a deferred trigger): an article changed after its event was written, in
    the same transaction, is sent as the transaction left it.
    """
    listener = leading()
    try:
        article = make_article(author)
        with transaction.atomic():
            record_event(kind=EventKind.DECISION, actor=editor, article=article, payload={"letter": "ü" * 50})
            type(article).objects.filter(pk=article.pk).update(title="Renamed before the commit")
            record_event(kind=EventKind.AUDIT_CHAIN_BROKEN, actor=None, payload={"breaks": 1})  # no article, no actor
        payloads = listener.wait(2)
        while len(payloads) < 2 and (more := listener.wait(1)):
            payloads += more
        handed, rest = relay.from_notifications(payloads)
        assert not rest
        claimed = relay.claim(100).handed
        assert handed == claimed and len(handed) == 2
        decision = handed[min(handed)]
        assert decision["article"][1] == "Renamed before the commit"
    finally:
        listener.close()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_payload_too_large_to_carry_sends_the_id_and_is_claimed(author):
    listener = leading()
    try:
        event = record_event(
            kind=EventKind.SUBMITTED, actor=author, article=make_article(author), payload={"x": "y" * 9000}
        )
        payloads = listener.wait(2)
        assert payloads == [str(event.pk)]
        assert relay.from_notifications(payloads) == ({}, True)
        assert relay.from_notifications(["", "[1, 2]", "not json"]) == ({}, True)  # nothing this code reads
    finally:
        listener.close()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_one_relay_leads_and_another_takes_over_when_its_connection_ends():
    first, second = relay._Listener(), relay._Listener()
    try:
        assert first.lead()
        assert not second.lead() and not second.lead()
        first.close()  # PostgreSQL ends the session, and releases the lock, a moment after
        assert wait_for(second.lead)
        assert not first.lead()
    finally:
        first.close()
        second.close()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_follower_claims_only_what_waited_past_the_grace(author, published):
    old, young = events(author, 2)
    Event.objects.filter(pk=old).update(created_at=timezone.now() - timedelta(seconds=30))
    assert relay.relay_once(older_than=10) == [old]
    assert relay.relay_once(older_than=10) == []
    assert relay.relay_once() == [young]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_relays_claiming_at_once_never_take_the_same_event(author):
    ids = events(author, 300)
    claimed: list[list[int]] = [[], []]
    start = threading.Barrier(2)

    def claim_all(mine: list[int]) -> None:
        start.wait()
        try:
            while batch := relay.claim(7)[0]:
                mine.extend(batch)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim_all, args=(mine,)) for mine in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert claimed[0] and claimed[1], "both relays took part"
    assert not set(claimed[0]) & set(claimed[1])
    assert sorted(claimed[0] + claimed[1]) == ids


@pytest.mark.django_db(transaction=True)
def test_the_relay_loop_hands_over_what_is_committed_and_stops_when_told(author, published):
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, kwargs={"stop": stop}, daemon=True)
    thread.start()
    try:
        ids = events(author, 5)
        deadline = timezone.now() + timedelta(seconds=10)
        while len(published) < 5 and timezone.now() < deadline:
            stop.wait(0.05)
        assert sorted(event_id for _, event_id in published) == ids
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_leader_publishes_from_the_notification_and_stamps_after(author, monkeypatch):
    """No statement between the commit and the publish: the claim finds nothing, the stamp comes later."""
    sent, claims = [], []
    monkeypatch.setattr(
        "celery.app.base.Celery.send_task",
        lambda self, name, args=None, **kwargs: sent.append((args, Event.objects.filter(relayed_at=None).count())),
    )
    claim = relay.claim
    monkeypatch.setattr(relay, "claim", lambda limit, **kwargs: claims.append(claim(limit, **kwargs)) or claims[-1])
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, kwargs={"stop": stop}, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: claims)  # the first pass: nothing waits
        event = events(author, 1)[0]
        assert wait_for(lambda: sent)
        (event_id, handed), unstamped = sent[0]
        assert event_id == event and handed["kind"] == EventKind.SUBMITTED
        assert unstamped == 1  # published before the stamp
        assert wait_for(lambda: Event.objects.filter(pk=event).exclude(relayed_at=None).exists())
        assert all(not taken.ids for taken in claims)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert len(sent) == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_after_a_broker_outage_the_backlog_goes_once(author, monkeypatch, settings):
    """Regression: the notifications queued during the outage were published after the claim that took their events."""
    settings.EDITORIAL_RELAY_BACKOFF_MAX_SECONDS = 0.5
    down = threading.Event()
    down.set()
    sent = []

    def broker(self, name, args=None, **kwargs):
        if down.is_set():
            raise ConnectionError("Redis went away")
        sent.append(args[0])

    monkeypatch.setattr("celery.app.base.Celery.send_task", broker)
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, kwargs={"stop": stop}, daemon=True)
    thread.start()
    try:
        ids = events(author, 400)
        threading.Event().wait(2)  # several passes fail, each putting its claim back
        down.clear()
        assert wait_for(lambda: len(set(sent)) == len(ids), seconds=20)
        threading.Event().wait(1)  # what a second hand-over would take
    finally:
        stop.set()
        thread.join(timeout=10)
    assert sorted(sent) == ids  # each once


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_relay_outlives_the_database_dropping_its_connections(author, published):
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, kwargs={"stop": stop}, daemon=True)
    thread.start()
    try:
        first = events(author, 1)
        assert wait_for(lambda: len(published) == 1)
        with connection.cursor() as cursor:  # a restart, as the relay sees it: both its connections go
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        second = events(author, 2)
        assert wait_for(lambda: len(published) == 3), published
        assert sorted(event_id for _, event_id in published) == first + second
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(timeout=10)


def wait_for(predicate, seconds: float = 10.0) -> bool:
    deadline = timezone.now() + timedelta(seconds=seconds)
    while timezone.now() < deadline:
        if predicate():
            return True
        threading.Event().wait(0.05)
    return False
