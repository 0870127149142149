"""Django admin for platform admins (CORE-8): every model registered, searchable, secrets masked."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from clinic_crm.tenancy.services import create_api_key, set_onesignal_credentials
from tests.conftest import PLATFORM_DB
from tests.factories import OrderFactory, PatientFactory

pytestmark = [PLATFORM_DB, pytest.mark.platform]  # Django admin reads through the platform connection
OUR_APPS = {"common", "tenancy", "patients", "orders", "dashboard", "redemptions", "notifications", "offers",
            "promos", "coupons"}


def test_every_model_is_registered_with_list_display_filters_and_search():
    for model in apps.get_models():
        if model._meta.app_label not in OUR_APPS:
            continue
        model_admin = admin.site._registry.get(model)
        assert model_admin is not None, f"{model.__name__} is not in admin"
        assert model_admin.list_display != ("__str__",), model
        assert model_admin.list_filter, model
        assert model_admin.search_fields, model


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root@example.com", "root@example.com", "pw-123456789")


def test_the_platform_admin_sees_every_clinics_rows_with_secrets_masked(superuser, client, clinic_a, clinic_b,
                                                                         in_clinic):
    set_onesignal_credentials(clinic=clinic_a, app_id="3f1b2c3d-1111-4222-8333-444455556666",
                              api_key="os_v2_app_topsecret9876")
    _, full_key = create_api_key(clinic=clinic_a, name="POS", scopes=["pos"])
    with in_clinic(clinic_a):
        OrderFactory(reference="ADM-A")
    with in_clinic(clinic_b):
        OrderFactory(reference="ADM-B")
        patient_b = PatientFactory(first_name="Visible")
    client.force_login(superuser)
    orders = client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert "ADM-A" in orders and "ADM-B" in orders
    assert "Visible" in client.get(reverse("admin:patients_patient_change", args=[patient_b.pk])).content.decode()
    clinics = client.get(reverse("admin:tenancy_clinic_changelist")).content.decode()
    clinic_page = client.get(reverse("admin:tenancy_clinic_change", args=[clinic_a.pk])).content.decode()
    keys = client.get(reverse("admin:tenancy_apikey_changelist")).content.decode()
    for page in (clinics, clinic_page):
        assert "os_v2_app_topsecret9876" not in page and "9876" in page
    assert full_key not in keys


def test_clinic_staff_cannot_use_django_admin(owner_a, client_for):
    response = client_for(owner_a).get(reverse("admin:index"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_admin_edits_of_offers_and_promo_codes_show_on_the_apps_next_config_fetch(
        superuser, client, clinic_a, in_clinic, app_client_for, django_capture_on_commit_callbacks):
    from decimal import Decimal

    from offers.services import create_offer
    from promos.events import Actor
    from promos.models import PromoCode
    from promos.services import create_promo

    # given a live offer and a banner promo the app's config lists
    with django_capture_on_commit_callbacks(execute=True), in_clinic(clinic_a):
        offer = create_offer(clinic=clinic_a, data={"name": "Gone soon", "title": "Gone soon", "published": True,
                                                    "active": True, "discount_type": "free_treatment"})
        promo = create_promo(clinic=clinic_a, actor=Actor(id=None, name="Ann", email="ann@example.com"), data={
            "name": "Spring", "code": "SPRING20", "discount_type": "percent", "discount_value": Decimal("20"),
            "status": "active", "show_banner": True})
        code = PromoCode.objects.get(promo=promo)
    app = app_client_for(clinic_a)
    before = app.get("/api/v1/app/config")
    assert [o["title"] for o in before.json()["offers"]] == ["Gone soon"]
    # when a platform admin deletes the offer and renames the code in Django admin
    client.force_login(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        deleted = client.post(reverse("admin:offers_offer_delete", args=[offer.pk]), {"post": "yes"})
        renamed = client.post(reverse("admin:promos_promocode_change", args=[code.pk]), {
            "clinic": clinic_a.pk, "promo": promo.pk, "code": "SPRING25", "patient": ""})
    # then the app's next conditional fetch has both changes
    assert deleted.status_code == 302 and renamed.status_code == 302, renamed.content[:2000]
    after = app.get("/api/v1/app/config", HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert after.json()["offers"] == [] and [p["code"] for p in after.json()["promos"]] == ["SPRING25"]


def test_activity_logs_and_transitions_are_read_only_in_admin(superuser, client):
    """The four append-only tables offer no add, change or delete; their lists still open."""
    client.force_login(superuser)
    for label in ("tenancy_staffactivity", "promos_promoactivity", "coupons_cardactivity",
                  "redemptions_responsetransition"):
        assert client.get(reverse(f"admin:{label}_changelist")).status_code == 200
        assert client.get(reverse(f"admin:{label}_add")).status_code == 403
        model_admin = admin.site._registry[apps.get_model(*label.split("_", 1))]
        assert not model_admin.has_change_permission(None) and not model_admin.has_delete_permission(None)
