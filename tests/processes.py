"""Real processes for fault tests: a private redis-server, a fake SMTP server, Celery workers.

Each test starts and stops only what it owns, by PID, on spare loopback ports: never the
machine's shared Redis or PostgreSQL.
"""

import contextlib
import http.client
import os
import secrets
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import redis

ROOT = Path(__file__).resolve().parents[1]


def spare_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(predicate, timeout: float = 30.0, every: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


class RedisServer:
    """A redis-server of the test's own, which it may stop, freeze and restart."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        self.port = spare_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_timeout=1)
        if not wait_until(lambda: _pings(client), timeout=10):
            raise RuntimeError("the test's redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def freeze(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)


def _pings(client) -> bool:
    try:
        return client.ping()
    except redis.RedisError:
        return False


class FakeSMTP:
    """A small SMTP server that records what it accepts, and can hang before its greeting."""

    def __init__(self, *, reply_delay: float = 0.0, pipelining: bool = True) -> None:
        self.messages: list[dict] = []
        self.connections = 0
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.release.set()
        #: Seconds between taking a message (recorded: from then on it counts as delivered)
        #: and acknowledging it with 250: a slow server, or a window to kill the sender in.
        self.reply_delay = reply_delay
        #: Set each time a message is taken; the test clears it.
        self.accepted = threading.Event()
        #: When set, the server greets with 554 and takes nothing (a refusing server).
        self.refusing = False
        #: Seconds before each reply (a slow server that never times a command out).
        self.command_delay = 0.0
        self.sockets: list = []
        #: Whether EHLO offers PIPELINING (RFC 2920), as mail servers commonly do; the commands
        #: are read and answered one line at a time either way.
        self.pipelining = pipelining
        #: Addresses RCPT refuses (550); DATA with no recipient left is refused (554).
        self.refused_recipients: set[str] = set()
        #: Whether DATA gets 354 even with no recipient accepted (some servers do, RFC 2920
        #: §3.1); the message that follows is then refused with 554.
        self.data_despite_refusals = False
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                # Each reply goes out at once, as a mail server's do: without this, the second of
                # a pipelined group's replies waits for the client's delayed ACK (Nagle, ~40 ms).
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with fake.lock:
                    fake.connections += 1
                    fake.sockets.append(self.request)
                fake.release.wait()
                if fake.refusing:
                    self._reply("554 no service here")
                    return
                self._reply("220 fake ESMTP")
                sender, recipients = None, []
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return  # the client went away: nothing was accepted
                    command = line.decode("utf-8", "replace").strip()
                    verb = command[:4].upper()
                    if verb == "EHLO" and fake.pipelining:
                        self._reply("250-fake\r\n250 PIPELINING")
                    elif verb in ("EHLO", "HELO"):
                        self._reply("250 fake")
                    elif verb == "MAIL":
                        sender = command
                        self._reply("250 ok")
                    elif verb == "RCPT":
                        address = command.split(":", 1)[1].strip(" <>")
                        if address in fake.refused_recipients:
                            self._reply("550 no such user")
                        else:
                            recipients.append(address)
                            self._reply("250 ok")
                    elif verb == "DATA" and not recipients and not fake.data_despite_refusals:
                        self._reply("554 no valid recipients")
                    elif verb == "DATA":
                        self._reply("354 go on")
                        data = []
                        while True:
                            chunk = self.rfile.readline()
                            if not chunk:
                                return
                            if chunk in (b".\r\n", b".\n"):
                                break
                            data.append(chunk.decode("utf-8", "replace"))
                        if not recipients:
                            self._reply("554 no valid recipients")
                            continue
                        text = "".join(data)
                        message_id = next(
                            (
                                ln.split(":", 1)[1].strip()
                                for ln in text.splitlines()
                                if ln.lower().startswith("message-id:")
                            ),
                            "",
                        )
                        with fake.lock:
                            fake.messages.append(
                                {"to": list(recipients), "message_id": message_id, "from": sender, "at": time.time()}
                            )
                        fake.accepted.set()
                        recipients = []
                        if fake.reply_delay:
                            time.sleep(fake.reply_delay)
                        self._reply("250 accepted")
                    elif verb == "RSET" or verb == "NOOP":
                        recipients = recipients if verb == "NOOP" else []
                        self._reply("250 ok")
                    elif verb == "QUIT":
                        self._reply("221 bye")
                        return
                    else:
                        self._reply("502 not implemented")

            def _reply(self, text: str) -> None:
                if fake.command_delay:
                    time.sleep(fake.command_delay)
                self.wfile.write((text + "\r\n").encode())
                self.wfile.flush()

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def drop_connections(self) -> None:
        """Close every client connection, as a server does with idle clients."""
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self.sockets.clear()

    def received_by(self) -> dict:
        with self.lock:
            counts: dict = {}
            for message in self.messages:
                for to in message["to"]:
                    counts[to] = counts.get(to, 0) + 1
            return counts

    def message_ids_by_recipient(self) -> dict:
        """Each recipient's received Message-IDs, in the order they came."""
        with self.lock:
            ids: dict = {}
            for message in self.messages:
                for to in message["to"]:
                    ids.setdefault(to, []).append(message["message_id"])
            return ids


def django_env(*, database_url: str, broker_url: str, email_url: str, env: dict | None = None) -> dict:
    """The environment of a product process started by a test: the test database and broker."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "EMAIL_URL": email_url,
        # One message may take 2 s in all; a claim lasts 3 s, so a killed worker's e-mail is
        # taken again soon (production: 30 s and 120 s).
        "EMAIL_TIMEOUT": "2",
        "EDITORIAL_CLAIM_TIMEOUT": "3",
        "EDITORIAL_RETRY_BASE_SECONDS": "0.3",
        "EDITORIAL_RETRY_MAX_SECONDS": "2",
        "EDITORIAL_DELIVERY_MAX_RETRIES": "3",
        "EDITORIAL_RELAY_BACKOFF_MAX_SECONDS": "0.5",
        **(env or {}),
    }


class Process:
    """A product process (its own session and process group), logging to a file."""

    command: list[str] = []
    ready_text = b""

    def __init__(self, *, broker_url: str, database_url: str, email_url: str = "", env: dict | None = None) -> None:
        self.env = django_env(database_url=database_url, broker_url=broker_url, email_url=email_url, env=env)
        if not email_url:
            self.env.pop("EMAIL_URL")
        self.process: subprocess.Popen | None = None
        self.log_path = None

    def start(self, log_path) -> None:
        self.log_path = log_path
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=open(log_path, "ab"),  # noqa: SIM115 - the file lives as long as the process
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def ready(self) -> bool:
        return self.log_path is not None and self.ready_text in Path(self.log_path).read_bytes()

    def kill(self) -> None:
        """SIGKILL the whole process group: no cleanup, no acknowledgement."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


class Worker(Process):
    """A real Celery worker process (pool solo) on the given broker, using the test database."""

    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--pool=solo",
        "--concurrency=1",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel=INFO",
    ]
    ready_text = b"ready."


