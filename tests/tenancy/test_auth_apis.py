"""The patient app's and the POS's ways in: X-App-Key, patient Bearer tokens and Api-Key (API.md, Authentication)."""

from datetime import timedelta

import jwt
import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from clinic_crm.tenancy.auth import _patient_signing_key, mint_patient_token
from clinic_crm.tenancy.choices import ApiScope
from clinic_crm.tenancy.models import ApiKey
from clinic_crm.tenancy.services import create_api_key, revoke_api_key
from tests.factories import PatientFactory
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

ME = "/api/v1/app/me"
SIGN_IN_CODE = "/api/v1/app/auth/code"
POS_PATIENTS = "/api/v1/pos/patients"


def app_client(app_key: str | None = None, token: str | None = None) -> APIClient:
    api = APIClient()
    headers = {}
    if app_key is not None:
        headers["HTTP_X_APP_KEY"] = app_key
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    api.credentials(**headers)
    return api


# --- X-App-Key alone -----------------------------------------------------------------------------


def test_the_app_key_alone_opens_the_public_sign_in_endpoint(clinic_a, app_client_for):
    # given the clinic's app with no patient signed in
    api = app_client_for(clinic_a)
    # when it asks for a sign-in code
    response = api.post(SIGN_IN_CODE, {"email": "nobody@example.com"}, format="json")
    # then the request is accepted without a patient token
    assert response.status_code == 202
    assert "code is on its way" in response.json()["message"]


def test_the_app_key_alone_is_not_a_signed_in_patient(clinic_a, app_client_for):
    # given the clinic's app with no patient signed in
    api = app_client_for(clinic_a)
    # when it reads the patient's own profile
    response = api.get(ME)
    # then it is told to sign in (401, not 403: the patient credential is missing)
    body = assert_error(response, 401, "not_authenticated")
    assert body["message"] == "Sign in to do this."
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_app_key_is_refused(clinic_a):
    # given an app key no clinic has
    api = app_client("app_not-a-real-key")
    # when the public endpoint is called
    response = api.post(SIGN_IN_CODE, {"email": "ann@example.com"}, format="json")
    # then the caller is not authenticated
    body = assert_error(response, 401, "authentication_failed")
    assert body["message"] == "The app key is not valid."


def test_the_app_key_of_a_deactivated_clinic_is_refused(clinic_a):
    # given a clinic that has been switched off
    clinic_a.is_active = False
    clinic_a.save(update_fields=["is_active"])
    # when its app calls the API
    response = app_client(clinic_a.app_key).post(SIGN_IN_CODE, {"email": "a@example.com"}, format="json")
    # then its key no longer works
    assert_error(response, 401, "authentication_failed")


def test_no_app_key_at_all_is_refused(clinic_a):
    # given a caller with no credentials
    api = APIClient()
    # when it calls an app endpoint
    response = api.get(ME)
    # then it is asked to authenticate
    assert_error(response, 401, "not_authenticated")


# --- X-App-Key + patient token -------------------------------------------------------------------


def test_a_patient_token_with_its_clinics_app_key_reads_the_patients_profile(clinic_a, in_clinic, app_client_for):
    # given a signed-in patient of clinic A
    with in_clinic(clinic_a):
        patient = PatientFactory(first_name="Ann", email="ann@example.com")
    api = app_client_for(clinic_a, patient)
    # when the app reads the profile
    response = api.get(ME)
    # then it is that patient's, with the id as a string
    assert response.status_code == 200
    assert response.json()["id"] == str(patient.pk)
    assert response.json()["first_name"] == "Ann"


def test_a_patient_token_of_clinic_a_with_clinic_bs_app_key_is_refused(clinic_a, clinic_b, in_clinic):
    # given a token minted for a patient of clinic A
    with in_clinic(clinic_a):
        patient = PatientFactory()
    token = mint_patient_token(clinic=clinic_a, patient_id=patient.pk)
    # when it is sent with clinic B's app key
    response = app_client(clinic_b.app_key, token).get(ME)
    # then clinic B does not accept it
    body = assert_error(response, 401, "authentication_failed")
    assert body["message"] == "The patient token is not valid for this app."


def test_an_expired_patient_token_is_refused(clinic_a, in_clinic, settings):
    # given a token minted now
    with in_clinic(clinic_a):
        patient = PatientFactory()
    token = mint_patient_token(clinic=clinic_a, patient_id=patient.pk)
    # when it is used after its lifetime
    with time_machine.travel(timezone.now() + timedelta(days=settings.PATIENT_TOKEN_DAYS, minutes=1)):
        response = app_client(clinic_a.app_key, token).get(ME)
    # then the patient must sign in again
    body = assert_error(response, 401, "authentication_failed")
    assert body["message"] == "Your session has expired. Sign in again."


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "Bearer"])
def test_a_malformed_patient_token_is_refused(clinic_a, token):
    # given a bearer value that is not a token we signed
    api = app_client(clinic_a.app_key, token)
    # when the app reads the profile
    response = api.get(ME)
    # then it is refused, not a server error
    assert_error(response, 401, "authentication_failed")


