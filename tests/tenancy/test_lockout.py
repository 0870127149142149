"""Repeated wrong passwords lock staff sign-in out, per account and per client (CORE-7).

The dashboard login, Django admin's login and the staff token endpoint share one count. The
client is the socket's peer, or what the deployment's own proxies saw: a client's
X-Forwarded-For never buys it a fresh count.
"""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.lockout import client_address
from tests.conftest import PASSWORD, assert_error, make_staff

pytestmark = pytest.mark.django_db

WRONG = "not-the-password"


def dashboard_sign_in(email, password, forwarded_for=None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return Client().post("/accounts/login/", {"username": email, "password": password}, headers=headers)


def admin_sign_in(email, password, forwarded_for=None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return Client().post("/admin/login/", {"username": email, "password": password, "next": "/admin/"},
                         headers=headers)


def token(clinic, email, password, forwarded_for=None):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    return APIClient().post("/api/v1/staff/token", {"email": email, "password": password, "clinic": clinic.slug},
                            format="json", **headers)


@pytest.fixture
def admin_user(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser(username="root", email="root@example.com", password=PASSWORD)


def signed_in(response) -> bool:
    return response.status_code == 302


def test_the_dashboard_locks_an_account_after_five_failures_whatever_x_forwarded_for_says(owner_a):
    # given five wrong passwords, each claiming another client address
    for n in range(5):
        assert dashboard_sign_in(owner_a.email, WRONG, forwarded_for=f"203.0.113.{n}").status_code == 200
    # when the right password comes, from yet another claimed address
    response = dashboard_sign_in(owner_a.email, PASSWORD, forwarded_for="198.51.100.7")
    # then it is refused for now, saying why and for how long
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 15 * 60
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in response.client.session


def test_the_lockout_ends_with_its_window(owner_a):
    for _ in range(5):
        dashboard_sign_in(owner_a.email, WRONG)
    assert dashboard_sign_in(owner_a.email, PASSWORD).status_code == 429
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert signed_in(dashboard_sign_in(owner_a.email, PASSWORD))


def test_a_success_before_the_limit_starts_the_count_again(owner_a):
    for _ in range(4):
        dashboard_sign_in(owner_a.email, WRONG)
    assert signed_in(dashboard_sign_in(owner_a.email, PASSWORD))
    for _ in range(4):
        dashboard_sign_in(owner_a.email, WRONG)
    assert signed_in(dashboard_sign_in(owner_a.email, PASSWORD))


def test_look_alike_spellings_sent_to_the_token_endpoint_share_the_logins_count(clinic_a, owner_a):
    # (an address the e-mail field refuses, such as one in full-width letters, is a 400 that never
    # reaches a password check, so it counts for nothing)
    for spelling in (owner_a.email.upper(), owner_a.email.capitalize(), " " + owner_a.email, owner_a.email.swapcase(),
                     owner_a.email.title()):
        assert token(clinic_a, spelling, WRONG).status_code == 401
    assert token(clinic_a, "ｏ" + owner_a.email[1:], WRONG).status_code == 400
    assert token(clinic_a, owner_a.email, PASSWORD).status_code == 429


def test_look_alike_spellings_of_one_login_share_its_count(owner_a):
    # given failures under other spellings of the owner's address (case, full-width letters)
    local, domain = owner_a.email.split("@")
    for spelling in (owner_a.email.upper(), local.capitalize() + "@" + domain, "ｏ" + owner_a.email[1:],
                     owner_a.email.swapcase(), " " + owner_a.email):
        dashboard_sign_in(spelling, WRONG)
    # then the login is locked under its own spelling too
    assert dashboard_sign_in(owner_a.email, PASSWORD).status_code == 429


def test_one_client_guessing_across_accounts_is_locked_out(clinic_a, owner_a):
    # given twenty failures from one client against twenty addresses (none of them reaching five)
    for n in range(20):
        dashboard_sign_in(f"guess{n}@example.com", WRONG)
    # then that client cannot sign in to a real account either
    assert dashboard_sign_in(owner_a.email, PASSWORD).status_code == 429


def test_django_admin_locks_out_too(admin_user):
    for n in range(5):
        assert admin_sign_in(admin_user.email, WRONG, forwarded_for=f"203.0.113.{n}").status_code == 200
    response = admin_sign_in(admin_user.email, PASSWORD)
    assert response.status_code == 429 and "Retry-After" in response
    assert "Too many failed sign-ins" in response.content.decode()


def test_the_staff_token_endpoint_locks_out_whatever_x_forwarded_for_says(clinic_a, owner_a):
    for n in range(5):
        assert_error(token(clinic_a, owner_a.email, WRONG, forwarded_for=f"203.0.113.{n}"), 401,
                     "authentication_failed")
    response = token(clinic_a, owner_a.email, PASSWORD, forwarded_for="198.51.100.9")
    body = assert_error(response, 429, "rate_limited")
    assert "Too many failed sign-ins" in body["message"]
    assert 0 < int(response["Retry-After"]) <= 15 * 60


def test_the_failures_are_shared_by_the_dashboard_admin_and_the_token_endpoint(clinic_a, owner_a):
    dashboard_sign_in(owner_a.email, WRONG)
    admin_sign_in(owner_a.email, WRONG)
    token(clinic_a, owner_a.email, WRONG)
    dashboard_sign_in(owner_a.email, WRONG)
    token(clinic_a, owner_a.email, WRONG)
    assert token(clinic_a, owner_a.email, PASSWORD).status_code == 429


def test_the_staff_token_rate_limit_ignores_a_clients_x_forwarded_for(clinic_a):
    # given the token endpoint's own rate limit (10 a minute per client)
    answers = [token(clinic_a, f"nobody{n}@example.com", WRONG, forwarded_for=f"203.0.113.{n}").status_code
               for n in range(12)]
    # then headers naming other addresses do not give the client more tries
    assert 429 in answers


@pytest.mark.parametrize("proxies,forwarded,peer,expected", [
    (0, "203.0.113.9", "10.0.0.1", "10.0.0.1"),  # no proxy: the header is the client's own, ignored
    (1, "203.0.113.9", "10.0.0.1", "203.0.113.9"),  # the proxy's entry, the last one
    (1, "6.6.6.6, 203.0.113.9", "10.0.0.1", "203.0.113.9"),  # a client's forged entry sits left of it
    (2, "6.6.6.6, 203.0.113.9, 10.0.0.2", "10.0.0.1", "203.0.113.9"),
    (1, "", "10.0.0.1", "10.0.0.1"),  # a proxy that sent none: its own peer
])
def test_the_client_address_comes_only_from_the_deployments_own_proxies(settings, rf, proxies, forwarded, peer,
                                                                        expected):
    settings.TRUSTED_PROXIES = proxies
    request = rf.get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def test_behind_a_proxy_a_forged_header_entry_does_not_reset_the_count(settings, owner_a):
    settings.TRUSTED_PROXIES = 1
    for n in range(5):
        dashboard_sign_in(owner_a.email, WRONG, forwarded_for=f"6.6.6.{n}, 203.0.113.9")
    # the account is locked whatever the client claims, and the client (203.0.113.9) is counted
    assert dashboard_sign_in(owner_a.email, PASSWORD, forwarded_for="7.7.7.7, 203.0.113.9").status_code == 429
    other = make_staff(owner_a.memberships.first().clinic, Role.STAFF, email="other@example.com")
    assert signed_in(dashboard_sign_in(other.email, PASSWORD, forwarded_for="203.0.113.10"))
