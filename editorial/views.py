"""Public pages, the health check and the benchmark's views.

Readers are anonymous, so their pages are the same for everyone: each is rendered once and
then served from the cache for ``EDITORIAL_PUBLIC_CACHE_SECONDS``, with no cookie and no
``Vary: Cookie``. Workspace users (who carry a session) get a fresh page every time.
"""

import hashlib
import json
import logging
import re
from functools import wraps

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_safe

from articles.models import Specialty
from articles.rendering import render_markdown
from editorial.selectors import IndexFilters, PublicPage, ReaderStatus, public_index, public_page, reader_status

logger = logging.getLogger(__name__)


def favicon(request):
    """The site's icon, wherever a browser looks for it."""
    return redirect(static("editorial/favicon.svg"), permanent=True)


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})


# --- The cache ------------------------------------------------------------------------------


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


def _cached_page(key: str, tiers: list[tuple[BaseCache, int]]) -> bytes | None:
    for index, (store, _) in enumerate(tiers):
        try:
            body = store.get(key)
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
            store.set(key, body, seconds)
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


# --- The pages ------------------------------------------------------------------------------

TRACKER_STEPS = (
    (ReaderStatus.SUBMITTED, "Submitted"),
    (ReaderStatus.UNDER_REVIEW, "Under Review"),
    (ReaderStatus.APPROVED, "Approved"),
)

# Written for JSON inside <script>: "</script>" or "<!--" in a title cannot end the element.
_JSON_IN_SCRIPT = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def tracker(status: str) -> list[dict]:
    """The three steps readers see, each done, current or still to come."""
    order = [step for step, _ in TRACKER_STEPS]
    current = order.index(status)
    return [
        {
            "label": label,
            "state": "done" if index < current else "current" if index == current else "upcoming",
            "final": index == current == len(order) - 1,
        }
        for index, (_, label) in enumerate(TRACKER_STEPS)
    ]


def medical_web_page(page: PublicPage, url: str) -> SafeString:
    """schema.org MedicalWebPage for an approved article, safe to put inside a <script>."""
    data = {
        "@context": "https://schema.org",
        "@type": "MedicalWebPage",
        "name": page.title,
        "headline": page.title,
        "description": page.summary,
        "url": url,
        "inLanguage": "en",
        "dateModified": page.last_updated.isoformat() if page.last_updated else None,
        "lastReviewed": page.last_reviewed.date().isoformat() if page.last_reviewed else None,
        "reviewedBy": [
            {"@type": "Person", "name": signer.printed_name, "honorificSuffix": signer.credentials}
            for signer in page.signers
        ],
    }
    if page.specialty:
        data["about"] = {"@type": "Thing", "name": page.specialty}
    text = json.dumps({key: value for key, value in data.items() if value is not None}, ensure_ascii=False)
    return mark_safe(text.translate(_JSON_IN_SCRIPT))  # noqa: S308 - every "<", ">" and "&" escaped just above


def _article_response(request, slug: str):
    page = public_page(slug)
    if page is None:
        raise Http404("There is no public article at this address.")
    url = settings.SITE_URL + reverse("article-detail", args=[page.article.slug])
    context = {
        "page": page,
        "article": page.article,
        "canonical_url": url,
    }
    if page.status != ReaderStatus.RETRACTED:
        context |= {
            "steps": tracker(page.status),
            "body_html": render_markdown(page.body),
            "patient_html": render_markdown(page.patient_body),
            "json_ld": medical_web_page(page, url) if page.status == ReaderStatus.APPROVED else "",
        }
    return render(request, "editorial/public/article.html", context)


@public_cache()
def article_detail(request, slug):
    return _article_response(request, slug)


INDEX_PAGE_SIZE = 25


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def _search_term(request, name: str, limit: int) -> str:
    """A reader's search word, without control characters (PostgreSQL refuses NUL)."""
    return _CONTROL_CHARACTERS.sub("", request.GET.get(name, "")).strip()[:limit]


@public_cache(params=("specialty", "status", "page"), uncached=("q",))
def article_index(request):
    filters = IndexFilters(
        q=_search_term(request, "q", 200),
        specialty=_search_term(request, "specialty", 100),
        status=_search_term(request, "status", 30),
    )
    page = Paginator(public_index(filters), INDEX_PAGE_SIZE).get_page(request.GET.get("page"))
    for article in page.object_list:
        article.reader_status = reader_status(article)
        article.reader_status_label = ReaderStatus.LABELS[article.reader_status]
    query = {name: value for name, value in vars(filters).items() if value}
    context = {
        "page_obj": page,
        "filters": filters,
        "filtered": bool(query),
        "query": query,
        "specialties": Specialty.objects.order_by("name").values("slug", "name"),
        "statuses": ReaderStatus.LABELS.items(),
        "nav": "articles",
    }
    return render(request, "editorial/public/index.html", context)


@public_cache()
def editorial_policy(request):
    context = {
        "quorum": settings.EDITORIAL_APPROVAL_QUORUM,
        "rereview_months": settings.EDITORIAL_REREVIEW_MONTHS,
        "public_from_submission": settings.EDITORIAL_PUBLIC_FROM == "submitted",
        "nav": "policy",
    }
    return render(request, "editorial/public/policy.html", context)


def page_not_found(request, exception=None):
    """The readers' 404: the site's look, and no database query."""
    return render(request, "editorial/public/404.html", {}, status=404)


# --- The benchmark's views (bench/public_page.py) --------------------------------------------


def bench_only(view):
    """A view that exists only when EDITORIAL_BENCH_VIEWS is set (never by default)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not settings.EDITORIAL_BENCH_VIEWS:
            raise Http404("Not here.")
        return view(request, *args, **kwargs)

    return wrapper


@bench_only
def bench_trivial(request):
    """The floor: what Django and the server cost for a view that does nothing."""
    return HttpResponse(b"ok", content_type="text/plain")


@bench_only
def bench_article_uncached(request, slug):
    """The article page rendered on every request, as a cache miss would be."""
    return _article_response(request, slug)
