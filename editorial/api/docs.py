"""The API's browsable documentation at /api/docs/: Swagger UI from the project's own static files.

drf-spectacular-sidecar ships Swagger UI's files, so nothing is loaded from a CDN. The page's
script comes from a second request to the same view (``?script``) and its styles from a
stylesheet, so the Content-Security-Policy (no inline script or style) holds.
"""

from drf_spectacular.views import SpectacularSwaggerSplitView


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI for /api/schema/, in a template with no inline style or script."""

    template_name = "editorial/api/docs.html"
    url_name = "api-schema"
