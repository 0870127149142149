"""OneSignal failing during an occasion's push: only the failed batches are sent again, with backoff; no
patient gets the push twice; the history's Sent count is the recipients OneSignal accepted, whatever the
number of attempts; and a push that reached only part of its audience says so ("Partly sent"), with why
and how many were not reached.

Scaled down from the measured case (20,000 patients in 10 batches of 2,000, 10% of requests answered
503): 20 patients in 10 batches of 2, with the failures scripted so each run is the same.
"""

from datetime import date

import pytest

from notifications.choices import PushStatus
from notifications.models import PushNotification
from notifications.tasks import MAX_RETRIES
from offers.choices import Occasion
from offers.models import AutomatedOffer
from offers.services import configure_automated_offer, fire_automated_offer
from tests.factories import PatientFactory
from tests.notifications.delivery import reload
from tests.notifications.fake_onesignal import Reply

pytestmark = pytest.mark.django_db

PATIENTS, BATCH = 20, 2
OK = Reply()
DOWN = Reply(status=503, body={"errors": ["Service unavailable"]})


@pytest.fixture
def christmas_for_twenty(clinic_a_on_onesignal, in_clinic, settings):
    """Christmas, active and published, for 20 push-enabled patients sent in batches of 2."""
    settings.ONESIGNAL_CHUNK_SIZE = BATCH
    clinic = clinic_a_on_onesignal
    with in_clinic(clinic):
        PatientFactory.create_batch(PATIENTS, push_enabled=True)
        christmas = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
        configure_automated_offer(automated_offer=christmas, data={"active": True, "published": True})
    return clinic, christmas


def fire(clinic, christmas, in_clinic, django_capture_on_commit_callbacks) -> PushNotification:
    """The occasion fires; its push is delivered by the task (eager Celery runs each retry at once)."""
    with in_clinic(clinic):
        with django_capture_on_commit_callbacks(execute=True):
            fire_automated_offer(clinic=clinic, automated_offer=christmas, occurrence=date(2026, 12, 25))
        push = PushNotification.objects.get(source_key=christmas.promotion_key)
    return reload(push)


def batch_of(request) -> int:
    return request.json["include_aliases"]["external_id"]


def test_failed_batches_alone_are_sent_again_and_every_patient_gets_it_once(
        onesignal, christmas_for_twenty, in_clinic, retry_countdowns, django_capture_on_commit_callbacks):
    # given OneSignal answers 503 to two of the ten batches once, and to one of them a second time
    onesignal.reply(OK, OK, OK, DOWN, OK, OK, OK, DOWN, OK, OK,  # attempt 1: batches 4 and 8 fail
                    OK, DOWN,  # attempt 2: batch 4 goes, batch 8 fails again
                    OK)  # attempt 3: batch 8 goes
    clinic, christmas = christmas_for_twenty

    # when the occasion fires
    push = fire(clinic, christmas, in_clinic, django_capture_on_commit_callbacks)

    # then it was retried with backoff, each time with only the batches not yet accepted
    assert retry_countdowns == [30, 60]
    assert len(onesignal.creates) == 13
    # every patient was reached exactly once
    reached = [alias for request in onesignal.sends for alias in batch_of(request)]
    assert len(reached) == PATIENTS and len(set(reached)) == PATIENTS
    # and the history says sent, to all twenty
    assert (push.status, push.targeted_count, push.sent_count, push.not_reached) == (PushStatus.SENT, 20, 20, 0)
    assert len(push.provider_ids) == PATIENTS // BATCH


