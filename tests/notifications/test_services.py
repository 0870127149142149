"""Pushes through the in-memory backend: history rows, statuses, trimming to 50 (OFF-5, OFF-6)."""

import pytest

from notifications.backends import memory
from notifications.choices import PushStatus
from notifications.models import PushNotification
from notifications.selectors import count_push_recipients, list_recent_pushes
from notifications.dispatch import queue_push
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def memory_backend(settings):
    settings.PUSH_BACKEND = "memory"
    memory.outbox.clear()
    yield memory.outbox
    memory.outbox.clear()


def test_a_push_to_all_reaches_push_enabled_patients_and_is_logged_as_sent(
        clinic_a, in_clinic, django_capture_on_commit_callbacks, memory_backend):
    with in_clinic(clinic_a):
        enabled = PatientFactory.create_batch(3, push_enabled=True)
        PatientFactory(push_enabled=False)
        with django_capture_on_commit_callbacks(execute=True):
            push = queue_push(clinic=clinic_a, title="Christmas", message="20% off all week")
        push.refresh_from_db()
    assert (push.status, push.targeted_count, push.sent_count) == (PushStatus.SENT, 3, 3)
    assert len(memory_backend) == 1
    clinic_id, message = memory_backend[0]
    # the audience is resolved before the send, oldest patient first, so the send needs no database
    assert clinic_id == clinic_a.pk and message.title == "Christmas"
    assert message.external_ids == tuple(p.external_id for p in enabled)


def test_specific_patients_only(clinic_a, in_clinic, django_capture_on_commit_callbacks, memory_backend):
    with in_clinic(clinic_a):
        PatientFactory(external_id="p-1", push_enabled=True)
        PatientFactory(external_id="p-2", push_enabled=False)
        PatientFactory(external_id="p-3", push_enabled=True)
        assert count_push_recipients(external_ids=["p-1", "p-2"]) == 1
        with django_capture_on_commit_callbacks(execute=True):
            push = queue_push(clinic=clinic_a, title="Happy birthday", message="A gift", external_ids=["p-1", "p-2"])
        push.refresh_from_db()
    assert push.sent_count == 1
    assert memory_backend[0][1].external_ids == ("p-1",)


def test_nobody_to_reach_is_neutral_not_sent_and_sends_nothing(clinic_a, in_clinic, django_capture_on_commit_callbacks,
                                                                memory_backend):
    with in_clinic(clinic_a):
        PatientFactory(push_enabled=False)
        with django_capture_on_commit_callbacks(execute=True):
            push = queue_push(clinic=clinic_a, title="T", message="M")
    assert push.status == PushStatus.NO_RECIPIENTS and push.sent_count == 0
    assert memory_backend == []


def test_after_60_pushes_the_newest_50_remain_and_the_page_lists_10(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        for n in range(60):
            queue_push(clinic=clinic_a, title=f"Push {n}", message="m")
        titles = list(PushNotification.objects.order_by("-created_at", "-id").values_list("title", flat=True))
        recent = [p.title for p in list_recent_pushes()]
    assert len(titles) == 50
    assert titles[0] == "Push 59" and titles[-1] == "Push 10"
    assert recent == [f"Push {n}" for n in range(59, 49, -1)]


def test_trimming_one_clinic_leaves_the_other_alone(clinic_a, clinic_b, in_clinic):
    with in_clinic(clinic_b):
        queue_push(clinic=clinic_b, title="B", message="m")
    with in_clinic(clinic_a):
        for n in range(55):
            queue_push(clinic=clinic_a, title=f"A{n}", message="m")
    with in_clinic(clinic_b):
        assert PushNotification.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_push_provider_is_called_with_no_database_transaction_open(clinic_a, in_clinic, memory_backend,
                                                                       monkeypatch):
    from django.db import connection

    from notifications.backends.memory import MemoryBackend

    # given a provider that notes whether a transaction is open when it is called
    calls = []
    original_send = MemoryBackend.send

    def send(self, *, clinic, push):
        calls.append(("send", connection.in_atomic_block))
        return original_send(self, clinic=clinic, push=push)

    def delivered_count(self, *, clinic, provider_id):
        calls.append(("delivered_count", connection.in_atomic_block))
        return 2

    monkeypatch.setattr(MemoryBackend, "send", send)
    monkeypatch.setattr(MemoryBackend, "delivered_count", delivered_count)
    # when a push is queued: delivered once the clinic's transaction commits, then its delivery
    # figure read by the follow-up task (eager Celery runs both at once)
    with in_clinic(clinic_a):
        PatientFactory.create_batch(2, push_enabled=True)
        push = queue_push(clinic=clinic_a, title="Spring", message="Fresh offers")
    # then neither call held a transaction (a slow provider never holds a connection or a row lock)
    assert calls == [("send", False), ("delivered_count", False)]
    with in_clinic(clinic_a):
        push.refresh_from_db()
    assert (push.status, push.sent_count, push.delivery_confirmed) == (PushStatus.SENT, 2, True)


def test_a_push_settled_by_another_delivery_during_the_send_is_left_as_that_one_settled_it(
        clinic_a, in_clinic, memory_backend, monkeypatch):
    from clinic_crm.tenancy.context import clinic_scope
    from notifications.backends.memory import MemoryBackend
    from notifications.tasks import deliver_push_task, fetch_delivered_count_task

    # given a provider during whose call another delivery of the same push settles it
    original_send = MemoryBackend.send
    follow_ups = []
    monkeypatch.setattr(fetch_delivered_count_task, "apply_async", lambda *a, **kw: follow_ups.append(a))

    def send(self, *, clinic, push):
        with clinic_scope(clinic.pk):
            PushNotification.objects.filter(status=PushStatus.QUEUED).update(
                status=PushStatus.SENT, sent_count=1, provider_ids=["other-delivery"])
        return original_send(self, clinic=clinic, push=push)

    monkeypatch.setattr(MemoryBackend, "send", send)
    with in_clinic(clinic_a):
        PatientFactory.create_batch(2, push_enabled=True)
        push = queue_push(clinic=clinic_a, title="Spring", message="Fresh offers")
    # when this delivery records its outcome
    deliver_push_task.apply((clinic_a.pk, push.pk))
    # then the other delivery's result stands, and this one asks for no delivery figure
    with in_clinic(clinic_a):
        push.refresh_from_db()
    assert (push.status, push.sent_count, push.provider_ids) == (PushStatus.SENT, 1, ["other-delivery"])
    assert follow_ups == []
