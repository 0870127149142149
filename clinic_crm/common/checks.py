"""System checks for a deployment that would otherwise fail quietly at run time.

The WSGI entry point runs them before serving (`clinic_crm/wsgi.py`), so gunicorn refuses to
start instead of answering wrongly; `manage.py check --deploy` shows them. They are deployment
checks so that `migrate` and `collectstatic`, which come before serving, are not held up by them.
"""

import os

from django.conf import settings
from django.core.checks import Error, register

TAG = "clinic_crm"
# Set by gunicorn.conf.py to the number of workers: how many processes serve the app.
PROCESSES_ENV = "CLINIC_CRM_WEB_PROCESSES"


@register(TAG, deploy=True)
def check_cache_is_shared(app_configs=None, **kwargs):
    """A cache kept in each process (locmem) only where one process serves, in development."""
    backend = settings.CACHES["default"]["BACKEND"]
    if backend != "django.core.cache.backends.locmem.LocMemCache":
        return []
    processes = int(os.environ.get(PROCESSES_ENV) or 1)
    if settings.DEBUG and processes <= 1:
        return []
    why = "DEBUG is off" if not settings.DEBUG else f"{processes} processes serve the app"
    return [Error(
        f"The cache is kept in each process (CACHE_URL={os.environ.get('CACHE_URL', 'locmemcache://')}), and {why}.",
        hint="Each process would keep its own patient-app config version, rate limits and API keys: a change "
             "made through one worker would not show on the next fetch answered by another. Set "
             "CACHE_URL=rediscache://host:6379/1 (production), or leave it unset for the file cache under var/.",
        id="clinic_crm.E001",
    )]


@register(TAG, deploy=True)
def check_static_manifest(app_configs=None, **kwargs):
    """With DEBUG off, the hashed static files must have been collected, or every page fails."""
    if settings.DEBUG:
        return []
    from django.contrib.staticfiles.storage import ManifestFilesMixin
    from django.core.files.storage import storages

    storage = storages["staticfiles"]
    if not isinstance(storage, ManifestFilesMixin) or storage.exists(storage.manifest_name):
        return []
    return [Error(
        f"The static files have not been collected: {storage.path(storage.manifest_name)} is missing.",
        hint="Run `python manage.py collectstatic --noinput` (the Docker image does it when it is built). With "
             "DEBUG off every page, error pages included, names its CSS and scripts through that manifest.",
        id="clinic_crm.E002",
    )]
