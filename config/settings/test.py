"""The test run: the same settings, with a fast hasher and mail kept in memory.

DATABASE_URL and CELERY_BROKER_URL switch the suite to PostgreSQL and Redis.
"""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import CELERY_BROKER_URL, DATABASES, INSTALLED_APPS, env

DEBUG = False
SECRET_KEY = "test-only-key"  # noqa: S105 - the test run only
# The bytes "editorial-test-run-only-key-0000": webhook secrets at rest (editorial.encryption).
EDITORIAL_WEBHOOK_SECRET_KEYS = ["ZWRpdG9yaWFsLXRlc3QtcnVuLW9ubHkta2V5LTAwMDA="]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if "EMAIL_URL" not in env.ENVIRON:  # a worker process started by a fault test passes its own
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SITE_URL = "http://testserver"
# The benchmark app: its data generator and views are tested with the product.
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
STATIC_ROOT = Path(tempfile.mkdtemp(prefix="editorial-test-static-"))

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The test database in a file, as `make run` has it, not in memory: the tests' real
    # workers and relays are threads with their own connections, and an in-memory database
    # shared between connections answers "database table is locked" at once where a file
    # under WAL lets readers read and waits out the busy timeout for the write lock.
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.mkdtemp(prefix="editorial-test-db-")) / "test.sqlite3")}

if CELERY_BROKER_URL.startswith("filesystem://"):
    # A private broker folder per test process: nothing left over from an earlier run.
    _broker_dir = Path(tempfile.mkdtemp(prefix="editorial-test-broker-"))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
    for _folder in ("queue", "control", "processed"):
        (_broker_dir / _folder).mkdir()

# The webhook tests' local receiver listens on loopback (tests/editorial/notifications/test_webhooks.py).
EDITORIAL_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
