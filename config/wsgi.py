import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = get_wsgi_application()

# After the apps are ready: the reading grade's dictionary, loaded before the first request.
from articles import lints  # noqa: E402

lints.warm()
