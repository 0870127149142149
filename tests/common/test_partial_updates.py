"""A PATCH that leaves out part of a nested object: the stored part is kept, or the answer is a 400.

The discount of one-time offers, automated offers and promos, and a promo's tiers (a list that
replaces the stored one whole). Never a 500, and never a discount a create would refuse.
"""

from decimal import Decimal

import pytest

from clinic_crm.tenancy.choices import Role
from offers import services as offer_services
from offers.models import AutomatedOffer, Offer
from promos import services as promo_services
from promos.events import Actor
from promos.models import Promo
from tests.conftest import assert_error, make_staff, staff_api_client

pytestmark = pytest.mark.django_db

ANN = Actor(id=None, name="Ann Owner", email="ann@example.com")


@pytest.fixture
def staff(clinic_a):
    return staff_api_client(clinic_a, make_staff(clinic_a, Role.MANAGER))


@pytest.fixture
def offer(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        return offer_services.create_offer(clinic=clinic_a, data={
            "name": "Whitening", "title": "20% off", "discount_type": "percent", "discount_value": Decimal("20")})


@pytest.fixture
def automated(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        return AutomatedOffer.objects.order_by("id").first()


@pytest.fixture
def tiered(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        return promo_services.create_promo(clinic=clinic_a, actor=ANN, data={
            "name": "Spend more", "code": "TIERS", "kind": "tiered",
            "tiers": [{"min_order": Decimal("50"), "discount_type": "percent", "discount_value": Decimal("10")},
                      {"min_order": Decimal("100"), "discount_type": "amount", "discount_value": Decimal("25")}]})


@pytest.fixture
def promo(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        return promo_services.create_promo(clinic=clinic_a, actor=ANN, data={
            "name": "Spring", "code": "SPRING", "discount_type": "amount", "discount_value": Decimal("15")})


def stored_discount(clinic, in_clinic, model, pk):
    with in_clinic(clinic):
        row = model.all_clinics.get(pk=pk)
    return row.discount_type, row.discount_value


@pytest.mark.parametrize("path", ["/api/v1/staff/offers/{offer}", "/api/v1/staff/automated-offers/{automated}",
                                  "/api/v1/staff/promos/{promo}"])
def test_a_discount_value_alone_keeps_the_stored_type(path, staff, offer, automated, promo):
    # given an offer, an automated offer and a promo, each with a stored discount
    url = path.format(offer=offer.pk, automated=automated.pk, promo=promo.pk)
    before = staff.get(url).json()["discount"]
    # when a PATCH sends only the discount's value
    response = staff.patch(url, {"discount": {"value": "10"}}, format="json")
    # then the value changes and the type is the stored one
    assert response.status_code == 200, response.content
    assert response.json()["discount"]["type"] == before["type"]
    assert Decimal(response.json()["discount"]["value"]) == Decimal("10")


@pytest.mark.parametrize("path", ["/api/v1/staff/offers/{offer}", "/api/v1/staff/automated-offers/{automated}",
                                  "/api/v1/staff/promos/{promo}"])
def test_an_empty_discount_changes_nothing(path, staff, offer, automated, promo):
    url = path.format(offer=offer.pk, automated=automated.pk, promo=promo.pk)
    before = staff.get(url).json()["discount"]
    response = staff.patch(url, {"discount": {}}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["discount"] == before


def test_a_new_type_without_its_value_is_a_400_and_the_offer_is_unchanged(clinic_a, in_clinic, staff, offer):
    # when the type changes to an amount and no value is sent (a percent of 20 is not £20)
    response = staff.patch(f"/api/v1/staff/offers/{offer.pk}", {"discount": {"type": "amount"}}, format="json")
    # then the value is asked for, on the discount
    body = assert_error(response, 400, "validation_error")
    assert body["extra"]["fields"]["discount"]["value"] == ["Enter the discount's value."]
    assert stored_discount(clinic_a, in_clinic, Offer, offer.pk) == ("percent", Decimal("20"))


def test_a_free_treatment_needs_no_value(staff, offer):
    response = staff.patch(f"/api/v1/staff/offers/{offer.pk}", {"discount": {"type": "free_treatment"}},
                           format="json")
    assert response.status_code == 200, response.content
    assert response.json()["discount"] == {"type": "free_treatment", "value": None}


def test_a_value_the_stored_type_refuses_is_a_400(clinic_a, in_clinic, staff, offer):
    # when a percent offer is sent a value over 100
    response = staff.patch(f"/api/v1/staff/offers/{offer.pk}", {"discount": {"value": "150"}}, format="json")
    # then it is refused as a create would refuse it
    body = assert_error(response, 400, "validation_error")
    assert body["extra"]["fields"]["discount"]["value"] == ["A percentage cannot be more than 100."]
    assert stored_discount(clinic_a, in_clinic, Offer, offer.pk) == ("percent", Decimal("20"))


@pytest.mark.parametrize("tiers,missing", [
    ([{"min_order": "10"}], "discount"),
    ([{"discount": {"type": "percent", "value": "10"}}], "min_order"),
    ([{"min_order": "10", "discount": {"value": "5"}}], "type"),
])
def test_a_tier_sent_in_part_is_a_400_naming_what_is_missing(clinic_a, in_clinic, staff, tiered, tiers, missing):
    # when a PATCH replaces the tiers with one that lacks a part
    response = staff.patch(f"/api/v1/staff/promos/{tiered.pk}", {"tiers": tiers}, format="json")
    # then it is a 400 on the tier, and the stored tiers stand
    body = assert_error(response, 400, "validation_error")
    assert missing in str(body["extra"]["fields"]["tiers"])
    with in_clinic(clinic_a):
        assert Promo.objects.get(pk=tiered.pk).tiers.count() == 2


def test_whole_tiers_replace_the_stored_ones(staff, tiered):
    response = staff.patch(f"/api/v1/staff/promos/{tiered.pk}", {
        "tiers": [{"min_order": "30", "discount": {"type": "percent", "value": "5"}}]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["tiers"] == [{"min_order": "30.00", "discount": {"type": "percent", "value": "5"},
                                         "discount_label": "5% Off"}]


@pytest.mark.parametrize("field,value,message", [
    ("status", "paused", "Use pause, activate or archive to change a promo's status."),
    ("status", "draft", "Use pause, activate or archive to change a promo's status."),
    ("kind", "tiered", "A promo's kind cannot change; create a new promo instead."),
])
def test_a_promo_patch_may_not_set_its_status_or_kind(staff, promo, field, value, message):
    response = staff.patch(f"/api/v1/staff/promos/{promo.pk}", {field: value}, format="json")
    body = assert_error(response, 400, "validation_error")
    assert body["extra"]["fields"][field] == [message]
