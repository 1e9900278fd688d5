"""A webhook receiver for trying the API (docs/api.md): verifies each delivery, prints it once.

    WEBHOOK_SECRET=whsec_... .venv/bin/python docs/webhook_receiver.py 9000

Verification is Standard Webhooks 1.0 (the ``standardwebhooks`` package, in requirements.txt):
HMAC-SHA256 of ``<webhook-id>.<webhook-timestamp>.<body>`` with the secret, and a timestamp
within five minutes. A delivery retried after a failure carries the same ``webhook-id``: it is
answered 204 again and not printed twice.
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

VERIFIER = Webhook(os.environ["WEBHOOK_SECRET"])
SEEN: set[str] = set()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            event = VERIFIER.verify(body, dict(self.headers))
        except WebhookVerificationError as refusal:
            print(f"refused: {refusal}", flush=True)
            self.send_response(401)
            self.end_headers()
            return
        if self.headers["webhook-id"] not in SEEN:
            SEEN.add(self.headers["webhook-id"])
            print(json.dumps(event, indent=2, ensure_ascii=False), flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    print(f"listening on http://127.0.0.1:{port}/", flush=True)
    HTTPServer(("127.0.0.1", port), Handler).serve_forever()
