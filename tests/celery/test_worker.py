"""Tasks through real Redis and a real Celery worker: the path `task_always_eager` skips.

The worker is an in-process thread (`celery.contrib.testing.worker`), so it shares this test
database and `django.core.mail.outbox`, but it takes its tasks from Redis like production does:
serialised, published after commit, consumed, run in the clinic's scope and acknowledged late.
Redis database `CELERY_TEST_BROKER_URL` is meant for this test alone; its queue is purged first.
"""

from __future__ import annotations

import os
import re
import time
from datetime import timedelta

import kombu.pools
import pytest
import redis
from celery.contrib.testing.worker import TestWorkController, start_worker
from celery.worker import state as worker_state
from django.conf import settings
from django.core import mail
from django.utils import timezone

from clinic_crm.celery import app
from clinic_crm.patients.models import RfmScore
from clinic_crm.patients.services import exchange_sign_in_code, request_sign_in_code
from clinic_crm.patients.tasks import recompute_rfm_for_all_clinics
from clinic_crm.tenancy.context import clinic_scope
from clinic_crm.tenancy.models import IdempotencyKey
from clinic_crm.tenancy.tasks import purge_idempotency_keys_for_all_clinics
from tests.factories import OrderFactory, PatientFactory

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

WORKER_START_SECONDS = 15
TASK_WAIT_SECONDS = 20
REDIS_CONNECT_SECONDS = 3

# Settings the test replaces on the shared app, restored afterwards.
_BROKER_SETTINGS = (
    "broker_url",
    "broker_transport_options",
    "broker_connection_timeout",
    "broker_connection_retry_on_startup",
    "task_always_eager",
)


class _BoundedWorkController(TestWorkController):
    """A test worker whose start-up wait has a deadline: the stock one waits forever."""

    def ensure_started(self):
        if not self._on_started.wait(WORKER_START_SECONDS):
            raise RuntimeError(f"the Celery worker did not start consuming within {WORKER_START_SECONDS} s")


def _require_redis(url: str) -> None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=REDIS_CONNECT_SECONDS,
                             socket_timeout=REDIS_CONNECT_SECONDS).ping()
        return
    except redis.RedisError as exc:
        error = exc
    pytest.fail(f"Redis at CELERY_TEST_BROKER_URL={url} is unreachable ({error}). Start redis-server, "
                "or unset CELERY_TEST_BROKER_URL to skip the real-worker tests.", pytrace=False)


def _drop_cached_broker_pools() -> None:
    # The app keeps its connection and producer pools for whichever broker URL it first
    # published to; without this, .delay() could still write to the filesystem broker.
    # kombu registers pools per connection URL, so they are closed and forgotten there too.
    kombu.pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def redis_worker(_eager_celery):
    """Point the app at Redis, purge its queue, and run one worker thread for the test."""
    url = os.environ["CELERY_TEST_BROKER_URL"]
    _require_redis(url)
    saved = {name: app.conf[name] for name in _BROKER_SETTINGS}
    app.conf.update(
        broker_url=url,
        # Production's value: a message left unacknowledged by a crashed run is not redelivered into the next one.
        broker_transport_options={"visibility_timeout": 4 * 3600},
        broker_connection_timeout=REDIS_CONNECT_SECONDS,
        broker_connection_retry_on_startup=False,
        task_always_eager=False,
    )
    _drop_cached_broker_pools()
    try:
        app.control.purge()  # leftovers of an interrupted run would reach this test's worker
        with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=10,
                          WorkController=_BoundedWorkController) as worker:
            yield worker
    finally:
        _drop_cached_broker_pools()
        app.conf.update(saved)


def _wait_for(condition, what: str, seconds: float = TASK_WAIT_SECONDS):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    pytest.fail(f"timed out after {seconds} s waiting for {what}", pytrace=False)


def _runs_by_worker(task_name: str) -> int:
    # Counted when the worker accepts a task from the broker; an eager call never reaches it.
    return worker_state.total_count.get(task_name, 0)


def test_a_sign_in_code_is_emailed_by_the_worker_in_the_patients_clinic(redis_worker, clinic_a, clinic_b):
    # given the same address belongs to a patient in each of two clinics
    with clinic_scope(clinic_a.pk):
        PatientFactory(first_name="Ada", email="shared@example.com")
    with clinic_scope(clinic_b.pk):
        PatientFactory(first_name="Bea", email="shared@example.com")

    email_task = "clinic_crm.patients.tasks.send_sign_in_code_email"
    runs_before = _runs_by_worker(email_task)

    # when the patient of clinic A asks for a code; the task is published when this block commits
    with clinic_scope(clinic_a.pk):
        sign_in = request_sign_in_code(email="shared@example.com")
    assert sign_in is not None

    # then the worker e-mails the code, having read the patient in clinic A's scope
    _wait_for(lambda: len(mail.outbox) >= 1, "the sign-in e-mail")
    assert len(mail.outbox) == 1
    assert _runs_by_worker(email_task) == runs_before + 1
    message = mail.outbox[0]
    assert message.to == ["shared@example.com"]
    assert message.subject.startswith(f"Your {clinic_a.name} sign-in code: ")
    assert "Hello Ada," in message.body
    code = re.search(r"\b(\d{6})\b", message.subject).group(1)
    assert code in message.body
    # and the e-mailed code is the one that was stored, so it signs the patient in
    with clinic_scope(clinic_a.pk):
        assert exchange_sign_in_code(email="shared@example.com", code=code).first_name == "Ada"


