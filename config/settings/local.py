"""The embedded default for one machine: ``make run``."""

from .base import *  # noqa: F403
from .base import VAR_DIR, env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="local-only-insecure-key-never-used-in-production")

for _folder in ("static", "mail", "broker/queue", "broker/control", "broker/processed"):
    (VAR_DIR / _folder).mkdir(parents=True, exist_ok=True)
