"""Settings shared by every environment.

Everything that differs between machines comes from the environment (django-environ).
The defaults are the embedded ones: SQLite in WAL mode, kombu's filesystem broker and
e-mails written as files, all under ``var/``, so ``make run`` needs no server.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "editorial.apps.WorkspaceAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "accounts",
    "articles",
    "reviewers",
    "editorial",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "editorial.parsing.RejectNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.sessions.IdleTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
# A refused form (expired CSRF token) gets the site's own 403 page, in the style of where it was.
CSRF_FAILURE_VIEW = "editorial.public.errors.csrf_failure"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A web process and a worker write at once: take the write lock when a transaction
    # begins (no upgrade deadlocks), wait for it, and let readers go on under WAL.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # The stage index covers two columns on PostgreSQL only (articles/0006); SQLite builds it
    # without them, which is all the embedded default needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Django's cursors bind on the client and never prepare, whatever this says; the few
    # statements run through editorial.prepared are prepared at their first use. Off behind
    # a PgBouncer older than 1.21 in transaction pooling (docs/deploy.md).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "prepare_threshold", 5 if env.bool("EDITORIAL_PREPARED_STATEMENTS", default=True) else None
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"].endswith("RedisCache"):
    # A Redis that stops answering must slow no page down: the public pages render instead,
    # and after one timeout the shared cache is left alone for a while (a circuit breaker,
    # editorial/public/cache.py), so only one request per process and period waits this long.
    CACHES["default"].setdefault("OPTIONS", {}).update({"socket_connect_timeout": 0.25, "socket_timeout": 0.25})
# Seconds the public pages stop asking a shared cache (Redis) after it failed once.
EDITORIAL_CACHE_BREAKER_SECONDS = env.float("EDITORIAL_CACHE_BREAKER_SECONDS", default=10.0)
# The public pages in each process's own memory (in front of the default cache when that is
# shared, e.g. Redis): at most 1,000 pages of about 10 kB each per process.
CACHES["public_pages"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "public-pages",
    "OPTIONS": {"MAX_ENTRIES": 1000},
}

# --- Auth -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# django-axes counts every failed password (it needs the request in every authenticate()).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# A password-reset link (sent by an operator) works once, for three days.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3 * 24 * 3600)

# --- Accounts: lockout, second factor, sessions, API tokens ----------------------------
# Lockout (django-axes): a user name after 5 failures from any address, an address after 20
# across user names; both for the cool-off after the latest failure, or until an operator
# unlocks them. Failures: login, signing password, second-factor code, API token.
ACCOUNTS_LOCKOUT_USERNAME_FAILURES = env.int("ACCOUNTS_LOCKOUT_USERNAME_FAILURES", default=5)
ACCOUNTS_LOCKOUT_ADDRESS_FAILURES = env.int("ACCOUNTS_LOCKOUT_ADDRESS_FAILURES", default=20)
AXES_FAILURE_LIMIT = ACCOUNTS_LOCKOUT_USERNAME_FAILURES
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ACCOUNTS_LOCKOUT_COOLOFF_MINUTES", default=30))
# Days axes' attempts and logs are kept before the beat deletes them (accounts.lockout).
ACCOUNTS_ACCESS_RECORD_DAYS = env.int("ACCOUNTS_ACCESS_RECORD_DAYS", default=90)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_HANDLER = "accounts.lockout.LockoutHandler"
AXES_LOCKOUT_CALLABLE = "editorial.workspace.sign_in.lockout_response"
AXES_ENABLE_ADMIN = False  # operators unlock on the workspace's own page, which logs it
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "password", "code", "token"]
# Behind a proxy, name how to read the client's address (e.g. from X-Forwarded-For).
AXES_CLIENT_IP_CALLABLE = env.str("AXES_CLIENT_IP_CALLABLE", default=None)
# The second factor (django-otp): required for superusers and these roles, offered to all.
ACCOUNTS_SECOND_FACTOR_GROUPS = env.list("ACCOUNTS_SECOND_FACTOR_GROUPS", default=["Editors", "Auditors"])
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Editorial review")
# Sessions end after this many idle minutes (and a new key at login and re-authentication).
ACCOUNTS_IDLE_TIMEOUT_MINUTES = env.int("ACCOUNTS_IDLE_TIMEOUT_MINUTES", default=30)
SESSION_COOKIE_AGE = ACCOUNTS_IDLE_TIMEOUT_MINUTES * 60
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# API tokens (django-rest-knox): SHA-512 digests, expiring, at most this many per person.
ACCOUNTS_API_TOKENS_PER_PERSON = env.int("ACCOUNTS_API_TOKENS_PER_PERSON", default=10)
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env.int("ACCOUNTS_API_TOKEN_DAYS", default=30)),
    "TOKEN_PREFIX": "edr_",
    "AUTO_REFRESH": False,
    "AUTH_HEADER_PREFIX": "Token",
}

# --- Content-Security-Policy (django-csp 4): no inline script or style anywhere ----------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

# --- E-mail ---------------------------------------------------------------------------
# Default: one file per message under var/mail, so a new user can read what was sent.
if "EMAIL_URL" in env.ENVIRON:
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
if EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend":  # noqa: F821 - set by env.email_url
    # The same, with EMAIL_TIMEOUT bounding all one message takes rather than each socket read.
    EMAIL_BACKEND = "editorial.notifications.smtp.EmailBackend"
# Seconds one message may take in all over SMTP: a stalled server never holds a
# worker for ever, and a delivery's claim (EDITORIAL_CLAIM_TIMEOUT) outlasts any send.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Medical Advisory Board <board@editorial.invalid>")

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost//")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # The worker looks at the folder this often (kombu's default: every second); with the
        # relay's own poll, an e-mail leaves within about half a second of the commit.
        "polling_interval": 0.25,
    }
else:
    # A frozen Redis must never hang a web request: fail fast and let the outbox retry.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_timeout": 2,
        "socket_connect_timeout": 2,
        # Connecting for a publish: one try, no backoff (the worker has its own retry loop).
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.2,
        # Longer than any task or countdown, or Redis redelivers unacknowledged tasks.
        "visibility_timeout": 4 * 3600,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
# Publishing fails fast (the outbox publishes with retry=False: a frozen Redis costs a request
# one 2 s socket timeout); other publishes get one quick retry.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TIMEZONE = TIME_ZONE
# Celery's Django fix-up closes the database connection before and after every task unless
# told to reuse it: a new PostgreSQL connection per delivery cost more than the delivery.
# Reused here; config/celery.py still drops one that is broken or older than CONN_MAX_AGE.
CELERY_DB_REUSE_MAX = 1000
CELERY_BEAT_SCHEDULE = {
    # The outbox's safety net: events the broker never took are handed over again.
    "requeue-pending-events": {"task": "editorial.tasks.requeue_pending_events", "schedule": 30.0},
    # Expire unanswered invitations; remind and escalate reviews; re-reviews due.
    "reminders": {"task": "editorial.tasks.run_reminders", "schedule": 600.0},
    # Ask Crossref whether cited works were retracted or corrected (does nothing while the
    # resolver is off).
    "retraction-watch": {
        "task": "editorial.tasks.watch_retractions",
        "schedule": crontab(hour=env.int("EDITORIAL_RETRACTION_HOUR", default=3), minute=30),
    },
    # Recompute the audit chains written since the last check, and a rolling slice of the
    # older ones (EDITORIAL_AUDIT_FULL_CYCLE_DAYS); auditors hear of any break.
    "audit-chain": {
        "task": "editorial.tasks.verify_audit_chain",
        "schedule": crontab(hour=env.int("EDITORIAL_AUDIT_VERIFY_HOUR", default=2), minute=15),
    },
    # Delete the API's Idempotency-Key records past EDITORIAL_IDEMPOTENCY_KEY_HOURS.
    "purge-idempotency-keys": {"task": "editorial.tasks.purge_idempotency_keys", "schedule": crontab(minute=40)},
    # Delete django-axes' attempts and logs older than ACCOUNTS_ACCESS_RECORD_DAYS.
    "purge-access-records": {
        "task": "editorial.tasks.purge_access_records",
        "schedule": crontab(hour=env.int("EDITORIAL_PURGE_HOUR", default=4), minute=10),
    },
    "daily-digests": {
        "task": "editorial.tasks.send_digests",
        "schedule": crontab(hour=env.int("EDITORIAL_DIGEST_HOUR", default=7), minute=0),
    },
}

# --- Audit history --------------------------------------------------------------------
# Each nightly check also re-reads older chains, a slice a night, so that every link is
# re-read at least once in this many days (chain_verify.rolling_budget).
EDITORIAL_AUDIT_FULL_CYCLE_DAYS = env.int("EDITORIAL_AUDIT_FULL_CYCLE_DAYS", default=7)
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
SIMPLE_HISTORY_REVERT_DISABLED = True

# --- API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Tokens first: an unauthenticated call gets 401 with WWW-Authenticate: Token.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "editorial.api.authentication.TokenAuthentication",
        "editorial.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: the browsable API's pages carry inline styles, which the CSP refuses.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "editorial.api.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_ANON_RATE", default="30/minute"),
        "user": env.str("API_USER_RATE", default="120/minute"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "EXCEPTION_HANDLER": "editorial.api.errors.exception_handler",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Editorial review API",
    "DESCRIPTION": "Medical articles and their review by the Medical Advisory Board.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # /api/docs/: Swagger UI from the project's own static files (no CDN; the CSP holds).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"ArticleStatusEnum": "articles.models.ArticleStatus.choices"},
}

# --- The editorial product ------------------------------------------------------------
# Webhooks: hosts allowed although they resolve to a private, loopback or link-local address
# (none by default: no server-side request forgery), and the seconds one POST may take.
EDITORIAL_WEBHOOK_ALLOWED_HOSTS = env.list("EDITORIAL_WEBHOOK_ALLOWED_HOSTS", default=[])
EDITORIAL_WEBHOOK_TIMEOUT = env.float("EDITORIAL_WEBHOOK_TIMEOUT", default=5.0)
# The keys that encrypt webhook secrets at rest (editorial.encryption): Fernet keys, comma-separated;
# the first encrypts, all decrypt (rotation). None here: the local and test settings bring their own,
# production requires them.
EDITORIAL_WEBHOOK_SECRET_KEYS = env.list("EDITORIAL_WEBHOOK_SECRET_KEYS", default=[])
# Hours an API Idempotency-Key is remembered: a retry within them gets the first answer again.
EDITORIAL_IDEMPOTENCY_KEY_HOURS = env.int("EDITORIAL_IDEMPOTENCY_KEY_HOURS", default=24)
# The beat's purges of records kept only for a while (editorial.notifications.housekeeping):
# rows deleted per transaction, and transactions per run (the rest waits for the next run).
EDITORIAL_PURGE_BATCH = env.int("EDITORIAL_PURGE_BATCH", default=1000)
EDITORIAL_PURGE_MAX_BATCHES = env.int("EDITORIAL_PURGE_MAX_BATCHES", default=100)
# Signatures of board members needed before an editor may approve.
EDITORIAL_APPROVAL_QUORUM = env.int("EDITORIAL_APPROVAL_QUORUM", default=2)
# First status at which readers see an article: "submitted" (with the pending banner) or
# "approved".
EDITORIAL_PUBLIC_FROM = env.str("EDITORIAL_PUBLIC_FROM", default="submitted")
# Seconds a public page is served from the cache to anonymous readers (0: never cached). A
# status change reaches readers within this time.
EDITORIAL_PUBLIC_CACHE_SECONDS = env.int("EDITORIAL_PUBLIC_CACHE_SECONDS", default=5)
# Months after approval at which an article falls due for re-review.
# Readers' follow-up questions: how many one address may send (django-ratelimit's "n/period").
EDITORIAL_QUESTION_RATE = env.str("EDITORIAL_QUESTION_RATE", default="5/h")
EDITORIAL_REREVIEW_MONTHS = env.int("EDITORIAL_REREVIEW_MONTHS", default=12)
# Days a board member has to answer an invitation, and to return the review once accepted.
EDITORIAL_INVITATION_RESPONSE_DAYS = env.int("EDITORIAL_INVITATION_RESPONSE_DAYS", default=3)
EDITORIAL_REVIEW_DAYS = env.int("EDITORIAL_REVIEW_DAYS", default=14)
# The board's time zone (an IANA name): a deadline picked as a date is the end of that day there.
EDITORIAL_BOARD_TIME_ZONE = env.str("EDITORIAL_BOARD_TIME_ZONE", default=TIME_ZONE)
# Reminders: a review due within this many hours is "due soon"; an overdue review is
# escalated to the editors this many days after its due date.
EDITORIAL_DUE_SOON_HOURS = env.int("EDITORIAL_DUE_SOON_HOURS", default=48)
EDITORIAL_ESCALATION_GRACE_DAYS = env.int("EDITORIAL_ESCALATION_GRACE_DAYS", default=3)
# Delivery: retries with exponential backoff and jitter, then the dead letters.
EDITORIAL_DELIVERY_MAX_RETRIES = env.int("EDITORIAL_DELIVERY_MAX_RETRIES", default=8)
EDITORIAL_RETRY_BASE_SECONDS = env.float("EDITORIAL_RETRY_BASE_SECONDS", default=10.0)
EDITORIAL_RETRY_MAX_SECONDS = env.float("EDITORIAL_RETRY_MAX_SECONDS", default=1800.0)
# The lease of a claimed e-mail: one claimed this long ago by a worker that never finished
# (killed) is claimed again. Longer than EMAIL_TIMEOUT, or a slow send would be taken over
# and sent twice (a system check refuses it otherwise).
EDITORIAL_CLAIM_TIMEOUT = env.int("EDITORIAL_CLAIM_TIMEOUT", default=120)
# The relay (manage.py run_relay): on PostgreSQL woken by NOTIFY, and polling this often in
# case a notification was missed; on SQLite polling this often; backing off up to this long
# while the broker is away.
EDITORIAL_RELAY_POLL_SECONDS = env.float("EDITORIAL_RELAY_POLL_SECONDS", default=5.0)
EDITORIAL_RELAY_SQLITE_POLL_SECONDS = env.float("EDITORIAL_RELAY_SQLITE_POLL_SECONDS", default=0.2)
EDITORIAL_RELAY_BACKOFF_MAX_SECONDS = env.float("EDITORIAL_RELAY_BACKOFF_MAX_SECONDS", default=2.0)
# PostgreSQL with several relays: the leader publishes from NOTIFY; the others claim, on
# their poll, only events that waited this long (the leader gone, or stopped by the broker).
EDITORIAL_RELAY_GRACE_SECONDS = env.float("EDITORIAL_RELAY_GRACE_SECONDS", default=5.0)
# Seconds after which the beat hands over again an event no relay took (and ten times this
# after the last hand-over, an event still pending).
EDITORIAL_EVENT_REQUEUE_AFTER = env.int("EDITORIAL_EVENT_REQUEUE_AFTER", default=20)

# --- Content integrity ------------------------------------------------------------------
# The patient text's Flesch-Kincaid grade above which the lints warn.
EDITORIAL_PATIENT_READING_GRADE = env.float("EDITORIAL_PATIENT_READING_GRADE", default=8.0)
# What every public article page says under the text (the lints check that both are there).
EDITORIAL_DISCLAIMER = env.str(
    "EDITORIAL_DISCLAIMER",
    default=(
        "This article is written to support clinical judgement, never to replace it. Before acting on it for a "
        "particular patient, check doses, contraindications and recommendations against the primary sources and "
        "the guidance that applies where you practise. If you are not a healthcare professional, use it to prepare "
        "for a conversation with your doctor, nurse or pharmacist, not instead of one. We accept no responsibility "
        "for decisions made on the strength of this page alone."
    ),
)
EDITORIAL_EMERGENCY_ADVICE = env.str(
    "EDITORIAL_EMERGENCY_ADVICE",
    default="In an emergency, call your local emergency number (911 in the US, 999 in the UK, 112 in the EU) "
    "or go to the nearest emergency department.",
)
# Reference look-ups (Crossref for DOIs, PubMed E-utilities for PMIDs). Off unless switched on:
# production machines may have no way out, and a look-up must never hang a page.
EDITORIAL_RESOLVER_ENABLED = env.bool("EDITORIAL_RESOLVER_ENABLED", default=False)
EDITORIAL_CROSSREF_URL = env.str("EDITORIAL_CROSSREF_URL", default="https://api.crossref.org").rstrip("/")
EDITORIAL_PUBMED_URL = env.str("EDITORIAL_PUBMED_URL", default="https://eutils.ncbi.nlm.nih.gov/entrez/eutils").rstrip(
    "/"
)
# Who we are, for the services' "polite" pools: a contact address in the User-Agent and the
# mailto / email parameters (Crossref and NCBI both ask for one).
EDITORIAL_RESOLVER_CONTACT = env.str("EDITORIAL_RESOLVER_CONTACT", default="board@editorial.invalid")
EDITORIAL_RESOLVER_TIMEOUT = env.float("EDITORIAL_RESOLVER_TIMEOUT", default=5.0)
# Seconds a look-up's answer is kept (in the default cache) before the service is asked again.
EDITORIAL_RESOLVER_CACHE_SECONDS = env.int("EDITORIAL_RESOLVER_CACHE_SECONDS", default=24 * 3600)
# The retraction watch: how many cited works one run asks about, and how long before a work is
# asked about again.
EDITORIAL_RETRACTION_BATCH = env.int("EDITORIAL_RETRACTION_BATCH", default=200)
EDITORIAL_RETRACTION_RECHECK_HOURS = env.int("EDITORIAL_RETRACTION_RECHECK_HOURS", default=7 * 24)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
