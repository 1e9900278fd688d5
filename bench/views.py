"""The public-page benchmark's views (bench/public_page.py), routed by bench/public_urls.py only."""

from django.http import HttpResponse

from editorial.public.views import article_response


def bench_trivial(request):
    """The floor: what Django and the server cost for a view that does nothing."""
    return HttpResponse(b"ok", content_type="text/plain")


def bench_article_uncached(request, slug):
    """The article page rendered on every request, as a cache miss would be."""
    return article_response(request, slug)
