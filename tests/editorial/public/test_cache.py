"""Public pages are cached for anonymous readers, set no cookie, and change within seconds."""

import os
import re
import socket
import time
import uuid
from types import SimpleNamespace

import pybreaker
import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from editorial.public import cache
from editorial.workflow import services
from tests.factories import signing_request

PAGES = ["/", "/editorial-policy/"]


@pytest.fixture
def clock(monkeypatch):
    """The cache's clock (expiry set in base, checked in locmem), moved forward by hand."""
    import django.core.cache.backends.base as base
    import django.core.cache.backends.locmem as locmem

    now = [1_000_000.0]
    for module in (base, locmem):
        monkeypatch.setattr(module, "time", SimpleNamespace(time=lambda: now[0]))
    return now


def article_url(article) -> str:
    return reverse("article-detail", args=[article.slug])


def current_step(response) -> str:
    """The tracker's current step as a screen reader reads it."""
    match = re.search(r'aria-current="step">(.*?)</li>', response.content.decode(), re.S)
    return " ".join(re.sub(r"<[^>]+>", "", match.group(1)).split()) if match else ""


@pytest.mark.django_db
def test_anonymous_pages_set_no_cookie_and_do_not_vary_on_cookie(client, in_state):
    article = in_state("submitted")
    for path in [*PAGES, article_url(article), "/?q=condition&status=submitted"]:
        for _ in range(2):  # rendered, then from the cache
            response = client.get(path)
            assert response.status_code == 200, path
            assert "Set-Cookie" not in response.headers, path
            assert not response.cookies, path
            assert "cookie" not in response.headers.get("Vary", "").lower(), path
            assert "public" in response["Cache-Control"] and "max-age=5" in response["Cache-Control"], path


@pytest.mark.django_db
def test_a_cached_page_costs_no_query(client, in_state, django_assert_num_queries):
    article = in_state("approved")
    assert client.get(article_url(article)).status_code == 200
    with django_assert_num_queries(0):
        response = client.get(article_url(article) + "?utm_source=newsletter")
    assert response.status_code == 200
    assert "Medically reviewed by" in response.content.decode()


@pytest.mark.django_db
def test_free_text_searches_are_not_kept_but_browsing_is(client, in_state, django_assert_num_queries):
    in_state("submitted")
    for path in ("/?q=condition", "/?q=condition&status=submitted"):
        client.get(path)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert len(queries) > 0, f"{path} should be searched again"
        assert "public" in response["Cache-Control"] and "Set-Cookie" not in response.headers
    client.get("/?status=submitted&utm_campaign=spring")
    with django_assert_num_queries(0):
        assert "How is condition X treated?" in client.get("/?status=submitted").content.decode()


@pytest.mark.django_db
def test_a_status_change_reaches_readers_within_the_cache_lifetime(client, in_state, editor, clock):
    article = in_state("ready")
    assert current_step(client.get(article_url(article))) == "Under Review (current step)"
    services.article_approve(article=article, actor=editor, password="pw", request=signing_request())
    clock[0] += 4  # still within the five seconds: the page readers got a moment ago
    assert current_step(client.get(article_url(article))) == "Under Review (current step)"
    clock[0] += 2
    response = client.get(article_url(article))
    assert current_step(response) == "Approved (completed)"
    assert "Medically reviewed by" in response.content.decode()


@pytest.mark.django_db
def test_a_retraction_reaches_readers_within_the_cache_lifetime(client, in_state, editor, clock):
    article = in_state("approved")
    assert client.get(article_url(article)).status_code == 200
    services.article_retract(article=article, actor=editor, reason="Unsafe dose.")
    clock[0] += 6
    assert "This article has been retracted" in client.get(article_url(article)).content.decode()


@pytest.mark.django_db
def test_newly_public_articles_are_not_hidden_by_a_cached_404(client, in_state, author):
    article = in_state("draft")
    assert client.get(article_url(article)).status_code == 404
    services.article_submit(article=article, actor=author)
    assert client.get(article_url(article)).status_code == 200


@pytest.mark.django_db
def test_workspace_users_get_a_fresh_private_page(client, in_state, editor):
    article = in_state("ready")
    assert current_step(client.get(article_url(article))) == "Under Review (current step)"
    services.article_approve(article=article, actor=editor, password="pw", request=signing_request())
    client.force_login(editor)
    response = client.get(article_url(article))
    assert current_step(response) == "Approved (completed)"
    assert "private" in response["Cache-Control"]


