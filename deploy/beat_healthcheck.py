"""Container healthcheck for `beat`: exit 0 when the every-minute entry ran in the last three minutes.

RedBeat records each entry's last run in Redis. The entry that runs every minute
(send-scheduled-pushes) going stale means no beat is ticking: this one is stuck, or lost Redis, or
the beat holding the lock is. With two beats, the one waiting for the lock is healthy while the
other ticks.
"""

import os
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic_crm.settings")

ENTRY = "send-scheduled-pushes"
STALE_AFTER = timedelta(minutes=3)


def problem() -> str | None:
    """What is wrong with the beat, or None."""
    import redis
    from django.conf import settings
    from redbeat.schedulers import RedBeatSchedulerEntry

    if ENTRY not in settings.CELERY_BEAT_SCHEDULE:
        return f"{ENTRY} is not in the beat schedule"
    prefix = getattr(settings, "CELERY_REDBEAT_KEY_PREFIX", "redbeat:")
    client = redis.Redis.from_url(settings.CELERY_REDBEAT_REDIS_URL, socket_timeout=5)
    try:
        meta = RedBeatSchedulerEntry.decode_meta(client.hget(prefix + ENTRY, "meta"))
    finally:
        client.close()
    last_run = meta.get("last_run_at")
    if last_run is None:
        return f"{ENTRY} has never run"
    if last_run.tzinfo is None:
        last_run = last_run.replace(tzinfo=timezone.utc)
    age = datetime.now(timezone.utc) - last_run
    if age > STALE_AFTER:
        return f"{ENTRY} last ran {int(age.total_seconds())} s ago"
    return None


if __name__ == "__main__":
    try:
        found = problem()
    except Exception as exc:  # Redis unreachable, say: unhealthy, with the reason in `docker inspect`
        found = f"{type(exc).__name__}: {exc}"
    if found:
        print(f"beat unhealthy: {found}", file=sys.stderr)
    sys.exit(1 if found else 0)
