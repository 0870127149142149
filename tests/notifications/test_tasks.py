"""Delivery tasks against the fake OneSignal: retries, giving up, and the later delivery figure (OFF-5, OFF-6)."""

import pytest

from clinic_crm.tenancy.context import clinic_scope
from notifications.choices import PushStatus
from notifications.models import PushNotification
from notifications.services import queue_push
from notifications.tasks import DELIVERY_FIGURE_DELAY, MAX_RETRIES, deliver_push_task, fetch_delivered_count_task
from tests.factories import PatientFactory
from tests.notifications.fake_onesignal import Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def retry_countdowns():
    """The countdown of every retry the delivery task asks for (eager Celery runs the retry at once)."""
    task = deliver_push_task._get_current_object()
    original = task.retry
    countdowns = []

    def spy(*args, **kwargs):
        countdowns.append(kwargs.get("countdown"))
        return original(*args, **kwargs)

    task.retry = spy
    yield countdowns
    del task.retry


@pytest.fixture
def figure_retries():
    """The countdown of every retry the delivery-figure task asks for. Each retry first frees the
    app's view second (clears the cache), as waiting the countdown would; eager Celery runs it at once."""
    from django.core.cache import cache

    task = fetch_delivered_count_task._get_current_object()
    original = task.retry
    countdowns = []

    def spy(*args, **kwargs):
        countdowns.append(kwargs.get("countdown"))
        cache.clear()
        return original(*args, **kwargs)

    task.retry = spy
    yield countdowns
    del task.retry


@pytest.fixture
def follow_ups(monkeypatch):
    """Figure reads scheduled after a send, held back so a test can run them when it chooses."""
    scheduled = []
    monkeypatch.setattr(fetch_delivered_count_task, "apply_async",
                        lambda args, countdown=None, **options: scheduled.append((args, countdown)))
    return scheduled


@pytest.fixture
def queued_push(clinic_a_on_onesignal, in_clinic):
    """A queued push to two push-enabled patients of clinic A, not yet delivered."""
    with in_clinic(clinic_a_on_onesignal):
        PatientFactory.create_batch(2, push_enabled=True)
        return queue_push(clinic=clinic_a_on_onesignal, title="New Year", message="A fresh start")


def deliver(push):
    deliver_push_task.apply((push.clinic_id, push.pk))
    return reload(push)


def reload(push):
    with clinic_scope(push.clinic_id):
        return PushNotification.objects.get(pk=push.pk)


def test_sent_shows_the_targeted_count_then_onesignals_delivery_figure(onesignal, queued_push, follow_ups):
    # given
    push = deliver(queued_push)
    assert (push.status, push.sent_count, push.delivery_confirmed) == (PushStatus.SENT, 2, False)
    [(args, countdown)] = follow_ups
    assert countdown == DELIVERY_FIGURE_DELAY
    onesignal.delivered[push.provider_ids[0]] = {"successful": 1, "failed": 1, "remaining": 0}
    # when
    fetch_delivered_count_task.apply(args)
    # then
    push = reload(push)
    assert (push.sent_count, push.delivery_confirmed) == (1, True)
    [view] = [r for r in onesignal.requests if r.method == "GET"]
    assert view.path == f"/notifications/{push.provider_ids[0]}"
    assert view.query == {"app_id": [onesignal.creates[0].json["app_id"]]}


def test_a_missing_delivery_figure_leaves_the_targeted_count(onesignal, queued_push, follow_ups):
    # given
    push = deliver(queued_push)
    [(args, _)] = follow_ups
    # when the fake has no figure for the notification (404)
    fetch_delivered_count_task.apply(args)
    # then
    push = reload(push)
    assert (push.status, push.sent_count, push.delivery_confirmed) == (PushStatus.SENT, 2, False)


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