class Relay(Process):
    """``manage.py run_relay``: hands the test database's committed events to the broker."""

    command = [sys.executable, "manage.py", "run_relay"]
    ready_text = b"Relay started"


class Web(Process):
    """gunicorn serving the product (sync workers) on a spare loopback port."""

    ready_text = b"Booting worker"

    def __init__(self, *, workers: int = 2, **kwargs) -> None:
        super().__init__(**kwargs)
        self.port = spare_port()
        self.env["ALLOWED_HOSTS"] = "127.0.0.1"
        self.command = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            f"--bind=127.0.0.1:{self.port}",
            f"--workers={workers}",
            "--worker-class=sync",
            "--timeout=60",
        ]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ready(self) -> bool:
        if not super().ready():
            return False
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False


class HttpClient:
    """Plain HTTP/1.1 requests to a web process, as a browser with (or without) a session sends them.

    ``session`` is a session id (from the test client's ``force_login``); posts carry a CSRF
    cookie and the same token in the form, as a page's form would.
    """

    def __init__(self, base_url: str, *, session: str | None = None) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.csrf = secrets.token_hex(16)
        self.cookies = {"csrftoken": self.csrf, **({"sessionid": session} if session else {})}

    def request(self, method: str, path: str, *, form: dict | None = None, cookies: bool = True) -> tuple[int, float]:
        """Returns the status and the seconds from sending to the last byte of the answer."""
        headers = {"Host": f"{self.host}:{self.port}"}
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode({**form, "csrfmiddlewaretoken": self.csrf})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        started = time.monotonic()
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            return response.status, time.monotonic() - started
        finally:
            connection.close()
