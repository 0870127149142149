"""Small values read from the shared Redis cache on every request, kept per process until Redis says they changed.

Redis's server-assisted client-side caching (`CLIENT TRACKING`, RESP3): once this process has read
a key on its tracking connection, Redis pushes an `invalidate` message on that connection when
any client changes or deletes the key. Before answering from its own copy, a read drains those
messages, so a change made by another process is seen by the next read here, as with a `GET`,
but a read of an unchanged key costs a non-blocking `recv` instead of a round trip.

redis-py has this built in (`cache_config=`), but only for Redis 7.4 and later; tracking itself
needs 6.0, which is what this module asks of the server.

Redis writes the invalidation in the same pass of its event loop that answers the writer, so
for a moment the writer can hold its answer while a reader's socket does not yet hold the
message. `bump_tracked_int` closes that gap: after the change it makes one more round trip,
which Redis answers only after that pass is complete, so when it returns every tracking
connection has the message and any read that starts afterwards, in any process, sees the change.

Anything unexpected on the tracking connection (the server closed it, a timeout, a reply we
cannot read) drops the connection and every copy, and that read goes to the cache as usual:
copies are only ever kept while Redis is known to be telling us about changes.
"""

from __future__ import annotations

import logging
import os
import threading

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
_MISSING = object()


class TrackedValues:
    """Integers stored by Django's Redis cache backend, with a per-process copy that Redis invalidates."""

    def __init__(self):
        self._lock = threading.Lock()
        self._connection = None
        self._pid: int | None = None
        self._values: dict[bytes, int] = {}

    def get(self, backend: RedisCache, key: str) -> int | None:
        """The integer stored under the cache key `key`, or None when it is not set."""
        redis_key = backend.make_and_validate_key(key).encode()
        with self._lock:
            try:
                return self._read(backend, redis_key)
            except (RedisError, OSError, ValueError) as exc:
                logger.warning("Tracking connection to Redis dropped (%s); reading through the cache.", exc)
                self._reset()
        return backend.get(key)

    def _read(self, backend: RedisCache, redis_key: bytes) -> int | None:
        connection = self._tracking_connection(backend)
        while connection.can_read():  # invalidations pushed since the last read
            connection.read_response(push_request=True)
        value = self._values.get(redis_key, _MISSING)
        if value is not _MISSING:
            return value
        connection.send_command("GET", redis_key)
        raw = connection.read_response()
        if raw is None:
            return None  # not kept: the caller sets it and reads again
        value = int(raw)  # Django's Redis serializer stores integers as plain numbers
        self._values[redis_key] = value
        return value

    def _tracking_connection(self, backend: RedisCache):
        if self._connection is not None and self._pid == os.getpid():
            return self._connection
        # A new process (a forked worker) never shares its parent's socket or copies.
        self._connection, self._values = None, {}
        pool = backend._cache._get_connection_pool(write=False)
        connection = pool.connection_class(**{**pool.connection_kwargs, "protocol": 3})
        connection.connect()
        connection._parser.set_invalidation_push_handler(self._on_invalidate)
        connection.send_command("CLIENT", "TRACKING", "ON")
        reply = connection.read_response()
        if reply not in (b"OK", "OK"):
            connection.disconnect()
            raise ValueError(f"CLIENT TRACKING ON answered {reply!r}")
        self._connection, self._pid = connection, os.getpid()
        return connection

    def _on_invalidate(self, message) -> None:
        # [b"invalidate", [key, ...]], or [b"invalidate", None] when the database was flushed.
        keys = message[1] if len(message) > 1 else None
        if keys is None:
            self._values.clear()
            return
        for key in keys:
            self._values.pop(key if isinstance(key, bytes) else str(key).encode(), None)

    def _reset(self) -> None:
        connection, self._connection, self._values = self._connection, None, {}
        if connection is not None:
            try:
                connection.disconnect()
            except (RedisError, OSError):
                pass


_tracked: dict[tuple, TrackedValues] = {}
_tracked_lock = threading.Lock()


def get_tracked_int(key: str) -> int | None:
    """`cache.get(key)` for an integer value, answered in-process while Redis says it is unchanged.

    With any cache backend other than Django's Redis backend this is just `cache.get(key)`.
    """
    backend = caches["default"]  # one instance per thread; the tracker is one per process and server
    if not isinstance(backend, RedisCache):
        return backend.get(key)
    servers = tuple(backend._cache._servers)
    tracked = _tracked.get(servers)
    if tracked is None:
        with _tracked_lock:
            tracked = _tracked.setdefault(servers, TrackedValues())
    return tracked.get(backend, key)


def bump_tracked_int(key: str, *, initial: int) -> int:
    """Add one to the integer under `key` (set it to `initial` when it is not set) and return it once
    every process's copy is invalidated: a read that starts after this returns sees the new value."""
    backend = caches["default"]
    try:
        value = backend.incr(key)
    except ValueError:
        backend.set(key, initial, timeout=None)
        value = initial
    if isinstance(backend, RedisCache):
        backend._cache.get_client(write=True).ping()  # the fence described in the module's docstring
    return value
