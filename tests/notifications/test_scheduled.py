"""Scheduled pushes (COU-7): sent once when their time comes, by the periodic task, through the real
OneSignal SDK to the fake OneSignal, only to the patients they name; never if cancelled."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from clinic_crm.common.errors import ApplicationError, Conflict
from clinic_crm.tenancy.context import clinic_scope
from notifications.choices import PushStatus, ScheduledPushStatus
from notifications.models import PushNotification, ScheduledPush
from notifications.scheduled import send_scheduled_pushes
from notifications.services import cancel_scheduled_push, schedule_push
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

NINE_AM = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NINE_AM, tick=False) as traveller:
        yield traveller


@pytest.fixture
def run_beat(django_capture_on_commit_callbacks):
    """Run beat's entry as the worker would: the fan-out, each clinic's task, and the deliveries
    queued when their transactions commit (Celery is eager in tests)."""

    def _run():
        with django_capture_on_commit_callbacks(execute=True):
            return send_scheduled_pushes.apply().get()

    return _run


def _targets(onesignal) -> list[list[str]]:
    return [request.json["include_aliases"]["external_id"] for request in onesignal.creates]


def test_a_scheduled_push_goes_once_at_its_time_and_only_to_its_patient(
        onesignal, clinic_a_on_onesignal, clock, run_beat):
    clinic = clinic_a_on_onesignal
    with clinic_scope(clinic.pk):
        PatientFactory(external_id="ann-1", push_enabled=True)
        PatientFactory(external_id="bob-1", push_enabled=True)  # push-enabled too, but not named
        scheduled = schedule_push(clinic=clinic, title="See you soon", message="Your coupon ends on Friday.",
                                  external_ids=["ann-1"], send_at=NINE_AM + timedelta(hours=2), created_by="Sam")

    # a minute before its time, beat finds nothing due
    clock.move_to(NINE_AM + timedelta(hours=1, minutes=59))
    assert run_beat() == 0
    assert onesignal.creates == []

    # at its time it goes, to Ann alone
    clock.move_to(NINE_AM + timedelta(hours=2))
    assert run_beat() == 1
    assert _targets(onesignal) == [["ann-1"]]
    assert onesignal.creates[0].json["headings"]["en"] == "See you soon"
    with clinic_scope(clinic.pk):
        scheduled.refresh_from_db()
        push = PushNotification.objects.get()
    assert (scheduled.status, scheduled.push_id, scheduled.sent_at) == (ScheduledPushStatus.SENT, push.pk, NINE_AM + timedelta(hours=2))
    # and it is in the push history like any other push
    assert (push.status, push.external_ids, push.audience) == (PushStatus.SENT, ["ann-1"], "patients")

    # later runs of beat never send it again
    clock.move_to(NINE_AM + timedelta(hours=3))
    assert run_beat() == 0
    assert len(onesignal.creates) == 1


def test_a_cancelled_push_is_never_sent(onesignal, clinic_a_on_onesignal, clock, run_beat):
    clinic = clinic_a_on_onesignal
    with clinic_scope(clinic.pk):
        PatientFactory(external_id="ann-1", push_enabled=True)
        scheduled = schedule_push(clinic=clinic, title="Hi", message="Soon", external_ids=["ann-1"],
                                  send_at=NINE_AM + timedelta(minutes=30))
        cancel_scheduled_push(scheduled=scheduled, cancelled_by="Sam")
    clock.move_to(NINE_AM + timedelta(days=1))
    assert run_beat() == 0
    assert onesignal.creates == []
    with clinic_scope(clinic.pk):
        scheduled.refresh_from_db()
        assert not PushNotification.objects.exists()
    assert (scheduled.status, scheduled.cancelled_by) == (ScheduledPushStatus.CANCELLED, "Sam")


def test_a_sent_push_cannot_be_cancelled_and_cancelling_twice_is_harmless(onesignal, clinic_a_on_onesignal, clock,
                                                                          run_beat):
    clinic = clinic_a_on_onesignal
    with clinic_scope(clinic.pk):
        PatientFactory(external_id="ann-1", push_enabled=True)
        sent = schedule_push(clinic=clinic, title="A", message="a", external_ids=["ann-1"],
                             send_at=NINE_AM + timedelta(minutes=5))
        kept = schedule_push(clinic=clinic, title="B", message="b", external_ids=["ann-1"],
                             send_at=NINE_AM + timedelta(days=2))
    clock.move_to(NINE_AM + timedelta(minutes=5))
    run_beat()
    with clinic_scope(clinic.pk):
        with pytest.raises(Conflict, match="already sent"):
            cancel_scheduled_push(scheduled=sent)
        cancel_scheduled_push(scheduled=kept)
        assert cancel_scheduled_push(scheduled=kept).status == ScheduledPushStatus.CANCELLED
    assert _targets(onesignal) == [["ann-1"]]


def test_a_time_in_the_past_is_refused(clinic_a, clock):
    with clinic_scope(clinic_a.pk), pytest.raises(ApplicationError, match="future"):
        schedule_push(clinic=clinic_a, title="A", message="a", external_ids=["x"], send_at=timezone.now())


def test_each_clinic_sends_its_own_due_pushes_in_its_own_scope(clinic_a, clinic_b, clock, run_beat):
    from notifications.backends import memory

    memory.outbox.clear()
    for clinic, external_id in ((clinic_a, "a-1"), (clinic_b, "b-1")):
        with clinic_scope(clinic.pk):
            PatientFactory(external_id=external_id, push_enabled=True)
            schedule_push(clinic=clinic, title=f"From {clinic.name}", message="Hi", external_ids=[external_id],
                          send_at=NINE_AM + timedelta(minutes=1))
    clock.move_to(NINE_AM + timedelta(minutes=1))
    with pytest.MonkeyPatch.context() as patch:
        from django.conf import settings

        patch.setattr(settings, "PUSH_BACKEND", "memory")
        assert run_beat() == 2
    assert sorted((clinic_id, push.title, push.external_ids) for clinic_id, push in memory.outbox) == [
        (clinic_a.pk, "From Clinic A", ("a-1",)), (clinic_b.pk, "From Clinic B", ("b-1",))]
    for clinic in (clinic_a, clinic_b):
        with clinic_scope(clinic.pk):
            assert list(ScheduledPush.objects.values_list("status", flat=True)) == ["sent"]
