"""Delivery tasks against the fake OneSignal: retries, backoff and giving up (OFF-5, OFF-6)."""

import pytest

from notifications.choices import PushStatus
from notifications.dispatch import queue_push
from notifications.tasks import MAX_RETRIES
from tests.factories import PatientFactory
from tests.notifications.delivery import deliver
from tests.notifications.fake_onesignal import Reply

pytestmark = pytest.mark.django_db


def test_a_429_is_retried_after_retry_after_with_the_same_idempotency_key(onesignal, queued_push, retry_countdowns):
    # given
    onesignal.reply(Reply(status=429, headers={"Retry-After": "37"}, body={"errors": ["Rate limit exceeded"]}),
                    Reply())
    # when
    push = deliver(queued_push)
    # then
    assert retry_countdowns == [37]
    first, second = onesignal.creates
    assert first.json == second.json
    assert (push.status, push.sent_count, push.attempts) == (PushStatus.SENT, 2, 2)
    assert len(onesignal.sends) == 1


def test_a_400_fails_with_onesignals_message_and_is_not_retried(onesignal, queued_push, retry_countdowns):
    # given
    onesignal.reply(Reply(status=400, body={"errors": ["You must include which players, segments, or tags"]}))
    # when
    push = deliver(queued_push)
    # then
    assert push.status == PushStatus.FAILED
    assert "You must include which players, segments, or tags" in push.failure_reason
    assert retry_countdowns == []
    assert len(onesignal.creates) == 1


def test_repeated_500s_are_retried_with_backoff_then_the_push_fails_with_a_reason(onesignal, queued_push,
                                                                                  retry_countdowns):
    # given
    onesignal.reply(*[Reply(status=500, body={"errors": ["Internal server error"]})] * (MAX_RETRIES + 1))
    # when
    push = deliver(queued_push)
    # then
    assert retry_countdowns == [30, 60, 120, 240, 480]
    assert len(onesignal.creates) == MAX_RETRIES + 1
    assert len({r.json["idempotency_key"] for r in onesignal.creates}) == 1
    assert push.status == PushStatus.FAILED
    assert push.failure_reason == (f"Gave up after {MAX_RETRIES + 1} attempts: "
                                   "OneSignal had a problem (500): Internal server error")


def test_a_timeout_is_transient_and_the_retry_sends_it_once(onesignal, queued_push, retry_countdowns, settings):
    # given OneSignal answers the first request only after the client stopped waiting
    settings.ONESIGNAL_TIMEOUT = (1.0, 0.2)
    onesignal.reply(Reply(delay=0.6), Reply())
    # when
    push = deliver(queued_push)
    # then
    assert retry_countdowns == [30]
    first, second = onesignal.creates
    assert first.json["idempotency_key"] == second.json["idempotency_key"]
    assert second.replayed  # OneSignal had created it; the retry got the same notification back
    assert (push.status, push.sent_count, push.attempts) == (PushStatus.SENT, 2, 2)
    assert len(onesignal.sends) == 1


def test_an_unreachable_onesignal_is_retried_then_failed(onesignal, queued_push, retry_countdowns):
    # given nothing listens on the configured address
    onesignal.stop()
    # when
    push = deliver(queued_push)
    # then
    assert len(retry_countdowns) == MAX_RETRIES
    assert push.status == PushStatus.FAILED
    assert push.failure_reason.endswith("OneSignal could not be reached (connection failed).")


def test_batches_that_went_before_a_lasting_5xx_leave_the_push_partly_sent(onesignal, clinic_a_on_onesignal,
                                                                           in_clinic, retry_countdowns, settings):
    # given
    settings.ONESIGNAL_CHUNK_SIZE = 2
    with in_clinic(clinic_a_on_onesignal):
        PatientFactory.create_batch(3, push_enabled=True)
        push = queue_push(clinic=clinic_a_on_onesignal, title="Easter", message="Eggs")
    onesignal.reply(Reply(), *[Reply(status=503, body={"errors": ["Service unavailable"]})] * (MAX_RETRIES + 1))
    # when
    push = deliver(push)
    # then
    assert len(retry_countdowns) == MAX_RETRIES
    assert (push.status, push.targeted_count, push.sent_count, push.not_reached, len(push.provider_ids)) == (
        PushStatus.PARTLY_SENT, 3, 2, 1, 1)
    assert push.failure_reason.startswith(
        f"1 patient not reached. Gave up after {MAX_RETRIES + 1} attempts: OneSignal had a problem (503)")
    assert len(onesignal.sends) == 1  # the first batch went once
    assert len(onesignal.creates) == 2 + MAX_RETRIES  # every retry sent the failed batch alone


def test_without_credentials_the_task_fails_at_once_without_a_request(onesignal, clinic_a, in_clinic,
                                                                      retry_countdowns):
    # given
    with in_clinic(clinic_a):
        PatientFactory(push_enabled=True)
        push = queue_push(clinic=clinic_a, title="T", message="M")
    # when
    push = deliver(push)
    # then
    assert (push.status, push.failure_reason) == (PushStatus.FAILED, "OneSignal is not configured for this clinic.")
    assert retry_countdowns == []
    assert onesignal.requests == []


def test_a_settled_push_is_not_sent_again_by_a_redelivered_task(onesignal, queued_push):
    # given
    deliver(queued_push)
    # when
    push = deliver(queued_push)
    # then
    assert push.status == PushStatus.SENT and push.attempts == 1
    assert len(onesignal.creates) == 1
