"""The staff Promo resource over the JWT API: create, read, edit, lifecycle, roles and tenancy (PRO-1, PRO-2, PRO-4)."""

import pytest
from rest_framework.test import APIClient

from clinic_crm.tenancy.choices import Role
from promos import services
from promos.events import Actor
from promos.models import Promo, PromoActivity
from promos.selectors import get_promo_metrics
from tests.conftest import make_staff, staff_api_client
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

PROMO_FIELDS = {"id", "code", "name", "kind", "status", "is_expired", "discount", "tiers", "min_order", "max_uses",
                "max_uses_per_customer", "starts_at", "ends_at", "applies_to", "audience", "show_banner",
                "auto_apply", "marketing_cost", "budget", "metrics"}


staff_api = staff_api_client


@pytest.fixture
def owner_api(clinic_a, owner_a):
    return staff_api(clinic_a, owner_a)


SPRING = {"name": "Spring", "code": "SPRING20", "discount": {"type": "percent", "value": "20"}, "max_uses": 100,
          "min_order": "30.00", "status": "active"}


def test_staff_create_a_promo_and_read_it_back_as_the_api_md_resource(owner_api):
    # when a promo is created over the API
    created = owner_api.post("/api/v1/staff/promos/", SPRING, format="json")
    # then it answers 201 with the Promo resource, readable by id and in the list
    assert created.status_code == 201, created.content
    body = created.json()
    assert PROMO_FIELDS <= set(body)
    assert (body["code"], body["kind"], body["status"], body["is_expired"]) == ("SPRING20", "global", "active", False)
    assert body["discount"] == {"type": "percent", "value": "20"} and body["discount_label"] == "20% Off"
    assert body["currency"] == "GBP"  # of min_order, budget, marketing_cost and the metrics' amounts
    assert body["metrics"] == {"uses": 0, "unique_customers": 0, "total_discounted": "0.00", "avg_order_value": None}
    assert owner_api.get(f"/api/v1/staff/promos/{body['id']}").json() == body
    assert owner_api.get("/api/v1/staff/promos/").json()["results"] == [body]


def test_a_tiered_promo_lists_its_tiers(owner_api):
    response = owner_api.post("/api/v1/staff/promos/", {
        "name": "Spend more", "code": "MORE", "kind": "tiered", "tiers": [
            {"min_order": "100", "discount": {"type": "amount", "value": "10"}},
            {"min_order": "200", "discount": {"type": "percent", "value": "20"}}]}, format="json")
    assert response.status_code == 201, response.content
    assert [(t["min_order"], t["discount"]) for t in response.json()["tiers"]] == [
        ("100.00", {"type": "amount", "value": "10.00"}), ("200.00", {"type": "percent", "value": "20"})]


def test_settings_a_kind_has_no_use_for_are_cleared_over_the_api_too(owner_api):
    # given a personalised promo sent with the banner and auto-apply flags, and a tiered one with a minimum order
    personal = owner_api.post("/api/v1/staff/promos/", {
        "name": "VIP", "kind": "personalised", "discount": {"type": "percent", "value": "15"},
        "show_banner": True, "auto_apply": True}, format="json")
    tiered = owner_api.post("/api/v1/staff/promos/", {
        "name": "Spend more", "code": "MORE", "kind": "tiered", "min_order": "500.00",
        "tiers": [{"min_order": "100", "discount": {"type": "amount", "value": "10"}}]}, format="json")
    assert personal.status_code == tiered.status_code == 201, (personal.content, tiered.content)
    # when the tiered one is edited with a minimum order again
    edited = owner_api.patch(f"/api/v1/staff/promos/{tiered.json()['id']}", {"min_order": "50.00"}, format="json")
    # then a personalised code is never a banner or applied by itself, and a tiered promo's floor is its lowest tier
    assert (personal.json()["show_banner"], personal.json()["auto_apply"]) == (False, False)
    assert tiered.json()["min_order"] is None and edited.json()["min_order"] is None


def test_metrics_follow_redemptions(clinic_a, in_clinic, owner_api, pos_client_for):
    # given a promo redeemed twice by one patient, on £100 and £200 orders
    promo_id = owner_api.post("/api/v1/staff/promos/", SPRING, format="json").json()["id"]
    with in_clinic(clinic_a):
        PatientFactory(external_id="ann")
    pos = pos_client_for(clinic_a)
    for reference, total in (("A", "100.00"), ("B", "200.00")):
        body = {"code": "SPRING20", "external_id": "ann", "order": {"reference": reference, "total": total}}
        assert pos.post("/api/v1/pos/promos/redeem", body, format="json").status_code == 201
    # then the promo's metrics add them up; the average order is what was paid, after the 20% (80 and 160)
    metrics = owner_api.get(f"/api/v1/staff/promos/{promo_id}").json()["metrics"]
    assert metrics == {"uses": 2, "unique_customers": 1, "total_discounted": "60.00", "avg_order_value": "120.00"}
    # and they are the figures the detail page shows for the same promo
    with in_clinic(clinic_a):
        page = get_promo_metrics(promo=Promo.objects.get(pk=int(promo_id)))
    assert (page.uses, page.unique_customers, f"{page.total_discounted:.2f}", f"{page.avg_order_value:.2f}") == (
        metrics["uses"], metrics["unique_customers"], metrics["total_discounted"], metrics["avg_order_value"])
    assert owner_api.get("/api/v1/staff/promos/").json()["results"][0]["metrics"] == metrics


