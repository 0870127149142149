"""The patient app's config is cached per clinic under a version that every change bumps (OFF-7)."""

import time

from django.core.cache import cache

from clinic_crm.common.tracked_cache import bump_tracked_int, get_tracked_int

VERSION_KEY = "offers:config-version:{clinic_id}"


def config_version(clinic_id: int) -> int:
    """The clinic's current config version. With Redis as the cache, a process keeps the version it
    read until Redis reports a change (tracked_cache), so a warm fetch makes no round trip."""
    key = VERSION_KEY.format(clinic_id=clinic_id)
    version = get_tracked_int(key)
    if version is None:
        cache.add(key, time.time_ns(), timeout=None)
        version = get_tracked_int(key)
        if version is None:  # a cache that keeps nothing (DummyCache): no two fetches share a tag
            version = time.time_ns()
    return version


def invalidate_app_config(clinic_id: int) -> None:
    """Make the next config fetch rebuild: a new version means a new cache key and a new ETag."""
    # Not cached (or evicted): restart from a value no earlier version can have held, so an old
    # cached body or ETag is never mistaken for the current one.
    bump_tracked_int(VERSION_KEY.format(clinic_id=clinic_id), initial=time.time_ns())
