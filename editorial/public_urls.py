from django.urls import path

from editorial import views

urlpatterns = [
    path("", views.article_index, name="article-index"),
    path("articles/<slug:slug>/", views.article_detail, name="article-detail"),
    path("editorial-policy/", views.editorial_policy, name="editorial-policy"),
    # Only answer when EDITORIAL_BENCH_VIEWS is set (bench/public_page.py); 404 otherwise.
    path("bench/trivial", views.bench_trivial, name="bench-trivial"),
    path("bench/uncached/articles/<slug:slug>/", views.bench_article_uncached, name="bench-article-uncached"),
]