def test_staff_edit_pause_activate_and_archive_over_the_api(owner_api, owner_a, clinic_a, in_clinic):
    promo_id = owner_api.post("/api/v1/staff/promos/", SPRING, format="json").json()["id"]
    edited = owner_api.patch(f"/api/v1/staff/promos/{promo_id}", {"name": "Spring sale", "max_uses": 50},
                             format="json")
    assert edited.status_code == 200 and (edited.json()["name"], edited.json()["max_uses"]) == ("Spring sale", 50)
    assert owner_api.post(f"/api/v1/staff/promos/{promo_id}/pause").json()["status"] == "paused"
    assert owner_api.post(f"/api/v1/staff/promos/{promo_id}/activate").json()["status"] == "active"
    archived = owner_api.post(f"/api/v1/staff/promos/{promo_id}/archive").json()
    assert (archived["status"], archived["is_expired"]) == ("archived", True)
    again = owner_api.post(f"/api/v1/staff/promos/{promo_id}/activate")
    assert again.status_code == 409 and again.json()["code"] == "code_archived"
    assert owner_api.post(f"/api/v1/staff/promos/{promo_id}/pause").json()["code"] == "illegal_transition"
    # and every change is one activity row with the token's name and e-mail; the refusals wrote none
    with in_clinic(clinic_a):
        rows = list(PromoActivity.objects.filter(promo_id=int(promo_id)).order_by("id"))
    assert [row.action for row in rows] == ["created", "updated", "paused", "activated", "archived"]
    assert {(row.actor_name, row.actor_email) for row in rows} == {(owner_a.get_full_name(), owner_a.email)}


def test_a_duplicate_code_is_a_validation_error(owner_api):
    owner_api.post("/api/v1/staff/promos/", SPRING, format="json")
    response = owner_api.post("/api/v1/staff/promos/", {**SPRING, "code": "spring20"}, format="json")
    assert response.status_code == 400 and "code" in response.json()["extra"]["fields"]


def test_viewers_read_but_cannot_write(clinic_a, owner_api):
    # given a promo and a viewer
    promo_id = owner_api.post("/api/v1/staff/promos/", SPRING, format="json").json()["id"]
    viewer = staff_api(clinic_a, make_staff(clinic_a, Role.VIEWER))
    # then the viewer reads and every write is 403
    assert viewer.get(f"/api/v1/staff/promos/{promo_id}").status_code == 200
    assert viewer.post("/api/v1/staff/promos/", SPRING, format="json").status_code == 403
    assert viewer.patch(f"/api/v1/staff/promos/{promo_id}", {"name": "X"}, format="json").status_code == 403
    assert viewer.post(f"/api/v1/staff/promos/{promo_id}/pause").status_code == 403


def test_another_clinics_promo_is_404_and_never_listed(clinic_a, clinic_b, in_clinic, owner_api):
    # given a promo of clinic B
    with in_clinic(clinic_b):
        promo_b = services.create_promo(clinic=clinic_b, data={"name": "B", "code": "BONLY", "status": "active",
                                                               "discount_type": "percent", "discount_value": 10},
                                        actor=Actor(id=None, name="B", email="b@example.com"))
    # then clinic A's staff get 404 on every route and an empty list
    for method, path in [("get", ""), ("patch", ""), ("post", "/pause"), ("post", "/activate"), ("post", "/archive")]:
        response = getattr(owner_api, method)(f"/api/v1/staff/promos/{promo_b.pk}{path}", {}, format="json")
        assert response.status_code == 404 and response.json()["code"] == "not_found", (method, path)
    assert owner_api.get("/api/v1/staff/promos/").json()["count"] == 0
    with in_clinic(clinic_b):
        promo_b.refresh_from_db()
    assert promo_b.status == "active"


def test_audience_patients_of_another_clinic_are_refused(clinic_b, in_clinic, owner_api):
    with in_clinic(clinic_b):
        bob = PatientFactory()
    response = owner_api.post("/api/v1/staff/promos/", {**SPRING, "audience": "patients",
                                                        "audience_patient_ids": [bob.pk]}, format="json")
    assert response.status_code == 400 and "audience_patient_ids" in response.json()["extra"]["fields"]


def test_the_staff_api_needs_a_staff_token(clinic_a, pos_client_for):
    assert APIClient().get("/api/v1/staff/promos/").status_code == 401
    assert pos_client_for(clinic_a).get("/api/v1/staff/promos/").status_code in (401, 403)


def test_money_and_limits_are_validated(owner_api):
    response = owner_api.post("/api/v1/staff/promos/", {**SPRING, "discount": {"type": "percent", "value": "150"}},
                              format="json")
    assert response.status_code == 400
    response = owner_api.post("/api/v1/staff/promos/", {**SPRING, "starts_at": "2030-02-01T00:00:00Z",
                                                        "ends_at": "2030-01-01T00:00:00Z"}, format="json")
    assert response.status_code == 400 and "ends_at" in response.json()["extra"]["fields"]
