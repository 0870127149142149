"""Per-process copies of shared-cache integers, invalidated by Redis's client tracking."""

import os
import time

import pytest
from django.core.cache import cache

from clinic_crm.common.tracked_cache import bump_tracked_int, get_tracked_int

pytestmark = pytest.mark.redis

KEY = "tracked:test-version"


def redis_key() -> str:
    return cache.make_and_validate_key(KEY)


def get_calls(client) -> int:
    return client.info("commandstats").get("cmdstat_get", {}).get("calls", 0)


def tracking_client_ids(client) -> list[int]:
    return [c["id"] for c in client.client_list() if "t" in c["flags"]]


def test_an_unchanged_value_is_answered_without_a_round_trip(redis_cache, monkeypatch):
    from clinic_crm.common import tracked_cache

    monkeypatch.setattr(tracked_cache, "MAX_AGE", 60)  # however slow the machine, no copy ages out here
    # given a value read once through the tracker
    cache.set(KEY, 41, timeout=None)
    assert get_tracked_int(KEY) == 41
    gets_before = get_calls(redis_cache)
    # when it is read 50 more times
    values = {get_tracked_int(KEY) for _ in range(50)}
    # then every read is answered in the process, and Redis saw no GET
    assert values == {41}
    assert get_calls(redis_cache) == gets_before


def test_a_change_by_another_client_is_seen_on_the_very_next_read(redis_cache):
    # given a value this process holds a copy of
    cache.set(KEY, 7, timeout=None)
    assert get_tracked_int(KEY) == 7
    # when another client (another process, in production) changes it, and then deletes it, each
    # time making one more round trip as bump_tracked_int does (Redis has then told every tracker)
    redis_cache.incr(redis_key())
    redis_cache.ping()
    after_incr = get_tracked_int(KEY)
    redis_cache.delete(redis_key())
    redis_cache.ping()
    after_delete = get_tracked_int(KEY)
    # then each next read sees the change, without waiting
    assert (after_incr, after_delete) == (8, None)


def test_a_bump_is_seen_by_the_next_read_and_starts_an_unset_value(redis_cache):
    # given a value held by the tracker, and one never set
    cache.set(KEY, 100, timeout=None)
    assert get_tracked_int(KEY) == 100
    # when the application bumps both
    bumped = bump_tracked_int(KEY, initial=1)
    started = bump_tracked_int(KEY + "-new", initial=500)
    # then the next reads have the new values
    assert (bumped, get_tracked_int(KEY)) == (101, 101)
    assert (started, get_tracked_int(KEY + "-new")) == (500, 500)


def test_a_dropped_tracking_connection_never_serves_an_old_copy(redis_cache, monkeypatch):
    from clinic_crm.common import tracked_cache

    monkeypatch.setattr(tracked_cache, "RETRY_AFTER", 0.2)
    # given a value held by the tracker
    cache.set(KEY, 1, timeout=None)
    assert get_tracked_int(KEY) == 1
    # when Redis drops the tracking connection and the value changes while nobody is told
    ids = tracking_client_ids(redis_cache)
    assert ids, "the tracker holds a tracking connection"
    for client_id in ids:
        redis_cache.client_kill_filter(_id=client_id)
    redis_cache.incr(redis_key())
    redis_cache.ping()
    # then the next read notices the lost connection and reads the current value
    assert get_tracked_int(KEY) == 2
    # and after the pause, tracking resumes on a new connection
    time.sleep(0.25)
    assert get_tracked_int(KEY) == 2
    assert tracking_client_ids(redis_cache)
    assert bump_tracked_int(KEY, initial=1) == 3
    assert get_tracked_int(KEY) == 3


