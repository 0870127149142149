"""Sign-in, clinic switching and the owner's Settings area (CORE-1, CORE-2, CORE-7, CORE-9)."""

import re

import pytest
from django.urls import reverse

from clinic_crm.tenancy.auth import _hash_key
from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.models import ApiKey, Clinic, Membership
from tests.conftest import PASSWORD, make_staff

pytestmark = pytest.mark.django_db


def url(name, clinic, **kw):
    return reverse(name, kwargs={"clinic_slug": clinic.slug, **kw})


def test_login_by_email_any_case_lands_on_the_only_clinic(clinic_a, owner_a, client):
    response = client.post(reverse("login"), {"username": owner_a.email.upper(), "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == url("dashboard:overview", clinic_a)


def test_a_wrong_password_is_a_clear_message(clinic_a, owner_a, client):
    response = client.post(reverse("login"), {"username": owner_a.email, "password": "nope"})
    assert response.status_code == 200
    assert "don't match an account" in response.content.decode()


def test_a_user_of_two_clinics_chooses_then_returns_to_the_last_one(clinic_a, clinic_b, client_for):
    user = make_staff(clinic_a, Role.OWNER, email="both@example.com")
    make_staff(clinic_b, Role.VIEWER, email="both@example.com")
    user.refresh_from_db()
    client = client_for(user)
    chooser = client.get(reverse("home"))
    assert [m.clinic.slug for m in chooser.context["memberships"]] == ["clinic-a", "clinic-b"]
    # switching is following a link in the top bar; the dashboard shows each clinic's role
    page = client.get(url("dashboard:overview", clinic_b)).content.decode()
    assert "Clinic B" in page and "Viewer" in page
    assert client.get(reverse("home"))["Location"] == url("dashboard:overview", clinic_b)


def test_the_menu_names_the_sections_of_the_product(clinic_a, owner_a, client_for):
    page = client_for(owner_a).get(url("dashboard:overview", clinic_a)).content.decode()
    for label in ("Core", "Dashboard", "Patients", "App Builder", "Offers", "Marketing", "Promotions",
                  "Promos", "Coupon cards", "Offer Responses", "Exports", "Money", "Revenue", "Settings",
                  "OneSignal", "API keys", "Staff"):
        assert label in page, label


@pytest.mark.parametrize("role", [Role.MANAGER, Role.STAFF, Role.VIEWER])
def test_settings_are_for_owners_only(clinic_a, client_for, role):
    client = client_for(make_staff(clinic_a, role))
    for name in ("settings:clinic", "settings:onesignal", "settings:api_keys", "settings:staff"):
        assert client.get(url(name, clinic_a)).status_code == 403
    assert client.post(url("settings:api_keys", clinic_a), {"name": "x", "scopes": ["pos"]}).status_code == 403
    assert not ApiKey.objects.filter(clinic=clinic_a).exists()


def test_clinic_settings_reject_an_unknown_timezone(clinic_a, owner_a, client_for):
    response = client_for(owner_a).post(url("settings:clinic", clinic_a), {
        "name": "Renamed", "timezone": "Mars/Olympus", "currency": "GBP", "locale": "uk", "brand_color": "#112233",
    })
    assert response.status_code == 200
    assert "timezone" in response.context["form"].errors
    clinic_a.refresh_from_db()
    assert clinic_a.name == "Clinic A"


def test_clinic_settings_save(clinic_a, owner_a, client_for):
    response = client_for(owner_a).post(url("settings:clinic", clinic_a), {
        "name": "Renamed", "timezone": "Europe/Paris", "currency": "EUR", "locale": "uk", "brand_color": "#112233",
    })
    assert response.status_code == 302
    clinic_a.refresh_from_db()
    assert (clinic_a.name, clinic_a.timezone, clinic_a.currency) == ("Renamed", "Europe/Paris", "EUR")


def test_onesignal_key_is_stored_encrypted_and_never_rendered_back(clinic_a, owner_a, client_for):
    from django.db import connection

    client = client_for(owner_a)
    secret = "os_v2_app_supersecretvalue1234"
    response = client.post(url("settings:onesignal", clinic_a),
                           {"app_id": "3f1b2c3d-1111-4222-8333-444455556666", "api_key": secret})
    assert response.status_code == 302
    clinic = Clinic.objects.get(pk=clinic_a.pk)
    assert clinic.onesignal_api_key == secret and clinic.onesignal_configured
    with connection.cursor() as cursor:
        cursor.execute("SELECT onesignal_api_key FROM tenancy_clinic WHERE id = %s", [clinic_a.pk])
        stored = cursor.fetchone()[0]
    assert secret not in stored
    page = client.get(url("settings:onesignal", clinic_a)).content.decode()
    assert secret not in page and "1234" in page  # masked hint only
    # saving again without a key keeps the stored one
    client.post(url("settings:onesignal", clinic_a), {"app_id": "3f1b2c3d-1111-4222-8333-444455556666"})
    assert Clinic.objects.get(pk=clinic_a.pk).onesignal_api_key == secret


def test_onesignal_app_id_must_be_a_uuid(clinic_a, owner_a, client_for):
    response = client_for(owner_a).post(url("settings:onesignal", clinic_a), {"app_id": "nope", "api_key": "k"})
    assert response.status_code == 200 and "app_id" in response.context["form"].errors


def test_an_api_key_is_shown_once_hashed_at_rest_and_revocable(clinic_a, owner_a, client_for):
    client = client_for(owner_a)
    response = client.post(url("settings:api_keys", clinic_a), {"name": "Front desk", "scopes": ["pos", "events"]},
                           follow=True)
    assert response.redirect_chain  # post/redirect/get: a reload cannot create a second key
    full = response.context["new_key"]
    assert full.startswith("ck_") and full in response.content.decode()
    key = ApiKey.objects.get(clinic=clinic_a)
    assert key.key_hash == _hash_key(full) and full not in (key.prefix + key.key_hash)
    assert key.scopes == ["events", "pos"]
    assert full not in client.get(url("settings:api_keys", clinic_a)).content.decode()
    client.post(url("settings:api_key_revoke", clinic_a, key_id=key.pk))
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_an_api_key_needs_a_scope(clinic_a, owner_a, client_for):
    response = client_for(owner_a).post(url("settings:api_keys", clinic_a), {"name": "No scope"})
    assert "scopes" in response.context["form"].errors


def test_the_last_owner_cannot_be_demoted_or_removed(clinic_a, owner_a, client_for):
    client = client_for(owner_a)
    membership = Membership.objects.get(clinic=clinic_a, user=owner_a)
    response = client.post(url("settings:staff_role", clinic_a, membership_id=membership.pk), {"role": "viewer"},
                           follow=True)
    assert "at least one owner" in response.content.decode()
    client.post(url("settings:staff_remove", clinic_a, membership_id=membership.pk))
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_an_invalid_role_is_refused_with_a_message(clinic_a, owner_a, staff_a, client_for):
    membership = Membership.objects.get(clinic=clinic_a, user=staff_a)
    response = client_for(owner_a).post(url("settings:staff_role", clinic_a, membership_id=membership.pk),
                                        {"role": "god"}, follow=True)
    assert "Choose one of the listed roles." in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == Role.STAFF


def test_regenerating_the_app_key_stops_the_old_one(clinic_a, owner_a, client_for):
    old = clinic_a.app_key
    client_for(owner_a).post(url("settings:app_key_regenerate", clinic_a))
    clinic_a.refresh_from_db()
    assert clinic_a.app_key != old
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_X_APP_KEY=old)
    assert api.post("/api/v1/app/auth/code", {"email": "x@example.com"}, format="json").status_code == 401


def test_password_change(clinic_a, owner_a, client_for):
    client = client_for(owner_a)
    response = client.post(reverse("password_change"), {"old_password": PASSWORD, "new_password1": "a-new-long-pass-42",
                                                         "new_password2": "a-new-long-pass-42"})
    assert response.status_code == 302
    owner_a.refresh_from_db()
    assert owner_a.check_password("a-new-long-pass-42")


def test_unknown_pages_render_the_product_404(client_for, owner_a):
    response = client_for(owner_a).get("/no/such/page/")
    assert response.status_code == 404


def test_a_viewer_is_told_the_page_is_view_only_and_who_can_change_that(clinic_a, owner_a, viewer_a, client_for):
    viewer_page = client_for(viewer_a).get(f"/c/{clinic_a.slug}/offers/").content.decode()
    assert 'data-testid="read-only-banner"' in viewer_page
    assert "change nothing" in viewer_page and owner_a.get_full_name() in viewer_page
    assert 'data-testid="read-only-banner"' not in client_for(owner_a).get(f"/c/{clinic_a.slug}/offers/").content.decode()


def test_long_lists_show_page_numbers(clinic_a, in_clinic, owner_a, client_for):
    from tests.factories import PatientFactory

    with in_clinic(clinic_a):
        PatientFactory.create_batch(130)
    page = client_for(owner_a).get(f"/c/{clinic_a.slug}/patients/", {"page": "3"}).content.decode()
    nav = page.split('aria-label="Pages"')[1].split("</nav>")[0]
    assert 'aria-current="page">3<' in nav and 'aria-label="Page 1"' in nav and 'aria-label="Page 2"' in nav


def test_revenue_and_patients_sort_by_their_columns(clinic_a, in_clinic, owner_a, client_for):
    from decimal import Decimal

    from tests.factories import OrderFactory, PatientFactory

    with in_clinic(clinic_a):
        for last, total in (("Brown", "50"), ("Adams", "300"), ("Clark", "120")):
            OrderFactory(patient=PatientFactory(last_name=last), subtotal=Decimal(total), reference=f"R-{last}")
    client = client_for(owner_a)
    totals = [o.total for o in client.get(f"/c/{clinic_a.slug}/revenue/", {"sort": "-total"}).context["page"]]
    assert totals == sorted(totals, reverse=True) and totals[0] == Decimal("300.00")
    page = client.get(f"/c/{clinic_a.slug}/patients/", {"sort": "name"})
    assert [p.last_name for p in page.context["page"]] == ["Adams", "Brown", "Clark"]
    html = page.content.decode()
    assert 'aria-sort="ascending"' in html and "sort=-name" in html


def test_the_patient_list_exports_what_it_shows_as_csv(clinic_a, in_clinic, viewer_a, client_for):
    import csv as csv_module

    from tests.factories import PatientFactory

    with in_clinic(clinic_a):
        PatientFactory(first_name="Ann", last_name="Brown", external_id="b-1")
        PatientFactory(first_name="Cat", last_name="Adams", external_id="a-1")
        PatientFactory(first_name="Dan", last_name="Zed", external_id="z-1")
    # the list searched for "an" and sorted by name, exported: the same rows in the same order
    response = client_for(viewer_a).get(f"/c/{clinic_a.slug}/patients/patients.csv", {"q": "an", "sort": "-name"})
    rows = list(csv_module.reader(b"".join(response.streaming_content).decode().splitlines()))
    assert response["Content-Type"].startswith("text/csv") and rows[0][:2] == ["first_name", "last_name"]
    assert [(row[1], row[4]) for row in rows[1:]] == [("Zed", "z-1"), ("Brown", "b-1")]


@pytest.mark.parametrize("page, label", [
    ("offers/", "New offer"), ("promos/", "New promo"), ("cards/", "New card"), ("patients/", "Add patient"),
])
def test_a_viewer_sees_the_actions_disabled_with_the_reason_instead_of_missing(page, label, clinic_a, owner_a,
                                                                               viewer_a, client_for):
    viewer_page = client_for(viewer_a).get(f"/c/{clinic_a.slug}/{page}").content.decode()
    owner_page = client_for(owner_a).get(f"/c/{clinic_a.slug}/{page}").content.decode()

    locked = re.search(r'<span class="locked-action" title="([^"]+)"><button type="button" class="btn[^"]*" disabled '
                       r'aria-describedby="read-only-reason" data-testid="locked-action">(?:(?!</button>).)*</svg> ' + label,
                       viewer_page, re.S)
    assert locked, f"{label} is not shown disabled to a viewer"
    assert "View only" in locked.group(1) and "Ask an owner" in locked.group(1)
    assert 'id="read-only-reason"' in viewer_page  # the reason the button points at is on the page
    assert 'data-testid="locked-action"' not in owner_page and label in owner_page
