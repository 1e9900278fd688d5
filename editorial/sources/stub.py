"""A local stand-in for Crossref's REST API and PubMed's E-utilities, for development and tests.

It answers the two requests the resolver makes, in the services' own shapes, from
``stub_works.json``:

- ``GET /crossref/works/{doi}``: ``{"status": "ok", "message-type": "work", "message": {…}}``,
  or 404 with Crossref's plain-text "Resource not found.";
- ``GET /pubmed/esummary.fcgi?db=pubmed&id={pmid}&retmode=json``: ``{"header": …, "result":
  {"uids": [pmid], pmid: {…}}}``, with ``{"uid": pmid, "error": "cannot get document summary"}``
  for an unknown PMID.

Its DOIs use Crossref's test prefix 10.5555 and its PMIDs lie far above any assigned one: they
name no real work. Two DOIs misbehave on purpose: ``10.5555/stub.slow`` answers after
``SLOW_SECONDS`` (for timeouts), ``10.5555/stub.error`` with a 503. ``make run`` starts it
(``manage.py serve_source_stub``) and the local settings point the resolver at it.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

WORKS = Path(__file__).with_name("stub_works.json")
SLOW_SECONDS = 3.0


def load_works() -> dict:
    return json.loads(WORKS.read_text(encoding="utf-8"))


class StubServer(ThreadingHTTPServer):
    """The stub, remembering each request's path and User-Agent (``requests``) for tests."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, StubHandler)
        self.works = load_works()
        self.requests: list[dict] = []

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class StubHandler(BaseHTTPRequestHandler):
    server: StubServer
    server_version = "SourceStub/1.0"

    def log_message(self, format, *args) -> None:  # noqa: A002 - BaseHTTPRequestHandler's signature
        pass

    def _send(self, status: int, body, content_type: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        self.server.requests.append(
            {"path": url.path, "query": query, "user_agent": self.headers.get("User-Agent", "")}
        )
        if url.path.startswith("/crossref/works/"):
            self._crossref(unquote(url.path[len("/crossref/works/") :]).lower())
        elif url.path == "/pubmed/esummary.fcgi":
            self._esummary((query.get("id") or [""])[0])
        else:
            self._send(404, "Resource not found.", "text/plain")

    def _crossref(self, doi: str) -> None:
        if doi == "10.5555/stub.slow":
            time.sleep(SLOW_SECONDS)
        if doi == "10.5555/stub.error":
            self._send(503, "Service Unavailable", "text/plain")
            return
        message = self.server.works["crossref"].get(doi)
        if message is None:
            self._send(404, "Resource not found.", "text/plain")
            return
        self._send(200, {"status": "ok", "message-type": "work", "message-version": "1.0.0", "message": message})

    def _esummary(self, pmid: str) -> None:
        document = self.server.works["pubmed"].get(pmid) or {"uid": pmid, "error": "cannot get document summary"}
        self._send(
            200,
            {"header": {"type": "esummary", "version": "0.3"}, "result": {"uids": [pmid], pmid: document}},
        )


def start(host: str = "127.0.0.1", port: int = 0) -> tuple[StubServer, threading.Thread]:
    """Serve the stub from a thread (port 0: any free port). Stop it with ``server.shutdown()``."""
    server = StubServer((host, port))
    thread = threading.Thread(target=server.serve_forever, name="source-stub", daemon=True)
    thread.start()
    return server, thread
