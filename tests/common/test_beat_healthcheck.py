"""compose's beat healthcheck (deploy/beat_healthcheck.py) reads what RedBeat itself records: healthy while
the every-minute entry keeps running, unhealthy once it stops or Redis is gone."""

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import redis
from celery import Celery
from celery.schedules import crontab
from redbeat.schedulers import RedBeatSchedulerEntry

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.redis


def healthcheck(redis_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEBUG": "1", "REDBEAT_REDIS_URL": redis_url}
    return subprocess.run([sys.executable, "deploy/beat_healthcheck.py"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def beat_redis():
    """RedBeat on the test Redis, as a beat writes it; emptied before and after."""
    url = os.environ["REDIS_TEST_URL"]
    client = redis.Redis.from_url(url)
    client.flushdb()
    app = Celery("beat-healthcheck-test")
    app.conf.redbeat_redis_url = url
    yield url, app
    client.flushdb()
    client.close()


def ran(app, minutes_ago: float) -> None:
    entry = RedBeatSchedulerEntry("send-scheduled-pushes", "notifications.scheduled.send_scheduled_pushes",
                                  crontab(), app=app).save()
    entry.reschedule(last_run_at=datetime.now(timezone.utc) - timedelta(minutes=minutes_ago))


def test_healthy_while_the_every_minute_entry_ran_lately(beat_redis):
    url, app = beat_redis
    ran(app, minutes_ago=1)

    result = healthcheck(url)

    assert result.returncode == 0, result.stderr


def test_unhealthy_once_it_has_not_run_for_three_minutes_and_says_how_long(beat_redis):
    url, app = beat_redis
    ran(app, minutes_ago=10)

    result = healthcheck(url)

    assert result.returncode == 1
    assert "send-scheduled-pushes last ran 6" in result.stderr  # 600 s, give or take


def test_unhealthy_before_any_beat_has_ticked(beat_redis):
    url, _ = beat_redis

    result = healthcheck(url)

    assert result.returncode == 1
    assert "has never run" in result.stderr


def test_unhealthy_when_redis_is_unreachable():
    result = healthcheck("redis://127.0.0.1:1/0")

    assert result.returncode == 1
    assert "ConnectionError" in result.stderr