@pytest.mark.django_db
@override_settings(EDITORIAL_PUBLIC_CACHE_SECONDS=0)
def test_the_cache_can_be_turned_off(client, in_state, editor):
    article = in_state("ready")
    client.get(article_url(article))
    services.article_approve(article=article, actor=editor, password="pw", request=signing_request())
    assert current_step(client.get(article_url(article))) == "Approved (completed)"


LOCAL = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "public-pages"}


@pytest.mark.django_db
def test_a_cache_that_is_down_does_not_take_the_pages_down(client, in_state, caplog):
    article = in_state("submitted")
    nothing_listens = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"},
        "public_pages": LOCAL,
    }
    with override_settings(CACHES=nothing_listens):
        for path in [*PAGES, article_url(article)]:
            assert client.get(path).status_code == 200, path
            assert client.get(path).status_code == 200, path
    assert "Shared page cache failed: not asked again" in caplog.text


@pytest.fixture
def frozen_redis():
    """A port that accepts connections and never answers, as a Redis stopped by SIGSTOP does."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    server.close()


@pytest.mark.django_db
def test_a_cache_that_times_out_once_is_not_asked_again_for_a_while(client, in_state, frozen_redis, monkeypatch):
    """Regression (issue 16): a frozen Redis made every anonymous page wait for its socket timeouts."""
    in_state("submitted")
    asked = []
    get = RedisCache.get
    monkeypatch.setattr(RedisCache, "get", lambda self, *a, **k: asked.append(1) or get(self, *a, **k))
    monkeypatch.setattr(cache.breaker, "reset_timeout", 1.0)
    frozen = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": frozen_redis,
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        },
        "public_pages": LOCAL,
    }
    with override_settings(CACHES=frozen):
        timings = []
        for path in ["/", *["/?specialty=1", "/?status=submitted"] * 10]:
            started = time.monotonic()
            assert client.get(path).status_code == 200
            timings.append(time.monotonic() - started)
        assert len(asked) == 1  # asked once, timed out, then left alone
        assert timings[0] >= 0.25 and max(timings[1:]) < 0.2, timings
        time.sleep(1.1)  # the breaker lets one request try again: still frozen, so it opens again
        client.get("/")
        client.get("/")
        assert len(asked) == 2


def test_the_breaker_closes_when_the_cache_answers_again():
    cache.breaker.open()
    with pytest.raises(pybreaker.CircuitBreakerError):
        cache.breaker.call(lambda: "asked")
    cache.breaker.half_open()
    assert cache.breaker.call(lambda: "asked") == "asked"
    assert cache.breaker.current_state == pybreaker.STATE_CLOSED


@pytest.mark.django_db
@pytest.mark.skipif(
    not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"), reason="the Redis run covers the Redis cache"
)
def test_pages_are_shared_through_redis_and_kept_a_second_in_memory(client, in_state, django_assert_num_queries):
    article = in_state("approved")
    redis_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["CELERY_BROKER_URL"],
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",  # never clear(): the broker shares this server
        },
        "public_pages": LOCAL,
    }
    with override_settings(CACHES=redis_cache):
        first = client.get(article_url(article))
        with django_assert_num_queries(0):
            from_memory = client.get(article_url(article))
        caches["public_pages"].clear()  # as another process would: only Redis has the page
        with django_assert_num_queries(0):
            from_redis = client.get(article_url(article))
        key = next(iter(caches["public_pages"]._cache))  # and it is kept in memory again
        assert "articles/how-is-condition-x-treated/" in key
    assert first.content == from_memory.content == from_redis.content
    assert "Set-Cookie" not in from_redis.headers


@pytest.mark.django_db
def test_public_pages_only_answer_safe_methods(client, in_state):
    article = in_state("submitted")
    assert client.post(article_url(article)).status_code == 405
    assert client.head(article_url(article)).status_code == 200


@pytest.mark.django_db
def test_bench_views_exist_only_in_the_benchmarks_url_configuration(client, in_state):
    article = in_state("submitted")
    uncached = f"/bench/uncached/articles/{article.slug}/"
    assert client.get("/bench/trivial").status_code == 404
    assert client.get(uncached).status_code == 404
    with override_settings(ROOT_URLCONF="bench.public_urls"):
        assert client.get("/bench/trivial").content == b"ok"
        assert client.get(uncached).status_code == 200
