"""Two-factor sign-in: with it on or required, a password alone gets neither a session nor a token (CORE-2, CORE-7)."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from clinic_crm.tenancy import two_factor
from clinic_crm.tenancy.choices import Role, StaffAction
from clinic_crm.tenancy.context import clinic_scope
from clinic_crm.tenancy.models import StaffActivity
from tests.conftest import PASSWORD, assert_error, make_staff

pytestmark = pytest.mark.django_db


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}"


def turn_on(user) -> tuple[TOTPDevice, list[str]]:
    device = two_factor.start_setup(user)
    codes = two_factor.confirm_setup(user=user, device=device, token=current_code(device))
    device.refresh_from_db()
    return device, codes


def password_step(client, user):
    return client.post("/accounts/login/", {"username": user.email, "password": PASSWORD})


def has_session(client) -> bool:
    return "_auth_user_id" in client.session


def test_with_an_app_a_password_alone_gets_no_session(clinic_a, owner_a):
    # given an owner who turned two-factor sign-in on
    turn_on(owner_a)
    client = Client()
    # when they give their password
    response = password_step(client, owner_a)
    # then they are asked for the code, and there is no session: the clinic's pages send them to sign in
    assert response.status_code == 302 and response["Location"] == "/accounts/two-factor/verify/"
    assert not has_session(client)
    assert client.get(f"/c/{clinic_a.slug}/")["Location"].startswith("/accounts/login/")


def test_the_code_from_the_app_completes_the_sign_in(clinic_a, owner_a):
    device, _ = turn_on(owner_a)
    client = Client()
    password_step(client, owner_a)
    with time_machine.travel(timezone.now() + timedelta(seconds=30)):  # the next code, not the one used to confirm
        response = client.post("/accounts/two-factor/verify/", {"code": current_code(device)})
        assert response.status_code == 302
        assert has_session(client)
        assert client.get(f"/c/{clinic_a.slug}/").status_code == 200


def test_a_wrong_code_is_refused_and_five_lock_the_login_out(clinic_a, owner_a):
    device, _ = turn_on(owner_a)
    client = Client()
    password_step(client, owner_a)
    for _ in range(5):
        response = client.post("/accounts/two-factor/verify/", {"code": "000000"})
        assert response.status_code == 200 and "That code is not right" in response.content.decode()
    with time_machine.travel(timezone.now() + timedelta(seconds=30)):
        locked = client.post("/accounts/two-factor/verify/", {"code": current_code(device)})
    assert locked.status_code == 429 and "Retry-After" in locked
    assert not has_session(client)


def test_a_recovery_code_signs_in_once(clinic_a, owner_a):
    _, codes = turn_on(owner_a)
    first = Client()
    password_step(first, owner_a)
    assert first.post("/accounts/two-factor/verify/", {"code": codes[0]}).status_code == 302
    assert has_session(first)
    second = Client()
    password_step(second, owner_a)
    again = second.post("/accounts/two-factor/verify/", {"code": codes[0]})
    assert again.status_code == 200 and not has_session(second)


def test_when_the_clinic_requires_it_a_login_without_an_app_sets_one_up_before_any_session(clinic_a, owner_a,
                                                                                          staff_a):
    # given the owner (with an app) requires two-factor sign-in at the clinic
    turn_on(owner_a)
    two_factor.set_clinic_requirement(clinic=clinic_a, required=True, actor_user=owner_a)
    client = Client()
    # when a staff member without an app gives their password
    response = password_step(client, staff_a)
    # then they must set one up first, with no session meanwhile
    assert response["Location"] == "/accounts/two-factor/setup/"
    assert not has_session(client)
    page = client.get("/accounts/two-factor/setup/").content.decode()
    assert "Clinic A requires a code" in page and "<svg" in page
    device = TOTPDevice.objects.get(user=staff_a, confirmed=False)
    done = client.post("/accounts/two-factor/setup/", {"code": current_code(device)})
    # and confirming the app shows the recovery codes once and signs them in
    assert len(re.findall(r"<li><code>[a-z2-7]{8}</code></li>", done.content.decode())) == 10
    assert has_session(client)
    assert client.get(f"/c/{clinic_a.slug}/").status_code == 200


def test_a_session_from_before_the_requirement_is_sent_to_set_up(clinic_a, owner_a, staff_a, client_for):
    staff_client = client_for(staff_a)  # signed in before the owner required it
    turn_on(owner_a)
    two_factor.set_clinic_requirement(clinic=clinic_a, required=True, actor_user=owner_a)
    response = staff_client.get(f"/c/{clinic_a.slug}/patients/")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/two-factor/setup/?next=%2Fc%2F{clinic_a.slug}%2Fpatients%2F"


def test_an_owner_without_an_app_cannot_require_it(clinic_a, owner_a, client_for):
    response = client_for(owner_a).post(f"/c/{clinic_a.slug}/settings/staff/two-factor/", {"required": "on"},
                                        follow=True)
    assert "Turn on two-factor sign-in for your own login first" in response.content.decode()
    clinic_a.refresh_from_db()
    assert not clinic_a.require_two_factor


def test_requiring_it_is_in_the_staff_log(clinic_a, owner_a, client_for):
    device, _ = turn_on(owner_a)
    client = Client()
    password_step(client, owner_a)
    with time_machine.travel(timezone.now() + timedelta(seconds=30)):
        client.post("/accounts/two-factor/verify/", {"code": current_code(device)})
        client.post(f"/c/{clinic_a.slug}/settings/staff/two-factor/", {"required": "on"})
    clinic_a.refresh_from_db()
    assert clinic_a.require_two_factor
    with clinic_scope(clinic_a.pk):
        actions = list(StaffActivity.objects.values_list("action", flat=True))
    assert StaffAction.TWO_FACTOR_ON in actions and StaffAction.TWO_FACTOR_REQUIRED in actions


def token(clinic, user, **extra):
    return APIClient().post("/api/v1/staff/token", {"email": user.email, "password": PASSWORD, "clinic": clinic.slug,
                                                    **extra}, format="json")


def test_the_staff_token_needs_the_code_when_the_app_is_on(clinic_a, owner_a):
    device, _ = turn_on(owner_a)
    assert_error(token(clinic_a, owner_a), 401, "otp_required")
    assert_error(token(clinic_a, owner_a, otp="000000"), 401, "otp_invalid")
    with time_machine.travel(timezone.now() + timedelta(seconds=30)):
        response = token(clinic_a, owner_a, otp=current_code(device))
    assert response.status_code == 200 and response.json()["access"]


def test_the_staff_token_of_a_clinic_that_requires_it_needs_an_app(clinic_a, owner_a, staff_a):
    turn_on(owner_a)
    two_factor.set_clinic_requirement(clinic=clinic_a, required=True, actor_user=owner_a)
    body = assert_error(token(clinic_a, staff_a), 401, "otp_required")
    assert "requires two-factor sign-in" in body["message"]


def test_turning_it_off_needs_a_code_and_is_refused_where_required(clinic_a, owner_a, client_for):
    device, _ = turn_on(owner_a)
    client = client_for(owner_a)
    client.post("/accounts/two-factor/off/", {"code": "000000"})
    assert two_factor.has_two_factor(owner_a)
    two_factor.set_clinic_requirement(clinic=clinic_a, required=True, actor_user=owner_a)
    with time_machine.travel(timezone.now() + timedelta(seconds=30)):
        response = client.post("/accounts/two-factor/off/", {"code": current_code(device)}, follow=True)
    assert "requires two-factor sign-in, so it stays on" in response.content.decode()
    assert two_factor.has_two_factor(owner_a)


def test_a_member_of_a_clinic_without_the_requirement_signs_in_with_a_password(clinic_b, owner_b):
    client = Client()
    assert password_step(client, owner_b)["Location"] == "/"
    assert has_session(client)


def test_another_clinic_requiring_it_applies_to_a_login_in_both(clinic_a, clinic_b, owner_a):
    person = make_staff(clinic_b, Role.STAFF, email="both@example.com")
    make_staff(clinic_a, Role.VIEWER, email="both@example.com")
    turn_on(owner_a)
    two_factor.set_clinic_requirement(clinic=clinic_a, required=True, actor_user=owner_a)
    person.refresh_from_db()
    assert password_step(Client(), person)["Location"] == "/accounts/two-factor/setup/"
