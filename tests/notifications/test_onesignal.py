"""The OneSignal backend through the official SDK and real HTTP against a local fake (OFF-5, OFF-6)."""

import uuid
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from notifications.backends.base import PushError, PushMessage
from notifications.backends.onesignal import OneSignalBackend
from notifications.choices import PushStatus
from notifications.models import PushNotification
from notifications.dispatch import queue_push
from notifications.tasks import fetch_delivered_count_task
from offers.choices import Occasion
from offers.models import AutomatedOffer
from offers.services import activate_automated_offer
from offers.tasks import check_occasions_for_clinic
from tests.factories import PatientFactory
from tests.notifications.conftest import API_KEY_A, APP_ID_A
from tests.notifications.fake_onesignal import Reply

pytestmark = pytest.mark.django_db

# Fixed for good in the backend: a new namespace would give pending retries new keys and send twice.
ONESIGNAL_KEY_NAMESPACE = uuid.UUID("cdb5ef5d-5424-4eab-9db5-f3bd9802e87e")


@pytest.fixture
def push_now(in_clinic, django_capture_on_commit_callbacks):
    """Queue a push in the clinic's scope and run its delivery (Celery is eager in tests)."""

    def _push(clinic, **kwargs):
        kwargs = {"title": "Christmas", "message": "20% off all week", **kwargs}
        with in_clinic(clinic):
            with django_capture_on_commit_callbacks(execute=True):
                push = queue_push(clinic=clinic, **kwargs)
            push.refresh_from_db()
        return push

    return _push


def sent_aliases(request):
    return request.json["include_aliases"]["external_id"]


def test_a_push_to_all_reaches_exactly_the_clinics_push_enabled_patients_with_its_own_key(
        onesignal, clinic_a_on_onesignal, clinic_b_on_onesignal, in_clinic, push_now):
    # given
    with in_clinic(clinic_a_on_onesignal):
        PatientFactory(external_id="a-1", push_enabled=True)
        PatientFactory(external_id="a-2", push_enabled=True)
        PatientFactory(external_id="a-off", push_enabled=False)
    with in_clinic(clinic_b_on_onesignal):
        PatientFactory(external_id="b-1", push_enabled=True)
    # when
    push = push_now(clinic_a_on_onesignal, title="Christmas", message="20% off all week")
    # then
    [request] = onesignal.creates
    assert request.path == "/notifications"
    assert request.headers["Authorization"] == f"Key {API_KEY_A}"
    assert request.json["app_id"] == APP_ID_A
    assert request.json["headings"] == {"en": "Christmas"}
    assert request.json["contents"] == {"en": "20% off all week"}
    assert request.json["target_channel"] == "push"
    assert sorted(sent_aliases(request)) == ["a-1", "a-2"]
    assert "included_segments" not in request.json
    assert uuid.UUID(request.json["idempotency_key"]).version == 5
    assert (push.status, push.targeted_count, push.sent_count) == (PushStatus.SENT, 2, 2)
    assert push.provider_ids and push.failure_reason == ""


def test_a_first_name_placeholder_goes_to_onesignal_as_liquid_on_its_first_name_tag(
        onesignal, clinic_a_on_onesignal, in_clinic, push_now):
    with in_clinic(clinic_a_on_onesignal):
        PatientFactory(external_id="a-1", push_enabled=True)

    push = push_now(clinic_a_on_onesignal, title="Happy birthday {first_name}!", message="15% off, {first_name}.")

    [request] = onesignal.creates
    assert request.json["headings"] == {"en": 'Happy birthday {{ first_name | default: "there" }}!'}
    assert request.json["contents"] == {"en": '15% off, {{ first_name | default: "there" }}.'}
    assert push.message == "15% off, {first_name}."  # the history shows what staff wrote


