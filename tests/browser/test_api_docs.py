"""/api/docs/ in a real browser: Swagger UI from the project's own static files, under the CSP."""

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_api_docs_render_from_our_own_files_under_the_csp(live_server, page):
    """Every request stays on the server (no CDN) and the page renders the operations."""
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server.url}/api/docs/")
    page.locator(".swagger-ui .info .title").filter(has_text="Editorial review API").wait_for()
    page.locator(".opblock-summary-path", has_text="/api/v1/invitations/{id}/accept/").first.wait_for()
    page.locator(".opblock-summary-path", has_text="/api/v1/inbox/").first.wait_for()
    screenshot(page, "api-docs")
    assert requested and all(url.startswith(live_server.url) or url.startswith("data:") for url in requested), [
        url for url in requested if not url.startswith(live_server.url)
    ]
