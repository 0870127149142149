"""A worker process killed with SIGKILL in the middle of a push: the task runs again (acks late, and the
message is given back when its process is lost) and stays idempotent. The killed run had sent the first
batch and was waiting on OneSignal's answer to the second; the re-run sends both again with the same keys,
OneSignal replays them, and every patient gets the push exactly once.

A real Celery worker runs as a separate process (prefork, one child) against this test's database and the
Redis broker, and sends through the real SDK to the fake OneSignal on 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import kombu.pools
import pytest
import redis
from django.db import connection

from clinic_crm.celery import app
from clinic_crm.tenancy.context import clinic_scope
from notifications.choices import PushStatus
from notifications.models import PushNotification
from notifications.services import record_push
from notifications.tasks import deliver_push_task
from tests.factories import PatientFactory
from tests.notifications.fake_onesignal import Reply

pytestmark = [pytest.mark.celery, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 40


def _wait_for(condition, what: str, seconds: float = WAIT_SECONDS):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    pytest.fail(f"timed out after {seconds} s waiting for {what}", pytrace=False)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(line) for line in out.split()]


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def broker_url():
    url = os.environ.get("CELERY_TEST_BROKER_URL")
    if not url:
        pytest.skip("CELERY_TEST_BROKER_URL is not set")
    redis.Redis.from_url(url).flushdb()  # this test's queue only
    saved = {name: app.conf[name] for name in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=url, task_always_eager=False)
    kombu.pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
    yield url
    app.conf.update(saved)
    kombu.pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def worker_process(broker_url, onesignal, tmp_path):
    """`celery worker` as production runs it, one prefork child, on this test's database and broker."""
    env = {**os.environ, "DATABASE_URL": _database_url(), "CELERY_BROKER_URL": broker_url, "DEBUG": "1",
           "PUSH_BACKEND": "onesignal", "ONESIGNAL_API_URL": onesignal.url, "ONESIGNAL_CHUNK_SIZE": "2",
           "ONESIGNAL_READ_TIMEOUT": "30", "LOG_FORMAT": "plain", "CACHE_URL": "dummycache://"}
    log = tmp_path / "worker.log"
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "clinic_crm", "worker", "--pool=prefork", "--concurrency=1",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
            cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for(lambda: "ready" in log.read_text() or process.poll() is not None, "the worker to start")
        assert process.poll() is None, log.read_text()
        process.log = log
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def test_a_worker_killed_mid_push_runs_it_again_and_nobody_gets_it_twice(
        onesignal, clinic_a_on_onesignal, worker_process):
    clinic = clinic_a_on_onesignal
    with clinic_scope(clinic.pk):
        PatientFactory.create_batch(4, push_enabled=True)  # two batches of two
        push = record_push(clinic=clinic, title="Christmas", message="20% off all week")
    # OneSignal takes the second batch but answers it only after 20 s: the worker is killed meanwhile
    onesignal.reply(Reply(), Reply(delay=20))

    deliver_push_task.apply_async((clinic.pk, push.pk))
    _wait_for(lambda: len(onesignal.creates) >= 2, "the second batch to reach OneSignal")
    [child] = _children(worker_process.pid)
    os.kill(child, signal.SIGKILL)

    # the task runs again in a new child process and settles the push
    def settled():
        with clinic_scope(clinic.pk):
            row = PushNotification.objects.get(pk=push.pk)
        return row if row.status != PushStatus.QUEUED else None

    row = _wait_for(settled, "the push to be delivered again")
    log = worker_process.log.read_text()
    assert "WorkerLostError" in log or "SIGKILL" in log, log
    assert (row.status, row.sent_count, row.attempts) == (PushStatus.SENT, 4, 2)
    # both attempts sent both batches with the same keys: OneSignal acted on each batch once
    assert len(onesignal.creates) == 4
    assert len({request.json["idempotency_key"] for request in onesignal.creates}) == 2
    reached = [alias for request in onesignal.sends for alias in request.json["include_aliases"]["external_id"]]
    assert sorted(reached) == sorted(set(reached)) and len(reached) == 4
