"""A real Chromium (Debian's, at /usr/bin/chromium) driven by Playwright against live_server.

The tests skip, saying why, only when that browser is missing: ``make test`` installs it.
Every page of every test is watched (``watched_context``): a ``securitypolicyviolation``
event, a CSP refusal in the console, or a page served without a Content-Security-Policy
header fails the test that opened it, so "it still works under the CSP" is tested.
"""

from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module.

    Playwright's sync API keeps an event loop running in this thread while it is started,
    and Django refuses ORM calls from such a thread. The tests build their data between
    page actions, never concurrently with the browser, so the check guards nothing here:
    it is lifted while the browser runs, and only then (hence a module, not the session).
    """
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium` (make test does)")
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()


#: Reports every Content-Security-Policy violation of the page to the test (before any other script).
CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolation({
    page: location.href, directive: event.violatedDirective, blocked: event.blockedURI,
    source: event.sourceFile, line: event.lineNumber, sample: event.sample,
  });
});
"""


class CSPWatch:
    """What a browser context saw of the Content-Security-Policy: violations, pages without one."""

    def __init__(self, context, javascript: bool = True) -> None:
        self.violations: list = []
        self.refusals: list[str] = []
        self.unprotected: list[str] = []
        if javascript:
            context.expose_function("__cspViolation", self._violation)
            context.add_init_script(CSP_REPORTER)
        context.on("console", self._console)
        context.on("response", self._response)

    def _violation(self, violation: dict) -> None:
        self.violations.append(violation)

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.refusals.append(f"{message.text} at {message.location}")

    def _response(self, response) -> None:
        if response.request.resource_type == "document" and "content-security-policy" not in response.headers:
            self.unprotected.append(f"{response.status} {response.url}")

    def check(self) -> None:
        assert self.violations == [], f"Content-Security-Policy violations: {self.violations}"
        assert self.refusals == [], f"Content-Security-Policy refusals: {self.refusals}"
        assert self.unprotected == [], f"pages without a Content-Security-Policy: {self.unprotected}"


@contextmanager
def watched_context(browser, **options):
    """A fresh browser profile (no cookie, no localStorage) whose pages the CSP watch follows."""
    context = browser.new_context(**{"viewport": DESKTOP, **options})
    context.set_default_timeout(5000)
    watch = CSPWatch(context, javascript=options.get("java_script_enabled", True))
    try:
        yield context
        for page in context.pages:  # let reports of the last page arrive
            page.wait_for_timeout(50)
        watch.check()
    finally:
        context.close()


@pytest.fixture
def context(browser):
    """A fresh, CSP-watched browser profile per test."""
    with watched_context(browser) as context:
        yield context


@pytest.fixture
def page(context):
    return context.new_page()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
