"""A fake OneSignal on 127.0.0.1 and clinics configured to push through it."""

import pytest

from clinic_crm.tenancy.services import set_onesignal_credentials
from notifications.dispatch import queue_push
from notifications.tasks import deliver_push_task, fetch_delivered_count_task
from tests.factories import PatientFactory
from tests.notifications.fake_onesignal import FakeOneSignal

APP_ID_A = "11111111-aaaa-4aaa-8aaa-111111111111"
API_KEY_A = "os_v2_app_clinic_a_secret"
APP_ID_B = "22222222-bbbb-4bbb-8bbb-222222222222"
API_KEY_B = "os_v2_app_clinic_b_secret"


@pytest.fixture
def onesignal(settings):
    """The fake server, with the OneSignal backend pointed at it."""
    fake = FakeOneSignal().start()
    settings.PUSH_BACKEND = "onesignal"
    settings.ONESIGNAL_API_URL = fake.url
    settings.ONESIGNAL_TIMEOUT = (2.0, 2.0)
    yield fake
    fake.stop()


@pytest.fixture
def clinic_a_on_onesignal(clinic_a):
    return set_onesignal_credentials(clinic=clinic_a, app_id=APP_ID_A, api_key=API_KEY_A)


@pytest.fixture
def clinic_b_on_onesignal(clinic_b):
    return set_onesignal_credentials(clinic=clinic_b, app_id=APP_ID_B, api_key=API_KEY_B)


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
