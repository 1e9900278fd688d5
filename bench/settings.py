"""Settings for the benchmarks only (``python -m bench.<figure>``), never for a served site.

The production settings' behaviour with three bench-only differences, each printed by the
benchmarks: DEBUG is off; a fast password hasher (MD5) comes first, so a signature's
``authenticate()`` costs microseconds instead of PBKDF2's deliberate hundreds of
milliseconds (the workflow benchmark also measures the production hasher); and the URLs add
a stock Django admin site for the baseline (bench/urls.py).
"""

import tempfile
from pathlib import Path

from config.settings.base import *  # noqa: F403
from config.settings.base import INSTALLED_APPS, env

DEBUG = False
SECRET_KEY = "bench-only-insecure-key"  # noqa: S105 - never serves anyone
# The bytes "editorial-bench-only-key-0000000": webhook secrets at rest (editorial.encryption).
EDITORIAL_WEBHOOK_SECRET_KEYS = ["ZWRpdG9yaWFsLWJlbmNoLW9ubHkta2V5LTAwMDAwMDA="]
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
ROOT_URLCONF = "bench.urls"
STATIC_ROOT = Path(tempfile.gettempdir()) / "editorial-bench-static"
STATIC_ROOT.mkdir(exist_ok=True)

#: The fast hasher first; PBKDF2 (production's) still verifies passwords hashed with it.
FAST_PASSWORD_HASHER = "django.contrib.auth.hashers.MD5PasswordHasher"
PRODUCTION_PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
PASSWORD_HASHERS = [FAST_PASSWORD_HASHER, *PRODUCTION_PASSWORD_HASHERS]

if "EMAIL_URL" not in env.ENVIRON:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# The notification benchmark's bare round trip returns its timestamp through a result backend.
CELERY_RESULT_BACKEND = env.str("BENCH_RESULT_BACKEND", default=None)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}
