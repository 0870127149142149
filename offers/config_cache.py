"""The patient app's config is cached per clinic under a version that every change bumps (OFF-7)."""

import time

from django.core.cache import cache

VERSION_KEY = "offers:config-version:{clinic_id}"


def config_version(clinic_id: int) -> int:
    key = VERSION_KEY.format(clinic_id=clinic_id)
    version = cache.get(key)
    if version is None:
        cache.add(key, time.time_ns(), timeout=None)
        version = cache.get(key)
    return version


def invalidate_app_config(clinic_id: int) -> None:
    """Make the next config fetch rebuild: a new version means a new cache key and a new ETag."""
    key = VERSION_KEY.format(clinic_id=clinic_id)
    try:
        cache.incr(key)
    except ValueError:
        # Not cached (or evicted): restart from a value no earlier version can have held, so an
        # old cached body or ETag is never mistaken for the current one.
        cache.set(key, time.time_ns(), timeout=None)
