"""Readers' follow-up questions: the form's own endpoint, outside the cached, cookie-less pages.

The article pages are cached and set no cookie, so the form carries no CSRF token. Its
endpoint defends itself instead, in this order:

1. the ``Origin`` header must name this site (``SITE_URL``, or the host the request came to,
   which ``ALLOWED_HOSTS`` has vetted): browsers send it with every form POST (RFC 6454 §7,
   the Fetch standard), so a page elsewhere cannot post here in a reader's name (403);
2. a per-address rate limit, ``EDITORIAL_QUESTION_RATE`` (django-ratelimit, counted in the
   default cache by the address ``accounts.security_log.client_address`` reads) (429);
3. a honeypot field that people never see: a form that fills it is answered as if it was
   received, and nothing is kept.

The endpoint never reads the session or the user, so it sets no cookie either.
"""

import logging

from django.conf import settings
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django_ratelimit.core import is_ratelimited

from accounts.security_log import client_address
from editorial.public.cache import public_cache
from editorial.reads.public import ReaderStatus, public_page
from editorial.workflow.exceptions import EditorialError
from editorial.workflow.questions import question_ask

logger = logging.getLogger(__name__)

#: The form's hidden trap: people never see it (public.css), scripts that fill every field do.
HONEYPOT = "website"


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme.lower()}://{rest.split('/', 1)[0].lower()}"


def origin_allowed(request) -> bool:
    """Whether the request's ``Origin`` header names this site (a missing one does not)."""
    given = request.headers.get("Origin", "")
    if not given or given == "null":
        return False
    own = {_origin(settings.SITE_URL), _origin(f"{request.scheme}://{request.get_host()}")}
    return _origin(given) in own


def _address(group, request) -> str:
    return client_address(request) or "unknown"


def _refused(request, page, status: int, message: str, text: str = ""):
    """The refusal's page (``status``), saying why; with ``text``, the form again holding it to correct."""
    slug = page.article.slug
    context = {"message": message, "article_url": reverse("article-detail", args=[slug]), "slug": slug, "text": text}
    response = render(request, "editorial/public/question_refused.html", context, status=status)
    if status == 429:
        response["Retry-After"] = "3600"
    return response


@csrf_exempt  # no cookie, so no CSRF token: the Origin check stands in for it (see above)
def ask(request, slug: str):
    """POST a reader's question about the public article at ``slug``; 303 to the thanks page.

    Form fields: ``text`` (the question) and the empty honeypot. Answers 403 for a foreign or
    missing Origin, 429 over the rate limit, 400 for a text ``question_ask`` refuses (with the
    reason), 404 where the article is not public, 405 for anything but POST.
    """
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    page = public_page(slug)
    if page is None or page.status == ReaderStatus.RETRACTED:
        raise Http404("There is no public article at this address.")
    if not origin_allowed(request):
        return _refused(request, page, 403, "This form can be sent only from its page on our site.")
    try:
        limited = is_ratelimited(
            request, group="reader-questions", key=_address, rate=settings.EDITORIAL_QUESTION_RATE, increment=True
        )
    except Exception:  # the cache that counts is unreachable: take no question rather than every one
        logger.warning("Reader question refused: the rate limit's cache did not answer", exc_info=True)
        return _refused(request, page, 503, "We cannot take questions just now. Please try again in a few minutes.")
    if limited:
        return _refused(request, page, 429, "You have sent several questions already. Please try again later.")
    thanks = HttpResponseRedirect(reverse("question-thanks", args=[slug]), status=303)
    if request.POST.get(HONEYPOT):
        return thanks  # a robot: answered like a person, and nothing is kept
    try:
        question_ask(article=page.article, text=request.POST.get("text", ""))
    except EditorialError as error:  # the text itself: give it back to be corrected
        return _refused(request, page, error.http_status, error.message, text=request.POST.get("text", "")[:1000])
    return thanks


@public_cache()
def thanks(request, slug: str):
    """The page a reader lands on after asking (the same for everyone: cached, cookie-less)."""
    page = public_page(slug)
    if page is None:
        raise Http404("There is no public article at this address.")
    context = {"page": page, "article_url": reverse("article-detail", args=[slug])}
    return render(request, "editorial/public/question_thanks.html", context)