def test_a_token_signed_with_another_key_is_refused(clinic_a, in_clinic):
    # given a well-formed token signed with a key that is not ours
    with in_clinic(clinic_a):
        patient = PatientFactory()
    forged = jwt.encode(
        {"typ": "patient", "clinic": clinic_a.pk, "sub": str(patient.pk),
         "exp": int((timezone.now() + timedelta(days=1)).timestamp())},
        "a-signing-key-that-is-not-the-clinics-own", algorithm="HS256",
    )
    # when it is presented
    response = app_client(clinic_a.app_key, forged).get(ME)
    # then the signature check refuses it
    assert_error(response, 401, "authentication_failed")


def test_a_token_of_another_type_signed_with_the_patient_key_is_refused(clinic_a, in_clinic):
    # given a token with our signature but not of the patient type
    with in_clinic(clinic_a):
        patient = PatientFactory()
    other_type = jwt.encode(
        {"typ": "staff", "clinic": clinic_a.pk, "sub": str(patient.pk),
         "exp": int((timezone.now() + timedelta(days=1)).timestamp())},
        _patient_signing_key(), algorithm="HS256",
    )
    # when it is presented as a patient token
    response = app_client(clinic_a.app_key, other_type).get(ME)
    # then it is refused
    assert_error(response, 401, "authentication_failed")


def test_a_patient_token_does_not_open_the_pos_api(clinic_a, in_clinic, app_client_for):
    # given a signed-in patient's app client
    with in_clinic(clinic_a):
        patient = PatientFactory()
    api = app_client_for(clinic_a, patient)
    # when it calls a POS endpoint
    response = api.get(POS_PATIENTS)
    # then the POS scheme is missing
    assert_error(response, 401, "not_authenticated")


# --- Authorization: Api-Key ----------------------------------------------------------------------


def test_a_pos_key_lists_its_clinics_patients(clinic_a, in_clinic, pos_client_for):
    # given a POS key and one patient
    with in_clinic(clinic_a):
        PatientFactory(external_id="p-1")
    api = pos_client_for(clinic_a)
    # when it lists patients
    response = api.get(POS_PATIENTS)
    # then it sees that patient
    assert response.status_code == 200
    assert [row["external_id"] for row in response.json()["results"]] == ["p-1"]


def test_a_missing_api_key_is_401_and_names_the_scheme(clinic_a):
    # given no Authorization header
    api = APIClient()
    # when a POS endpoint is called
    response = api.get(POS_PATIENTS)
    # then the answer says which scheme to use
    assert_error(response, 401, "not_authenticated")
    assert response.headers["WWW-Authenticate"] == "Api-Key"


@pytest.mark.parametrize("header", [
    "Api-Key", "Api-Key garbage", "Api-Key ck_nope", "Api-Key ck_000000000000_secret", "Api-Key ck__",
])
def test_a_garbage_api_key_is_401(clinic_a, header):
    # given an Authorization header that is not one of our keys
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=header)
    # when a POS endpoint is called
    response = api.get(POS_PATIENTS)
    # then it is refused as unauthenticated
    assert_error(response, 401, "authentication_failed")


def test_a_real_prefix_with_a_wrong_secret_is_401(clinic_a):
    # given a real key whose secret part has been altered
    _, key = create_api_key(clinic=clinic_a, name="POS", scopes=[ApiScope.POS])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key[:-4]}XXXX")
    # when it is used
    response = api.get(POS_PATIENTS)
    # then only the exact key works
    body = assert_error(response, 401, "authentication_failed")
    assert body["message"] == "The API key is not valid."


def test_a_revoked_api_key_is_401(clinic_a, pos_client_for):
    # given a key that worked, then was revoked
    api = pos_client_for(clinic_a)
    assert api.get(POS_PATIENTS).status_code == 200
    revoke_api_key(api_key=ApiKey.objects.get(clinic=clinic_a))
    # when it is used again
    response = api.get(POS_PATIENTS)
    # then it is refused at once
    body = assert_error(response, 401, "authentication_failed")
    assert body["message"] == "The API key has been revoked."


def test_a_key_without_the_pos_scope_is_403_on_the_pos_api(clinic_a, pos_client_for):
    # given a key that may only send redemption events
    api = pos_client_for(clinic_a, scopes=[ApiScope.EVENTS])
    # when it calls the POS API
    response = api.get(POS_PATIENTS)
    # then it is known but not allowed
    body = assert_error(response, 403, "permission_denied")
    assert "pos" in body["message"]


def test_the_key_of_a_deactivated_clinic_is_401(clinic_a, pos_client_for):
    # given a key whose clinic was switched off
    api = pos_client_for(clinic_a)
    clinic_a.is_active = False
    clinic_a.save(update_fields=["is_active"])
    # when it is used
    response = api.get(POS_PATIENTS)
    # then it no longer works
    assert_error(response, 401, "authentication_failed")


def test_using_a_key_records_when_it_was_last_used(clinic_a, pos_client_for):
    # given a key never used
    api = pos_client_for(clinic_a)
    assert ApiKey.objects.get(clinic=clinic_a).last_used_at is None
    # when it is used
    api.get(POS_PATIENTS)
    # then the settings page can show when it was last used
    assert ApiKey.objects.get(clinic=clinic_a).last_used_at is not None


def test_the_app_key_does_not_open_the_pos_api(clinic_a, app_client_for):
    # given the clinic's public app key
    api = app_client_for(clinic_a)
    # when it calls the POS API
    response = api.get(POS_PATIENTS)
    # then the POS credential is missing
    assert_error(response, 401, "not_authenticated")