def test_chosen_patients_are_targeted_only_when_push_enabled(onesignal, clinic_a_on_onesignal, in_clinic, push_now):
    # given
    with in_clinic(clinic_a_on_onesignal):
        PatientFactory(external_id="p-1", push_enabled=True)
        PatientFactory(external_id="p-2", push_enabled=False)
        PatientFactory(external_id="p-3", push_enabled=True)
    # when
    push = push_now(clinic_a_on_onesignal, title="Happy birthday", message="A gift", external_ids=["p-1", "p-2"])
    # then
    [request] = onesignal.creates
    assert sent_aliases(request) == ["p-1"]
    assert (push.status, push.sent_count) == (PushStatus.SENT, 1)


def test_patients_are_sent_in_batches_of_the_chunk_size_each_with_its_own_key(
        onesignal, clinic_a_on_onesignal, in_clinic, push_now, settings):
    # given
    settings.ONESIGNAL_CHUNK_SIZE = 2
    with in_clinic(clinic_a_on_onesignal):
        ids = [PatientFactory(push_enabled=True).external_id for _ in range(5)]
    # when
    push = push_now(clinic_a_on_onesignal)
    # then
    requests = onesignal.creates
    assert [len(sent_aliases(r)) for r in requests] == [2, 2, 1]
    assert sorted(alias for r in requests for alias in sent_aliases(r)) == sorted(ids)
    keys = [r.json["idempotency_key"] for r in requests]
    assert len(set(keys)) == 3 and all(uuid.UUID(k).version == 5 for k in keys)
    assert (push.status, push.sent_count, len(push.provider_ids)) == (PushStatus.SENT, 5, 3)


def test_sending_the_same_push_again_repeats_its_keys_so_onesignal_drops_the_repeat(onesignal, clinic_a_on_onesignal,
                                                                                    settings):
    # given
    settings.ONESIGNAL_CHUNK_SIZE = 2
    push = PushMessage(title="T", message="M", external_ids=("x-1", "x-2", "x-3"), idempotency_seed="1:push:7")
    first = OneSignalBackend().send(clinic=clinic_a_on_onesignal, push=push)
    # when
    second = OneSignalBackend().send(clinic=clinic_a_on_onesignal, push=push)
    # then
    keys = [r.json["idempotency_key"] for r in onesignal.creates]
    assert keys[:2] == keys[2:] and keys[0] != keys[1]
    assert len(onesignal.sends) == 2  # the second round was replayed, not sent
    assert second.provider_ids == first.provider_ids


def test_a_200_with_an_empty_id_is_no_recipients_with_onesignals_reason(onesignal, clinic_a_on_onesignal, in_clinic,
                                                                        push_now):
    # given
    with in_clinic(clinic_a_on_onesignal):
        PatientFactory(push_enabled=True)
    onesignal.reply(Reply(body={"id": "", "errors": ["All included players are not subscribed"]}))
    # when
    push = push_now(clinic_a_on_onesignal)
    # then
    assert push.status == PushStatus.NO_RECIPIENTS
    assert push.failure_reason == "All included players are not subscribed"
    assert (push.sent_count, push.provider_ids) == (0, [])


def test_a_200_naming_only_unknown_aliases_is_no_recipients_with_those_aliases(onesignal, clinic_a_on_onesignal,
                                                                               in_clinic, push_now):
    # given
    with in_clinic(clinic_a_on_onesignal):
        PatientFactory(external_id="gone-1", push_enabled=True)
    onesignal.reply(Reply(body={"id": "", "errors": {"invalid_aliases": {"external_id": ["gone-1"]}}}))
    # when
    push = push_now(clinic_a_on_onesignal)
    # then
    assert push.status == PushStatus.NO_RECIPIENTS
    assert "invalid_aliases" in push.failure_reason and "gone-1" in push.failure_reason


def test_unknown_aliases_in_a_sent_batch_are_not_counted_as_reached(onesignal, clinic_a_on_onesignal, in_clinic,
                                                                    push_now):
    # given
    with in_clinic(clinic_a_on_onesignal):
        PatientFactory(external_id="here", push_enabled=True)
        PatientFactory(external_id="gone", push_enabled=True)
    onesignal.reply(Reply(body={"id": "n-1", "errors": {"invalid_aliases": {"external_id": ["gone"]}}}))
    # when
    push = push_now(clinic_a_on_onesignal)
    # then
    assert (push.status, push.sent_count, push.provider_ids) == (PushStatus.SENT, 1, ["n-1"])
    assert "gone" in push.failure_reason