def test_the_hourly_fan_out_purges_only_expired_idempotency_keys_in_every_clinic(redis_worker, clinic_a, clinic_b):
    # given each clinic holds an expired key, one just inside the window and a fresh one
    window = timedelta(hours=max(24, settings.IDEMPOTENCY_KEY_HOURS))
    now = timezone.now()
    for clinic in (clinic_a, clinic_b):
        with clinic_scope(clinic.pk):
            for key in ("expired", "almost", "fresh"):
                IdempotencyKey.objects.create(principal="apikey:1", key=key, method="POST",
                                              path="/api/v1/pos/orders", request_hash="0" * 64)
            # created_at is auto_now_add, so it is moved back with an update, in scope for RLS
            IdempotencyKey.objects.filter(key="expired").update(created_at=now - window - timedelta(hours=1))
            IdempotencyKey.objects.filter(key="almost").update(created_at=now - window + timedelta(hours=1))

    per_clinic_task = "clinic_crm.tenancy.tasks.purge_idempotency_keys_for_clinic"
    runs_before = _runs_by_worker(per_clinic_task)

    # when beat's entry runs: one task that queues a purge per clinic through Redis
    purge_idempotency_keys_for_all_clinics.delay()

    # then both clinics lose exactly their expired key
    def expired_left():
        left = 0
        for clinic in (clinic_a, clinic_b):
            with clinic_scope(clinic.pk):
                left += IdempotencyKey.objects.filter(key="expired").count()
        return left

    _wait_for(lambda: expired_left() == 0, "the per-clinic purges to delete the expired keys")
    _wait_for(lambda: _runs_by_worker(per_clinic_task) == runs_before + 2, "both per-clinic purge tasks to run")
    for clinic in (clinic_a, clinic_b):
        with clinic_scope(clinic.pk):
            assert sorted(IdempotencyKey.objects.values_list("key", flat=True)) == ["almost", "fresh"]


def test_the_nightly_rfm_fan_out_scores_each_clinic_in_its_own_scope(redis_worker, clinic_a, clinic_b):
    # given two patients in clinic A and one in clinic B, with orders
    now = timezone.now()
    for clinic, visits in ((clinic_a, (1, 3)), (clinic_b, (2,))):
        with clinic_scope(clinic.pk):
            for count in visits:
                patient = PatientFactory(first_name=f"Visits{count}")
                for day in range(count):
                    OrderFactory(patient=patient, placed_at=now - timedelta(days=day + 1))

    per_clinic_task = "clinic_crm.patients.tasks.recompute_rfm_for_clinic"
    runs_before = _runs_by_worker(per_clinic_task)

    # when beat's entry runs through Redis
    recompute_rfm_for_all_clinics.delay()

    # then each clinic's patients are ranked among their own clinic only
    def scored():
        counts = []
        for clinic in (clinic_a, clinic_b):
            with clinic_scope(clinic.pk):
                counts.append(RfmScore.objects.count())
        return counts == [2, 1]

    _wait_for(scored, "both clinics' RFM rows")
    _wait_for(lambda: _runs_by_worker(per_clinic_task) == runs_before + 2, "both per-clinic RFM tasks to run")
    with clinic_scope(clinic_a.pk):
        assert dict(RfmScore.objects.values_list("patient__first_name", "frequency")) == {"Visits1": 1, "Visits3": 3}
    with clinic_scope(clinic_b.pk):
        assert dict(RfmScore.objects.values_list("patient__first_name", "frequency")) == {"Visits2": 1}


def test_the_worker_sends_a_due_scheduled_push_once_through_redis(redis_worker, clinic_a, settings):
    from notifications.backends import memory
    from notifications.models import ScheduledPush
    from notifications.scheduled import send_scheduled_pushes
    from notifications.services import schedule_push

    settings.PUSH_BACKEND = "memory"
    memory.outbox.clear()
    with clinic_scope(clinic_a.pk):
        PatientFactory(external_id="ann-1", push_enabled=True)
        PatientFactory(external_id="bob-1", push_enabled=True)
        scheduled = schedule_push(clinic=clinic_a, title="Soon", message="Hi", external_ids=["ann-1"],
                                  send_at=timezone.now() + timedelta(milliseconds=300))
    time.sleep(0.4)

    # when beat's entry runs twice through Redis
    send_scheduled_pushes.delay()
    _wait_for(lambda: len(memory.outbox) >= 1, "the scheduled push to be delivered")
    send_scheduled_pushes.delay()
    time.sleep(1)

    # then Ann, and only Ann, got it once
    assert [(clinic_id, push.external_ids) for clinic_id, push in memory.outbox] == [(clinic_a.pk, ("ann-1",))]
    with clinic_scope(clinic_a.pk):
        assert ScheduledPush.objects.get(pk=scheduled.pk).status == "sent"
