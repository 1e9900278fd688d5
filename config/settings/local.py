"""The embedded default for one machine: ``make run``."""

from editorial.encryption import DEVELOPMENT_KEY

from .base import *  # noqa: F403
from .base import CELERY_BEAT_SCHEDULE, VAR_DIR, env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="local-only-insecure-key-never-used-in-production")
# Webhook secrets are encrypted with the public development key unless told otherwise (refused with DEBUG off).
EDITORIAL_WEBHOOK_SECRET_KEYS = env.list("EDITORIAL_WEBHOOK_SECRET_KEYS", default=[DEVELOPMENT_KEY])

for _folder in ("static", "mail", "broker/queue", "broker/control", "broker/processed"):
    (VAR_DIR / _folder).mkdir(parents=True, exist_ok=True)

# Reference look-ups against the local stub that `make run` starts (editorial.sources.stub): a
# newcomer sees DOIs and PMIDs filled in, and the retraction watch finds the demo's retracted
# trial within a couple of minutes (every 2 minutes here; daily in production).
EDITORIAL_RESOLVER_ENABLED = env.bool("EDITORIAL_RESOLVER_ENABLED", default=True)
_STUB = env.str("EDITORIAL_SOURCE_STUB_URL", default="http://127.0.0.1:8009").rstrip("/")
EDITORIAL_CROSSREF_URL = env.str("EDITORIAL_CROSSREF_URL", default=f"{_STUB}/crossref")
EDITORIAL_PUBMED_URL = env.str("EDITORIAL_PUBMED_URL", default=f"{_STUB}/pubmed")
EDITORIAL_RESOLVER_TIMEOUT = env.float("EDITORIAL_RESOLVER_TIMEOUT", default=3.0)
CELERY_BEAT_SCHEDULE = {
    **CELERY_BEAT_SCHEDULE,
    "retraction-watch": {"task": "editorial.tasks.watch_retractions", "schedule": 120.0},
}