def test_a_flushed_database_drops_every_copy(redis_cache):
    # given two values held by the tracker
    cache.set(KEY, 5, timeout=None)
    cache.set(KEY + "-other", 6, timeout=None)
    assert (get_tracked_int(KEY), get_tracked_int(KEY + "-other")) == (5, 6)
    # when the cache database is flushed
    redis_cache.flushdb()
    redis_cache.ping()
    # then neither copy is served
    assert (get_tracked_int(KEY), get_tracked_int(KEY + "-other")) == (None, None)


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_does_not_use_its_parents_copies(redis_cache):
    # given a value held by the tracker in this process
    cache.set(KEY, 10, timeout=None)
    assert get_tracked_int(KEY) == 10
    redis_cache.set(redis_key(), 11)  # the parent is told; the child must not rely on that
    redis_cache.ping()
    # when a forked child (a gunicorn worker) reads it
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.write(write, str(get_tracked_int(KEY)).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child_value = os.read(read, 64).decode()
    os.close(read)
    # then the child read the current value over its own connection
    assert child_value == "11"
    assert get_tracked_int(KEY) == 11


def test_without_redis_it_is_a_plain_cache_read(settings):
    # given the per-process cache of the embedded defaults
    settings.CACHES = {**settings.CACHES, "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.set(KEY, 3)
    # when read, then bumped and read again
    first = get_tracked_int(KEY)
    bump_tracked_int(KEY, initial=1)
    # then it reads through
    assert (first, get_tracked_int(KEY)) == (3, 4)


def tracker():
    from clinic_crm.common import tracked_cache

    return next(iter(tracked_cache._tracked.values()))


def test_a_connection_redis_py_reopens_by_itself_is_tracked_again_and_old_copies_dropped(redis_cache):
    # given a value held by the tracker
    cache.set(KEY, 1, timeout=None)
    assert get_tracked_int(KEY) == 1
    # when the socket is closed under it (redis-py reconnects on the next use) and the value changes
    tracker()._connection.disconnect()
    redis_cache.incr(redis_key())
    redis_cache.ping()
    # then the read after the reconnect is current, and later changes are tracked on the new socket
    assert get_tracked_int(KEY) == 2
    assert bump_tracked_int(KEY, initial=1) == 3
    assert get_tracked_int(KEY) == 3


def test_a_copy_is_read_again_after_max_age_even_if_an_invalidation_never_arrived(redis_cache, monkeypatch):
    from clinic_crm.common import tracked_cache

    # given a value held by the tracker, and Redis no longer telling this connection about changes
    monkeypatch.setattr(tracked_cache, "MAX_AGE", 0.2)
    cache.set(KEY, 1, timeout=None)
    assert get_tracked_int(KEY) == 1
    connection = tracker()._connection
    connection.send_command("CLIENT", "TRACKING", "OFF")
    connection.read_response()
    redis_cache.incr(redis_key())
    redis_cache.ping()
    # when it is read within the copy's age, and after it
    within = get_tracked_int(KEY)
    time.sleep(0.25)
    after = get_tracked_int(KEY)
    # then the copy is used only until it is MAX_AGE old
    assert (within, after) == (1, 2)


def test_a_server_that_refuses_tracking_is_read_through_without_reconnecting_each_time(redis_cache, monkeypatch):
    from redis.exceptions import ResponseError

    from clinic_crm.common.tracked_cache import TrackedValues

    # given a server that answers CLIENT TRACKING with an error
    attempts = []

    def refuse(self, connection):
        attempts.append(connection)
        raise ResponseError("unknown command 'CLIENT TRACKING'")

    monkeypatch.setattr(TrackedValues, "_on_connect", refuse)
    cache.set(KEY, 5, timeout=None)
    # when the value is read, changed and read again
    first = get_tracked_int(KEY)
    cache.incr(KEY)
    second = get_tracked_int(KEY)
    # then every read is current (through the cache) and tracking was tried once, not per read
    assert (first, second) == (5, 6)
    assert len(attempts) == 1
    assert attempts[0]._sock is None, "the refused connection was closed"


def test_a_read_while_another_thread_uses_the_tracking_connection_reads_through(redis_cache):
    # given a value held by the tracker, then changed with no invalidation read yet
    cache.set(KEY, 1, timeout=None)
    assert get_tracked_int(KEY) == 1
    redis_cache.set(redis_key(), 9)
    # when another thread holds the tracking connection during a read
    lock = tracker()._lock
    lock.acquire()
    try:
        value = get_tracked_int(KEY)
    finally:
        lock.release()
    # then the read goes to the cache instead of waiting
    assert value == 9
