"""The project's URLs plus the stock admin site of the baseline, for the benchmarks only."""

from django.urls import path

from bench.stock_admin import stock_site
from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("stock-admin/", stock_site.urls), *project_urlpatterns]
