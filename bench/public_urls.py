"""The project's URLs plus the public-page benchmark's two views (bench/public_page.py)."""

from django.urls import path

from bench import views
from config.urls import handler400, handler403, handler404, handler500  # noqa: F401 - as on the site
from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("bench/trivial", views.bench_trivial, name="bench-trivial"),
    path("bench/uncached/articles/<slug:slug>/", views.bench_article_uncached, name="bench-article-uncached"),
    *project_urlpatterns,
]
