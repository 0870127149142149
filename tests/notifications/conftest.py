"""A fake OneSignal on 127.0.0.1 and clinics configured to push through it."""

import pytest

from clinic_crm.tenancy.services import set_onesignal_credentials
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
