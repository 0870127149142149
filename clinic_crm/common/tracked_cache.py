"""Small values read from the shared Redis cache on every request, kept per process until Redis says they changed.

Redis's server-assisted client-side caching (`CLIENT TRACKING`, RESP3): once this process has read
a key on its tracking connection, Redis pushes an `invalidate` message on that connection when
any client changes or deletes the key. Before answering from its own copy, a read drains those
messages, so a read of an unchanged key costs a non-blocking `recv` instead of a round trip.

How fresh a copy is:

- Redis queues the invalidation while it runs the writer's command and writes it in the same
  pass of its event loop that answers the writer. `bump_tracked_int` makes one more round trip
  after its change, which Redis answers only after that pass, so by the time it returns Redis has
  handed the invalidation to every tracking connection. On one host (and normally on a LAN) a
  read that starts afterwards sees the change.
- A reader on another host sees it when the message arrives. Were that packet lost and
  retransmitted, the copy would be served a little longer, so no copy is used for more than
  `MAX_AGE` seconds without a plain read (one GET per key per process per second).
- Tracking is enabled on every (re)connection of the tracking connection and every copy is
  dropped then, so a connection redis-py re-opens on its own never serves untracked copies.
- Anything unexpected (the server refuses tracking, a timeout, an unreadable reply) drops the
  connection and every copy; reads then go to the cache as usual for `RETRY_AFTER` seconds.
  A read that finds the tracking connection busy in another thread also reads through.

redis-py has this built in (`cache_config=`), but only for Redis 7.4 and later; tracking itself
needs 6.0, which is what this module asks of the server.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

MAX_AGE = 1.0  # seconds a copy is used before it is read again
RETRY_AFTER = 5.0  # seconds of plain reads after the tracking connection failed
_MISSING = (None, 0.0)
# Pool keys that belong to redis-py's pooled, maintenance-aware connections, not to a lone one.
_POOL_ONLY = ("maint_notifications_pool_handler", "maint_notifications_config", "himport_registry",
              "orig_host_address", "orig_socket_timeout", "orig_socket_connect_timeout")


class TrackedValues:
    """Integers stored by Django's Redis cache backend, with a per-process copy that Redis invalidates."""

    def __init__(self):
        self._lock = threading.Lock()
        self._connection = None
        self._values: dict[bytes, tuple[int, float]] = {}
        self._disabled_until = 0.0

    def get(self, backend: RedisCache, key: str) -> int | None:
        """The integer stored under the cache key `key`, or None when it is not set."""
        if time.monotonic() >= self._disabled_until and self._lock.acquire(blocking=False):
            try:
                return self._read(backend, backend.make_and_validate_key(key).encode())
            except (RedisError, OSError, ValueError) as exc:
                logger.warning("Redis tracking connection failed (%s); reading through the cache for %d s.",
                               exc, RETRY_AFTER)
                self._reset()
                self._disabled_until = time.monotonic() + RETRY_AFTER
            finally:
                self._lock.release()
        return backend.get(key)

    def _read(self, backend: RedisCache, redis_key: bytes) -> int | None:
        connection = self._tracking_connection(backend)
        while connection.can_read():  # invalidations pushed since the last read (reconnects if needed)
            connection.read_response(push_request=True)
        value, read_at = self._values.get(redis_key, _MISSING)
        now = time.monotonic()
        if value is not None and now - read_at < MAX_AGE:
            return value
        connection.send_command("GET", redis_key)
        raw = connection.read_response()
        if raw is None:
            self._values.pop(redis_key, None)
            return None  # not kept: the caller sets it and reads again
        value = int(raw)  # Django's Redis serializer stores integers as plain numbers
        self._values[redis_key] = (value, now)
        return value

    def _tracking_connection(self, backend: RedisCache):
        if self._connection is not None:
            return self._connection
        # The primary: the server that bump_tracked_int writes to and fences on.
        pool = backend._cache._get_connection_pool(write=True)
        kwargs = {k: v for k, v in pool.connection_kwargs.items() if k not in _POOL_ONLY}
        connection = pool.connection_class(**{**kwargs, "protocol": 3})
        connection.register_connect_callback(self._on_connect)
        try:
            connection.connect()
        except BaseException:
            connection.disconnect()  # connected, then refused tracking: do not leave the socket open
            raise
        self._connection = connection
        return connection

    def _on_connect(self, connection) -> None:
        # Every connect, first or a reconnect redis-py makes on its own: copies read before it
        # were tracked on a connection that is gone, and this one tracks nothing yet.
        self._values.clear()
        connection.send_command("CLIENT", "TRACKING", "ON")
        reply = connection.read_response()
        if reply not in (b"OK", "OK"):
            raise ValueError(f"CLIENT TRACKING ON answered {reply!r}")
        connection._parser.set_invalidation_push_handler(self._on_invalidate)

    def _on_invalidate(self, message) -> None:
        # [b"invalidate", [key, ...]], or [b"invalidate", None] when the database was flushed.
        keys = message[1] if len(message) > 1 else None
        if keys is None:
            self._values.clear()
            return
        for key in keys:
            self._values.pop(key if isinstance(key, bytes) else str(key).encode(), None)

    def _reset(self) -> None:
        connection, self._connection = self._connection, None
        self._values.clear()
        if connection is not None:
            try:
                connection.disconnect()
            except (RedisError, OSError):
                pass


_tracked: dict[tuple, TrackedValues] = {}
_tracked_lock = threading.Lock()


def _forget_after_fork() -> None:
    # A forked worker gets its own connections and copies (and locks no other thread holds).
    global _tracked_lock
    _tracked.clear()
    _tracked_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


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
    Redis has sent the invalidation to every tracking connection (see the module's docstring)."""
    backend = caches["default"]
    try:
        value = backend.incr(key)
    except ValueError:
        backend.set(key, initial, timeout=None)
        value = initial
    if isinstance(backend, RedisCache):
        backend._cache.get_client(write=True).ping()  # the fence described in the module's docstring
    return value