def test_when_some_batches_reach_nobody_the_push_is_sent_to_the_batches_that_went(
        onesignal, clinic_a_on_onesignal, in_clinic, push_now, settings):
    # given
    settings.ONESIGNAL_CHUNK_SIZE = 2
    with in_clinic(clinic_a_on_onesignal):
        PatientFactory.create_batch(3, push_enabled=True)
    onesignal.reply(Reply(), Reply(body={"id": "", "errors": ["All included players are not subscribed"]}))
    # when
    push = push_now(clinic_a_on_onesignal)
    # then
    assert (push.status, push.targeted_count, push.sent_count) == (PushStatus.SENT, 3, 2)
    assert len(push.provider_ids) == 1
    assert push.failure_reason == "All included players are not subscribed"


def test_a_400_fails_with_onesignals_message(onesignal, clinic_a_on_onesignal, in_clinic, push_now):
    # given
    with in_clinic(clinic_a_on_onesignal):
        PatientFactory(push_enabled=True)
    onesignal.reply(Reply(status=400, body={"errors": ["Message Notifications must have English language content"]}))
    # when
    push = push_now(clinic_a_on_onesignal)
    # then
    assert push.status == PushStatus.FAILED
    assert push.failure_reason == ("OneSignal rejected the notification: "
                                   "Message Notifications must have English language content")
    assert len(onesignal.creates) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_credentials_fail_with_a_readable_reason_and_stop_the_other_batches(
        status, onesignal, clinic_a_on_onesignal, in_clinic, push_now, settings):
    # given
    settings.ONESIGNAL_CHUNK_SIZE = 1
    with in_clinic(clinic_a_on_onesignal):
        PatientFactory.create_batch(3, push_enabled=True)
    onesignal.reply(Reply(status=status, body={"errors": ["Access denied. Please include a valid API key."]}))
    # when
    push = push_now(clinic_a_on_onesignal)
    # then
    assert push.status == PushStatus.FAILED
    assert push.failure_reason.startswith("OneSignal refused the clinic's app id or REST API key: Access denied.")
    assert len(onesignal.creates) == 1


def test_without_credentials_the_push_fails_at_once_and_nothing_is_requested(onesignal, clinic_a, in_clinic, push_now):
    # given
    with in_clinic(clinic_a):
        PatientFactory(push_enabled=True)
    # when
    push = push_now(clinic_a)
    # then
    assert (push.status, push.failure_reason, push.attempts) == (
        PushStatus.FAILED, "OneSignal is not configured for this clinic.", 1)
    assert onesignal.requests == []


def test_the_delivery_figure_is_read_from_the_view_endpoint_with_the_clinics_key(onesignal, clinic_a_on_onesignal):
    # given
    onesignal.delivered["n-42"] = {"successful": 17, "failed": 2, "errored": 0, "converted": 1, "remaining": 0}
    # when
    figure = OneSignalBackend().delivered_count(clinic=clinic_a_on_onesignal, provider_id="n-42")
    # then
    [request] = onesignal.requests
    assert (request.method, request.path, request.query) == ("GET", "/notifications/n-42", {"app_id": [APP_ID_A]})
    assert request.headers["Authorization"] == f"Key {API_KEY_A}"
    assert figure == 17


def test_no_delivery_figure_when_onesignal_does_not_know_the_notification(onesignal, clinic_a_on_onesignal):
    # given an id the fake has no figure for (it answers 404)
    # when
    figure = OneSignalBackend().delivered_count(clinic=clinic_a_on_onesignal, provider_id="unknown")
    # then
    assert figure is None


