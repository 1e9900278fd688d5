"""Idempotency-Key on creating POSTs: a retry is answered with the first answer, never redone."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from articles.models import Article
from editorial.models import IdempotencyKey
from tests.processes import wait_until

DRAFT = {
    "title": "What is the first-line treatment for scabies?",
    "summary": "Topical permethrin for the patient and close contacts.",
    "body": "Treat everyone in the household at once [1].",
    "patient_body": "Everyone you live with should be treated on the same day [1].",
    "references": [{"title": "Scabies guideline", "year": 2021}],
}


def post(api, body, key=None):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return api.post("/api/v1/articles/", body, format="json", **headers)


@pytest.fixture
def api(author):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=author)[1]}")
    return client


@pytest.mark.django_db
def test_a_retry_with_the_same_key_gets_the_first_answer_and_writes_nothing(api, author):
    first = post(api, DRAFT, key="run-42")
    assert first.status_code == 201, first.json()
    with CaptureQueriesContext(connection) as queries:
        again = post(api, DRAFT, key="run-42")
    assert again.status_code == 201
    assert again.content == first.content  # the same bytes, keys in the same order
    assert again["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert Article.objects.filter(author=author).count() == 1
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(("INSERT", "UPDATE"))]
    assert [sql for sql in writes if "idempotency" not in sql and "knox" not in sql] == []
    # Without a key every POST creates, as before.
    assert post(api, DRAFT).status_code == 201 and post(api, DRAFT).status_code == 201
    assert Article.objects.filter(author=author).count() == 3


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_a_422(api, author):
    assert post(api, DRAFT, key="run-42").status_code == 201
    other = post(api, {**DRAFT, "title": "Another question?"}, key="run-42")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert Article.objects.filter(author=author).count() == 1


@pytest.mark.django_db
def test_keys_are_each_callers_own(api, author, other_author):
    assert post(api, DRAFT, key="run-42").status_code == 201
    theirs = APIClient()
    theirs.force_authenticate(other_author)
    assert post(theirs, DRAFT, key="run-42").status_code == 201
    assert Article.objects.count() == 2


@pytest.mark.django_db
def test_a_refused_request_leaves_no_key_and_the_corrected_one_may_use_it(api, author):
    refused = post(api, {**DRAFT, "title": ""}, key="run-43")
    assert refused.status_code == 400
    assert not IdempotencyKey.objects.exists()
    assert post(api, DRAFT, key="run-43").status_code == 201


@pytest.mark.django_db
def test_a_key_is_forgotten_after_its_lifetime(api, author, settings):
    settings.EDITORIAL_IDEMPOTENCY_KEY_HOURS = 24
    assert post(api, DRAFT, key="run-44").status_code == 201
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=23, minutes=59))
    assert post(api, DRAFT, key="run-44")["Idempotent-Replayed"] == "true"
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    fresh = post(api, DRAFT, key="run-44")
    assert fresh.status_code == 201 and not fresh.has_header("Idempotent-Replayed")
    assert Article.objects.filter(author=author).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "with space", "x" * 256, "naïve"])
def test_a_malformed_key_is_a_400(api, key):
    response = post(api, DRAFT, key=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["fields"]
    assert not Article.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_racing_requests_with_one_key_create_one_article(author):
    """Two threads, two connections: the second waits on the key's unique index, then replays.

    The test holds a lock on the article table, so the first request stops after claiming its
    key and before creating; it lets go only when both requests are waiting on a lock (the
    second on the first's uncommitted key). Without the claim, both would create.
    """
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: the race needs PostgreSQL")
    token = AuthToken.objects.create(user=author)[1]
    answers = []

    def call():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        try:
            answers.append(post(client, DRAFT, key="run-race"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call) for _ in range(2)]
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute("LOCK TABLE articles_article IN SHARE ROW EXCLUSIVE MODE")
        for thread in threads:
            thread.start()

        def both_waiting() -> bool:
            cursor.execute("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted")
            return cursor.fetchone()[0] == 2

        assert wait_until(both_waiting, timeout=20), "the two requests never met"
        cursor.execute("COMMIT")
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(answer.status_code for answer in answers) == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert sorted(answer.has_header("Idempotent-Replayed") for answer in answers) == [False, True]
    assert Article.objects.filter(author=author).count() == 1


@pytest.mark.django_db
def test_the_same_data_in_another_order_or_encoding_is_the_same_request(api, author):
    first = post(api, DRAFT, key="run-45")
    reordered = json.dumps(dict(reversed(list(DRAFT.items()))), indent=2)
    again = api.post("/api/v1/articles/", reordered, content_type="application/json", HTTP_IDEMPOTENCY_KEY="run-45")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    # A form body (whose stream Django has read before the view) is fingerprinted too.
    form = api.post("/api/v1/invitations/", {"article": "1", "reviewers": "x"}, HTTP_IDEMPOTENCY_KEY="run-46")
    assert form.status_code in (400, 403, 404)
