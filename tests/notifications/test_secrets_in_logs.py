"""No secret reaches a log line: an integration key, a patient's token, a clinic's OneSignal REST API key or a
staff token, through the flows that use them and fail, with every logger at DEBUG (the SDK's and urllib3's
included). Nor does a key show on a page again after the one time it is shown."""

import logging

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from clinic_crm.tenancy.auth import mint_patient_token
from notifications.dispatch import queue_push
from tests.conftest import PASSWORD
from tests.factories import PatientFactory
from tests.logs import captured_lines
from tests.notifications.conftest import API_KEY_A
from tests.notifications.delivery import deliver
from tests.notifications.fake_onesignal import Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def every_log_line():
    """Every record any logger emits during the test, at DEBUG (libraries' too), as text."""
    with captured_lines(logging.Formatter("%(name)s %(message)s"), level=logging.DEBUG,
                        loggers=("urllib3", "onesignal", "django.request", "celery")) as lines:
        yield lines


def test_keys_and_tokens_never_reach_the_logs(onesignal, clinic_a_on_onesignal, in_clinic, owner_a, client_for,
                                              every_log_line):
    clinic = clinic_a_on_onesignal
    owner = client_for(owner_a)
    # an owner issues an integration key in the dashboard: shown once, on that page only
    made = owner.post(reverse("settings:api_keys", args=[clinic.slug]), {"name": "Front desk", "scopes": ["pos"]},
                      follow=True).content.decode()
    key = made.split('<code id="new-api-key">')[1].split("</code>")[0]
    assert len(key) > 20
    assert key not in owner.get(reverse("settings:api_keys", args=[clinic.slug])).content.decode()
    # the till uses it, for a patient that does not exist and with a body that is wrong
    till = APIClient()
    till.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert till.get("/api/v1/pos/patients/nobody").status_code == 404
    assert till.post("/api/v1/pos/orders", {"total": "x"}, format="json").status_code == 400
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION=f"Api-Key {key[:-4]}zzzz")
    assert wrong.get("/api/v1/pos/patients/nobody").status_code == 401
    # a patient's token, used for a claim that is refused
    with in_clinic(clinic):
        patient = PatientFactory(push_enabled=True, external_id="p-1")
    token = mint_patient_token(clinic=clinic, patient_id=patient.pk)
    app = APIClient()
    app.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_APP_KEY=clinic.app_key)
    assert app.post("/api/v1/app/offers/offer_999/claim", {}, format="json").status_code in (404, 409)
    # a staff token
    staff_token = APIClient().post("/api/v1/staff/token", {"email": owner_a.email, "password": PASSWORD, "clinic": clinic.slug},
                                   format="json").json().get("access", "")
    assert APIClient().get("/api/v1/staff/promos/", HTTP_AUTHORIZATION=f"Bearer {staff_token}x").status_code == 401
    # and a push OneSignal refuses with a 401, through the SDK
    onesignal.reply(Reply(status=401, body={"errors": ["Access denied. Please include a valid API key."]}))
    with in_clinic(clinic):
        push = queue_push(clinic=clinic, title="T", message="M")
    deliver(push)

    logged = "\n".join(every_log_line)
    assert "Unauthorized" in logged and "Not Found" in logged  # the failures were logged
    assert staff_token and token
    for secret in (key, token, API_KEY_A, clinic.app_key, staff_token):
        assert secret not in logged