def test_a_429_with_an_http_date_retry_after_is_transient_with_the_seconds_until_then(onesignal,
                                                                                     clinic_a_on_onesignal):
    # given
    later = datetime.now(timezone.utc) + timedelta(seconds=120)
    onesignal.reply(Reply(status=429, headers={"Retry-After": format_datetime(later, usegmt=True)},
                          body={"errors": ["Rate limit exceeded"]}))
    push = PushMessage(title="T", message="M", external_ids=("x-1",), idempotency_seed="1:push:8")
    # when
    with pytest.raises(PushError) as raised:
        OneSignalBackend().send(clinic=clinic_a_on_onesignal, push=push)
    # then
    assert raised.value.transient
    assert 100 <= raised.value.retry_after <= 121


def test_an_occasion_pushs_keys_come_from_clinic_offer_occurrence_and_batch_so_a_repeat_row_is_dropped(
        onesignal, clinic_a_on_onesignal, clinic_b_on_onesignal, in_clinic, settings, monkeypatch,
        django_capture_on_commit_callbacks):
    # given two clinics on OneSignal with an active Christmas offer and three patients, sent in batches of two
    settings.ONESIGNAL_CHUNK_SIZE = 2
    monkeypatch.setattr(fetch_delivered_count_task, "apply_async", lambda *args, **kwargs: None)  # not under test
    christmas = {}
    for clinic in (clinic_a_on_onesignal, clinic_b_on_onesignal):
        with in_clinic(clinic):
            PatientFactory.create_batch(3, push_enabled=True)
            offer = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
            christmas[clinic.pk] = activate_automated_offer(automated_offer=offer)

    def fire(clinic, when):
        with django_capture_on_commit_callbacks(execute=True):
            with time_machine.travel(when, tick=False):
                assert check_occasions_for_clinic.apply(args=[clinic.pk]).get() == 1
        return [r.json["idempotency_key"] for r in onesignal.creates[-2:]]

    def documented_keys(clinic, occurrence):
        # UUIDv5 in the backend's fixed namespace of "<clinic id>:<offer>:<occurrence>:<batch>"
        offer_pk = christmas[clinic.pk].pk
        return [str(uuid.uuid5(ONESIGNAL_KEY_NAMESPACE, f"{clinic.pk}:automated_offer_{offer_pk}:{occurrence}:{batch}"))
                for batch in (0, 1)]

    # when clinic A's Christmas fires through the beat task
    keys_2026 = fire(clinic_a_on_onesignal, datetime(2026, 12, 25, 9, 0, tzinfo=ZoneInfo("Europe/London")))
    # then each batch's key is the documented derivation, and both batches were sent
    assert keys_2026 == documented_keys(clinic_a_on_onesignal, "2026-12-25")
    assert len(onesignal.sends) == 2

    # when a second, separately created push row for the same clinic, offer and occurrence is delivered
    with in_clinic(clinic_a_on_onesignal):
        [fired] = PushNotification.objects.all()
        with django_capture_on_commit_callbacks(execute=True):
            repeat = queue_push(clinic=clinic_a_on_onesignal, title="Again", message="Again",
                                source_key=fired.source_key, occurrence=fired.occurrence)
        repeat.refresh_from_db()
    # then it carries the same keys, so OneSignal replays the first answer and sends nothing more
    assert repeat.pk != fired.pk
    assert [r.json["idempotency_key"] for r in onesignal.creates[2:]] == keys_2026
    assert all(r.replayed for r in onesignal.creates[2:])
    assert len(onesignal.sends) == 2 and repeat.provider_ids == fired.provider_ids

    # when the next Christmas fires in clinic A, and this Christmas in clinic B
    keys_2027 = fire(clinic_a_on_onesignal, datetime(2027, 12, 25, 9, 0, tzinfo=ZoneInfo("Europe/London")))
    keys_b = fire(clinic_b_on_onesignal, datetime(2026, 12, 25, 9, 0, tzinfo=ZoneInfo("America/New_York")))
    # then each has keys of its own, and OneSignal sends both
    assert keys_2027 == documented_keys(clinic_a_on_onesignal, "2027-12-25")
    assert keys_b == documented_keys(clinic_b_on_onesignal, "2026-12-25")
    assert len({*keys_2026, *keys_2027, *keys_b}) == 6
    assert len(onesignal.sends) == 6
