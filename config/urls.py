from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from editorial.api.docs import ApiDocsView
from editorial.public.views import favicon, healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("editorial.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page says.
    path("favicon.ico", favicon),
    path("", include("editorial.public.urls")),
]

# Every error in the site's own style (the readers', the workspace's, or JSON under /api/);
# a database that cannot be reached is a 503 with Retry-After.
handler400 = "editorial.public.errors.bad_request"
handler403 = "editorial.public.errors.permission_denied"
handler404 = "editorial.public.errors.page_not_found"
handler500 = "editorial.public.errors.server_error"
