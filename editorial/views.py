"""Public pages and the health check."""

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render

from articles.models import ArticleStatus
from articles.rendering import render_markdown
from editorial.selectors import public_articles


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})


def article_index(request):
    articles = public_articles().select_related("specialty").order_by("title")
    return render(request, "editorial/public/index.html", {"articles": articles})


def article_detail(request, slug):
    article = get_object_or_404(public_articles().select_related("specialty", "published_version"), slug=slug)
    references = list(article.references.all())
    context = {
        "article": article,
        "approved": article.status == ArticleStatus.APPROVED,
        "retracted": article.status == ArticleStatus.RETRACTED,
        "body_html": render_markdown(article.body),
        "patient_html": render_markdown(article.patient_body),
        "references": references,
    }
    return render(request, "editorial/public/article.html", context)


def editorial_policy(request):
    return render(request, "editorial/public/policy.html")
