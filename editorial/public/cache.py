"""The public pages' cache: anonymous readers share pages rendered a few seconds ago.

Readers are anonymous, so their pages are the same for everyone: each is rendered once and
then served from the cache for ``EDITORIAL_PUBLIC_CACHE_SECONDS``, with no cookie and no
``Vary: Cookie``. Workspace users (who carry a session) get a fresh page every time.
"""

import hashlib
import logging
from functools import wraps

import pybreaker
from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.http import HttpResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)


def _is_reader(request) -> bool:
    """True for anonymous readers, decided without loading a session when there is none.

    Touching ``request.user`` makes the session middleware add ``Vary: Cookie``, which would
    split every shared cache by cookie; a request without a session cookie has no user.
    """
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return True
    return not request.user.is_authenticated


def _cache_key(request, params: tuple[str, ...]) -> str:
    """The path, the query parameters the page uses (and no other), the visibility setting.

    Pages without parameters (slug paths are ASCII, at most 200 characters) are keyed by
    their path as it is; readers' search words are hashed.
    """
    key = f"public-page:v1:{settings.EDITORIAL_PUBLIC_FROM}:{request.path}"
    if params:
        words = "\n".join(f"{name}={request.GET.get(name, '')}" for name in params)
        key += ":" + hashlib.sha256(words.encode()).hexdigest()
    return key


#: Seconds a page stays in a process's own memory when a shared cache (Redis) sits behind it.
LOCAL_SECONDS = 1


def _page_caches(seconds: int) -> list[tuple[BaseCache, int]]:
    """Where pages are kept, nearest first, each with how long it keeps them.

    With a shared cache (Redis, from CACHE_URL) a page is also kept for a second in the
    process's own memory: Django's Redis backend builds a client object on every call, which
    costs more CPU than serving the page itself, so most requests never ask Redis. A reader
    then sees a page at most ``seconds + LOCAL_SECONDS`` old.
    """
    shared = caches["default"]
    if "public_pages" not in settings.CACHES:
        return [(shared, seconds)]
    local = caches["public_pages"]
    if isinstance(shared, LocMemCache):
        return [(local, seconds)]  # the pages' own bounded store, apart from other uses
    return [(local, min(LOCAL_SECONDS, seconds)), (shared, seconds)]


class _LogOpening(pybreaker.CircuitBreakerListener):
    def state_change(self, breaker, old, new) -> None:
        if new.name == pybreaker.STATE_OPEN:
            logger.warning("Shared page cache failed: not asked again for %s s", breaker.reset_timeout)
        elif new.name == pybreaker.STATE_CLOSED and old.name != pybreaker.STATE_CLOSED:
            logger.info("Shared page cache answers again")


#: The shared cache's circuit breaker, one per process: after one failure (a refused
#: connection, or the socket timeout of a Redis that stopped answering) the shared cache is
#: not asked for ``EDITORIAL_CACHE_BREAKER_SECONDS``; then one request tries it again. So a
#: frozen Redis costs one request per process one socket timeout per period, not every
#: request two of them.
breaker = pybreaker.CircuitBreaker(
    fail_max=1, reset_timeout=settings.EDITORIAL_CACHE_BREAKER_SECONDS, listeners=[_LogOpening()], name="page cache"
)


def _ask(store: BaseCache, method: str, *args):
    """Call the store; a local-memory store directly, a shared one through the breaker.

    Raises ``pybreaker.CircuitBreakerError`` while the breaker is open, or what the store raised.
    """
    if isinstance(store, LocMemCache):
        return getattr(store, method)(*args)
    return breaker.call(getattr(store, method), *args)


def _cached_page(key: str, tiers: list[tuple[BaseCache, int]]) -> bytes | None:
    for index, (store, _) in enumerate(tiers):
        try:
            body = _ask(store, "get", key)
        except pybreaker.CircuitBreakerError:
            continue  # known to be down: not asked
        except Exception:  # a cache that is down must not take the public pages down with it
            logger.warning("Public page cache unavailable; rendering instead", exc_info=True)
            continue
        if body is not None:
            _keep_page(key, body, tiers[:index])
            return body
    return None


def _keep_page(key: str, body: bytes, tiers: list[tuple[BaseCache, int]]) -> None:
    for store, seconds in tiers:
        try:
            _ask(store, "set", key, body, seconds)
        except pybreaker.CircuitBreakerError:
            continue
        except Exception:
            logger.warning("Public page cache unavailable; page not stored", exc_info=True)


def public_cache(*, params: tuple[str, ...] = (), uncached: tuple[str, ...] = ()):
    """Serve anonymous readers a page rendered at most a few seconds ago.

    ``params`` are the query parameters the page depends on (part of the key; any other is
    ignored); a request that gives one of ``uncached`` (free text) is rendered and not kept,
    so that a stream of distinct searches cannot push the articles out of the cache.

    A short lifetime rather than invalidation: a status change reaches readers within
    seconds however it was made (workspace, API, Celery task), and every process, each with
    its own local-memory cache or all sharing Redis, agrees without any signal plumbing.
    Only the body is stored, never a whole response, so no header (cookie) is ever replayed.
    """

    def decorator(view):
        @wraps(view)
        @require_safe
        def wrapper(request, *args, **kwargs):
            seconds = settings.EDITORIAL_PUBLIC_CACHE_SECONDS
            if not _is_reader(request):
                response = view(request, *args, **kwargs)
                patch_cache_control(response, private=True, no_cache=True)
                return response
            keep = seconds > 0 and not any(request.GET.get(name) for name in uncached)
            tiers = _page_caches(seconds) if keep else []
            key = _cache_key(request, params)
            body = _cached_page(key, tiers)
            if body is not None:
                response = HttpResponse(body)
            else:
                response = view(request, *args, **kwargs)
                if response.status_code == 200:
                    _keep_page(key, response.content, tiers)
            # Set outright: nothing else sets it on these pages, and parsing it costs a little.
            response["Cache-Control"] = f"public, max-age={seconds}"
            return response

        return wrapper

    return decorator