def test_batches_that_went_before_a_lasting_5xx_leave_the_push_sent_to_them(onesignal, clinic_a_on_onesignal,
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
    assert (push.status, push.targeted_count, push.sent_count, len(push.provider_ids)) == (PushStatus.SENT, 3, 2, 1)
    assert push.failure_reason.startswith(f"Gave up after {MAX_RETRIES + 1} attempts: OneSignal had a problem (503)")
    assert len(onesignal.sends) == 1  # the first batch went once; every retry was replayed


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


def test_the_delivery_figure_waits_for_a_free_second_of_the_apps_view_limit(onesignal, queued_push, follow_ups,
                                                                           figure_retries, monkeypatch):
    from notifications.backends import onesignal as backend

    # given a sent push and another worker holding this second's view request for the same app
    monkeypatch.setattr(backend, "VIEW_SLOT_WAIT", 0)
    push = deliver(queued_push)
    [(args, _)] = follow_ups
    onesignal.delivered[push.provider_ids[0]] = {"successful": 1, "failed": 1, "remaining": 0}
    app_id = onesignal.creates[0].json["app_id"]
    assert backend._take_view_slot(app_id, wait=0)
    # when the figure is read (the retry finds the other worker's second passed)
    fetch_delivered_count_task.apply(args)
    # then the first try asked OneSignal nothing and was retried a second or so later, and the retry read it
    assert len(figure_retries) == 1 and 1 <= figure_retries[0] <= 3
    assert len(onesignal.views) == 1
    assert (reload(push).sent_count, reload(push).delivery_confirmed) == (1, True)


def test_a_429_on_the_delivery_figure_is_retried_after_retry_after(onesignal, queued_push, follow_ups,
                                                                  figure_retries):
    # given a sent push whose first figure request OneSignal answers 429 with Retry-After
    push = deliver(queued_push)
    [(args, _)] = follow_ups
    onesignal.delivered[push.provider_ids[0]] = {"successful": 2, "failed": 0, "remaining": 0}
    onesignal.reply_views(Reply(status=429, headers={"Retry-After": "7"}, body={"errors": ["Rate limit exceeded"]}))
    # when the figure is read
    fetch_delivered_count_task.apply(args)
    # then it was retried after at least Retry-After and then recorded
    assert len(figure_retries) == 1 and 7 <= figure_retries[0] <= 9
    assert len(onesignal.views) == 2
    assert (reload(push).sent_count, reload(push).delivery_confirmed) == (2, True)


def test_a_figure_retry_reads_only_the_notifications_it_has_not_read(onesignal, queued_push, follow_ups,
                                                                     settings, figure_retries):
    # given a push sent in two batches (two notifications), the second figure request answered 429
    settings.ONESIGNAL_CHUNK_SIZE = 1
    push = deliver(queued_push)
    [(args, _)] = follow_ups
    first, second = push.provider_ids
    onesignal.delivered[first] = {"successful": 1, "failed": 0, "remaining": 0}
    onesignal.delivered[second] = {"successful": 0, "failed": 1, "remaining": 0}
    onesignal.reply_views(Reply(), Reply(status=429, headers={"Retry-After": "2"}, body={"errors": ["Rate limit"]}))
    # when the figures are read
    fetch_delivered_count_task.apply(args)
    # then the retry asked only for the second notification, and the push has both figures
    assert len(figure_retries) == 1
    assert [r.path.rsplit("/", 1)[1] for r in onesignal.views] == [first, second, second]
    assert (reload(push).sent_count, reload(push).delivery_confirmed) == (1, True)


def test_a_figure_that_stays_rate_limited_leaves_the_targeted_count(onesignal, queued_push, follow_ups,
                                                                    figure_retries, monkeypatch):
    # given a sent push and OneSignal answering every figure request 429
    push = deliver(queued_push)
    [(args, _)] = follow_ups
    onesignal.reply_views(*[Reply(status=429, body={"errors": ["Rate limit"]})] * 3)
    task = fetch_delivered_count_task._get_current_object()
    monkeypatch.setattr(task, "max_retries", 2)
    # when the figure is read
    result = fetch_delivered_count_task.apply(args).get()
    # then it tried three times, gave up, and the push keeps its targeted count
    assert len(figure_retries) == 2 and len(onesignal.views) == 3 and result is None
    assert (reload(push).sent_count, reload(push).delivery_confirmed) == (2, False)
