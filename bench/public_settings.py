"""Production settings serving the public-page benchmark's views (bench/public_page.py)."""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.public_urls"
