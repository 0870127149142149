import gc
import os

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from clinic_crm.common.checks import TAG

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic_crm.settings")
application = get_wsgi_application()

# Refuse to serve a deployment that would answer wrongly (a cache each worker keeps to itself,
# static files never collected): the worker fails to boot, and gunicorn says why.
problems = [message for message in checks.run_checks(tags=[TAG], include_deployment_checks=True)
            if message.is_serious()]
if problems:
    raise ImproperlyConfigured("\n".join(f"{message.id}: {message.msg} {message.hint}" for message in problems))

# Import every view now rather than on the first request, then move everything loaded so far
# (modules, classes, URL patterns: ~130,000 objects that live as long as the process) out of the
# cycle collector's reach. Without this, each full collection walks all of them: 60-230 ms per
# worker under load, and the workers, started together, tend to collect at the same moment.
get_resolver().url_patterns
gc.collect()
gc.freeze()
