"""Django's Redis cache, made to degrade rather than fail while Redis cannot be reached: a read misses, a
write is skipped, `incr` reports the key gone, and the request goes on (the database holds everything the
cache only speeds up). After a failure it does not try Redis again for a few seconds, so an outage costs
one short connect timeout per process and thread, not one per cache call.

Rate limits and sign-in lockouts count in the cache: while Redis is down they count nothing (fail open),
and a warning says so once per outage.
"""

from __future__ import annotations

import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger("clinic_crm.cache")

RETRY_AFTER_SECONDS = 5.0
# Defaults for the connection to Redis, so a dead server costs a fraction of a second, not the OS's timeout.
SOCKET_OPTIONS = {"socket_connect_timeout": 0.25, "socket_timeout": 0.5}


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        options = params.get("OPTIONS") or {}
        params = {**params, "OPTIONS": {**SOCKET_OPTIONS, **options}}
        super().__init__(server, params)
        self._down_until = 0.0

    def _guarded(self, name: str, fallback, *args, **kwargs):
        if time.monotonic() < self._down_until:
            return fallback()
        try:
            return getattr(super(), name)(*args, **kwargs)
        except (RedisError, OSError) as error:
            if not self._down_until:
                logger.warning("Redis cannot be reached (%s): the cache misses and rate limits count nothing "
                               "until it is back", type(error).__name__)
            self._down_until = time.monotonic() + RETRY_AFTER_SECONDS
            return fallback()
        finally:
            if self._down_until and time.monotonic() >= self._down_until:
                self._down_until = 0.0

    def get(self, key, default=None, version=None):
        return self._guarded("get", lambda: default, key, default, version)

    def get_many(self, keys, version=None):
        return self._guarded("get_many", dict, keys, version)

    def has_key(self, key, version=None):
        return self._guarded("has_key", lambda: False, key, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded("set", lambda: None, key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded("set_many", lambda: list(data), data, timeout, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded("add", lambda: False, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded("touch", lambda: False, key, timeout, version)

    def delete(self, key, version=None):
        return self._guarded("delete", lambda: False, key, version)

    def delete_many(self, keys, version=None):
        return self._guarded("delete_many", lambda: None, keys, version)

    def incr(self, key, delta=1, version=None):
        def gone():
            raise ValueError(f"Key '{key}' not found (Redis cannot be reached)")

        return self._guarded("incr", gone, key, delta, version)

    def clear(self):
        return self._guarded("clear", lambda: False)
