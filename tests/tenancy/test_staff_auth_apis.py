"""The staff API's JWT: minted from e-mail, password and clinic slug; the role is read now (API.md, Authentication)."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from clinic_crm.tenancy.auth import mint_patient_token
from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.models import Membership
from clinic_crm.tenancy.services import change_staff_role, create_staff, remove_staff
from tests.conftest import PASSWORD
from tests.factories import PatientFactory
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/staff/token"
ME = "/api/v1/staff/me"
WRONG_LOGIN = "The e-mail, password or clinic is not right."


def mint(email: str, clinic_slug: str, password: str = PASSWORD):
    return APIClient().post(TOKEN, {"email": email, "password": password, "clinic": clinic_slug}, format="json")


def bearer(token: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


def test_a_staff_member_mints_a_token_that_says_who_they_are(clinic_a, owner_a):
    # given an owner of clinic A
    # when they exchange e-mail, password and clinic slug for a token
    minted = mint(owner_a.email.upper(), clinic_a.slug)
    # then the token names the clinic and role, and /me reads them back
    assert minted.status_code == 200
    body = minted.json()
    assert body["token_type"] == "Bearer"
    assert body["clinic"] == clinic_a.slug
    assert body["role"] == Role.OWNER
    assert body["expires_in"] > 0
    me = bearer(body["access"]).get(ME)
    assert me.status_code == 200
    assert me.json() == {
        "email": owner_a.email, "name": owner_a.get_full_name(), "role": Role.OWNER,
        "clinic": {"id": str(clinic_a.pk), "slug": clinic_a.slug, "name": clinic_a.name},
    }


def test_a_wrong_password_an_unknown_login_and_another_clinics_slug_get_one_answer(
    clinic_a, clinic_b, owner_a, owner_b
):
    # given an owner of clinic A and a clinic B they do not belong to
    # when each wrong combination is tried
    answers = [
        mint(owner_a.email, clinic_a.slug, password="not-the-password"),
        mint("nobody@example.com", clinic_a.slug),
        mint(owner_a.email, clinic_b.slug),
        mint(owner_a.email, "no-such-clinic"),
    ]
    # then every one is the same 401, revealing nothing about which part was wrong
    bodies = [assert_error(response, 401, "authentication_failed") for response in answers]
    assert all(body == {"message": WRONG_LOGIN, "code": "authentication_failed", "extra": {}} for body in bodies)


def test_a_deactivated_clinic_cannot_be_signed_into(clinic_a, owner_a):
    # given a clinic that was switched off
    clinic_a.is_active = False
    clinic_a.save(update_fields=["is_active"])
    # when its owner asks for a token
    response = mint(owner_a.email, clinic_a.slug)
    # then the answer is the same as for a wrong password
    assert assert_error(response, 401, "authentication_failed")["message"] == WRONG_LOGIN


def test_missing_fields_are_a_validation_error(clinic_a):
    # given a token request without a password or clinic
    # when it is sent
    response = APIClient().post(TOKEN, {"email": "owner@clinic-a.test"}, format="json")
    # then both fields are named
    body = assert_error(response, 400, "validation_error")
    assert set(body["extra"]["fields"]) == {"password", "clinic"}


def test_the_role_shown_is_the_membership_role_now_not_the_one_minted(clinic_a, owner_a, staff_a):
    # given a token minted while the member was plain staff
    access = mint(staff_a.email, clinic_a.slug).json()["access"]
    # when an owner promotes them to manager afterwards
    change_staff_role(membership=Membership.objects.get(user=staff_a, clinic=clinic_a), role=Role.MANAGER)
    # then the same token already shows the new role
    me = bearer(access).get(ME)
    assert me.status_code == 200
    assert me.json()["role"] == Role.MANAGER


def test_a_removed_member_s_token_stops_working(clinic_a, owner_a, staff_a):
    # given a token minted while the member belonged to the clinic
    access = mint(staff_a.email, clinic_a.slug).json()["access"]
    # when their membership is removed
    remove_staff(membership=Membership.objects.get(user=staff_a, clinic=clinic_a))
    # then the token is refused
    body = assert_error(bearer(access).get(ME), 401, "authentication_failed")
    assert body["message"] == "This login no longer has access to the clinic."


def test_a_member_of_two_clinics_gets_a_token_for_the_clinic_they_named(clinic_a, clinic_b, owner_a):
    # given a login that is owner in A and viewer in B
    create_staff(clinic=clinic_b, email=owner_a.email, role=Role.VIEWER)
    # when they mint a token for B
    access = mint(owner_a.email, clinic_b.slug).json()["access"]
    # then the token acts in B with B's role only
    me = bearer(access).get(ME).json()
    assert me["clinic"]["slug"] == clinic_b.slug
    assert me["role"] == Role.VIEWER


def test_an_expired_staff_token_is_refused(clinic_a, owner_a, settings):
    # given a token minted now
    access = mint(owner_a.email, clinic_a.slug).json()["access"]
    # when it is used after its lifetime
    later = timezone.now() + settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] + timedelta(minutes=1)
    with time_machine.travel(later):
        response = bearer(access).get(ME)
    # then it is refused
    assert_error(response, 401, "authentication_failed")


def test_the_refresh_token_is_not_an_access_token(clinic_a, owner_a):
    # given the refresh token that came with the access token
    refresh = mint(owner_a.email, clinic_a.slug).json()["refresh"]
    # when it is used as a bearer
    response = bearer(refresh).get(ME)
    # then it is refused
    assert_error(response, 401, "authentication_failed")


def test_a_deactivated_login_s_token_is_refused(clinic_a, owner_a):
    # given a token of a login that is then deactivated
    access = mint(owner_a.email, clinic_a.slug).json()["access"]
    owner_a.is_active = False
    owner_a.save(update_fields=["is_active"])
    # when it is used
    response = bearer(access).get(ME)
    # then it is refused
    assert_error(response, 401, "authentication_failed")


def test_a_patient_token_is_not_a_staff_token(clinic_a, in_clinic):
    # given a patient's app token
    with in_clinic(clinic_a):
        patient = PatientFactory()
    token = mint_patient_token(clinic=clinic_a, patient_id=patient.pk)
    # when it is used on the staff API
    response = bearer(token).get(ME)
    # then it is refused
    assert_error(response, 401, "authentication_failed")


@pytest.mark.parametrize(("header", "code"), [
    (None, "not_authenticated"),
    ("Api-Key ck_a_b", "not_authenticated"),
    ("Bearer", "authentication_failed"),
    ("Bearer garbage", "authentication_failed"),
])
def test_the_staff_api_without_a_valid_jwt_is_401(clinic_a, header, code):
    # given a missing, empty or foreign credential
    api = APIClient()
    if header is not None:
        api.credentials(HTTP_AUTHORIZATION=header)
    # when the staff API is called
    response = api.get(ME)
    # then it is refused with the bearer challenge
    assert_error(response, 401, code)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="staff"'