def test_a_batch_that_keeps_failing_leaves_the_push_partly_sent_with_the_count_accepted(
        onesignal, christmas_for_twenty, in_clinic, retry_countdowns, django_capture_on_commit_callbacks):
    # given OneSignal never accepts two of the ten batches
    onesignal.reply(OK, OK, DOWN, OK, OK, OK, OK, DOWN, OK, OK, *[DOWN] * (2 * MAX_RETRIES))
    clinic, christmas = christmas_for_twenty

    # when the occasion fires and every retry is spent
    push = fire(clinic, christmas, in_clinic, django_capture_on_commit_callbacks)

    # then the Sent count is the sixteen patients OneSignal accepted, and the four others are named
    assert len(retry_countdowns) == MAX_RETRIES
    assert (push.status, push.sent_count, push.not_reached) == (PushStatus.PARTLY_SENT, 16, 4)
    assert push.failure_reason.startswith("4 patients not reached. Gave up after 6 attempts: "
                                          "OneSignal had a problem (503)")
    # nobody got it twice, and each retry sent only the two failing batches
    reached = [alias for request in onesignal.sends for alias in batch_of(request)]
    assert len(reached) == len(set(reached)) == 16
    assert len(onesignal.creates) == 10 + 2 * MAX_RETRIES


def test_a_batch_refused_for_good_leaves_the_push_partly_sent_without_retrying(
        onesignal, christmas_for_twenty, in_clinic, retry_countdowns, django_capture_on_commit_callbacks):
    # given OneSignal rejects one batch outright (a 400 repeats however often it is sent)
    onesignal.reply(OK, OK, OK, OK, OK, Reply(status=400, body={"errors": ["Invalid external id format"]}),
                    OK, OK, OK, OK)
    clinic, christmas = christmas_for_twenty

    push = fire(clinic, christmas, in_clinic, django_capture_on_commit_callbacks)

    assert retry_countdowns == []
    assert (push.status, push.sent_count, push.not_reached) == (PushStatus.PARTLY_SENT, 18, 2)
    assert "Invalid external id format" in push.failure_reason


def test_the_history_shows_a_partly_sent_push_with_its_reason(
        onesignal, christmas_for_twenty, in_clinic, retry_countdowns, django_capture_on_commit_callbacks,
        owner_a, client_for):
    onesignal.reply(OK, OK, OK, OK, OK, Reply(status=400, body={"errors": ["Invalid external id format"]}),
                    OK, OK, OK, OK)
    clinic, christmas = christmas_for_twenty
    fire(clinic, christmas, in_clinic, django_capture_on_commit_callbacks)

    page = client_for(owner_a).get(f"/c/{clinic.slug}/offers/").content.decode()

    assert 'badge-amber" data-testid="push-status">Partly sent</span>' in page
    assert "2 patients not reached." in page


def test_a_retry_sends_to_the_audience_of_the_first_attempt(
        onesignal, christmas_for_twenty, in_clinic, retry_countdowns, django_capture_on_commit_callbacks):
    # given the third batch fails on the first attempt, and before the retry the first patient turns pushes
    # off (which, resolved again, would move every batch boundary by one)
    from clinic_crm.patients.models import Patient

    clinic, christmas = christmas_for_twenty
    first_attempt_done = {}

    def turn_off_first_patient(*args, **kwargs):
        if not first_attempt_done:
            first_attempt_done["yes"] = True
            with in_clinic(clinic):
                Patient.objects.filter(pk=Patient.objects.order_by("id").first().pk).update(push_enabled=False)

    onesignal.reply(OK, OK, DOWN, OK, OK, OK, OK, OK, OK, OK, OK)
    from notifications.tasks import deliver_push_task

    task = deliver_push_task._get_current_object()
    original = task.retry  # retry_countdowns' spy: eager Celery runs the retry at once

    def retry(*args, **kwargs):
        turn_off_first_patient()
        return original(*args, **kwargs)

    task.retry = retry
    try:
        push = fire(clinic, christmas, in_clinic, django_capture_on_commit_callbacks)
    finally:
        task.retry = original

    # then the retry sent the third batch as it was, and all twenty were reached once
    retried = onesignal.creates[-1]
    assert retried.json["include_aliases"]["external_id"] == onesignal.creates[2].json["include_aliases"]["external_id"]
    reached = [alias for request in onesignal.sends for alias in batch_of(request)]
    assert len(reached) == len(set(reached)) == PATIENTS
    assert (push.status, push.sent_count) == (PushStatus.SENT, PATIENTS)
