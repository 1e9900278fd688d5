from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from editorial.public.views import favicon, healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("editorial.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("healthz", healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page says.
    path("favicon.ico", favicon),
    path("", include("editorial.public.urls")),
]

# Readers who follow a dead link get the site's own page, not the server's.
handler404 = "editorial.public.views.page_not_found"
