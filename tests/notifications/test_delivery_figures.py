"""The delivery figure read after a send: OneSignal's count replaces the targeted one, within its view limit (OFF-6)."""

import pytest

from notifications.choices import PushStatus
from notifications.backends.onesignal import VIEW_RETRY_SECONDS
from notifications.tasks import DELIVERY_FIGURE_DELAY, fetch_delivered_count_task
from tests.notifications.delivery import deliver, reload
from tests.notifications.fake_onesignal import Reply

pytestmark = pytest.mark.django_db


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


def test_a_timed_out_delivery_figure_request_is_retried_and_the_retry_records_the_figure(
        onesignal, queued_push, follow_ups, figure_retries, settings):
    # given a sent push whose first figure request OneSignal answers only after the client stopped waiting
    push = deliver(queued_push)
    [(args, _)] = follow_ups
    onesignal.delivered[push.provider_ids[0]] = {"successful": 1, "failed": 1, "remaining": 0}
    settings.ONESIGNAL_TIMEOUT = (1.0, 0.2)
    onesignal.reply_views(Reply(delay=0.6, body={"id": push.provider_ids[0], "successful": 1}))
    # when the figure is read
    fetch_delivered_count_task.apply(args)
    # then the timeout was treated as transient: retried once, and the retry recorded OneSignal's figure
    assert len(figure_retries) == 1
    assert len(onesignal.views) == 2
    assert (reload(push).sent_count, reload(push).delivery_confirmed) == (1, True)


def test_a_delivery_figure_request_that_keeps_timing_out_leaves_the_targeted_count(
        onesignal, queued_push, follow_ups, figure_retries, settings, monkeypatch):
    # given a sent push and OneSignal answering every figure request too late
    push = deliver(queued_push)
    [(args, _)] = follow_ups
    settings.ONESIGNAL_TIMEOUT = (1.0, 0.2)
    onesignal.reply_views(*[Reply(delay=0.6, body={"id": push.provider_ids[0], "successful": 0})] * 3)
    monkeypatch.setattr(fetch_delivered_count_task._get_current_object(), "max_retries", 2)
    # when the figure is read
    result = fetch_delivered_count_task.apply(args).get()
    # then it tried three times, gave up without an error, and Sent keeps the targeted count
    assert len(figure_retries) == 2 and len(onesignal.views) == 3 and result is None
    push = reload(push)
    assert (push.status, push.sent_count, push.delivery_confirmed) == (PushStatus.SENT, 2, False)


def test_a_5xx_on_the_delivery_figure_is_retried_after_its_wait_and_the_retry_records_the_figure(
        onesignal, queued_push, follow_ups, figure_retries):
    # given a sent push and OneSignal failing the first figure request with a 503
    push = deliver(queued_push)
    [(args, _)] = follow_ups
    onesignal.reply_views(Reply(status=503, body={"errors": ["Service Unavailable"]}),
                          Reply(body={"id": push.provider_ids[0], "successful": 1}))
    # when the figure is read
    fetch_delivered_count_task.apply(args)
    # then the 503 was treated as transient: one retry after the default wait, which recorded the figure
    assert len(figure_retries) == 1 and VIEW_RETRY_SECONDS <= figure_retries[0] <= VIEW_RETRY_SECONDS + 2
    assert len(onesignal.views) == 2
    assert (reload(push).sent_count, reload(push).delivery_confirmed) == (1, True)
