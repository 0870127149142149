"""POS orders: record a completed order and read it back by reference; never across clinics (API.md, POS)."""

import pytest

from clinic_crm.orders.models import Order
from tests.factories import OrderFactory, PatientFactory
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/pos/orders"


@pytest.fixture
def ann(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        return PatientFactory(external_id="bk-ann", first_name="Ann")


def test_an_order_with_lines_computes_subtotal_and_total(clinic_a, in_clinic, ann, pos_client_for):
    # given a patient and a POS key
    api = pos_client_for(clinic_a)
    # when the POS records an order of two lines by external id
    response = api.post(ORDERS, {
        "reference": "R-1", "external_id": "bk-ann",
        "lines": [{"description": "Whitening", "unit_price": "300.00"},
                  {"description": "Polish", "unit_price": "25.50", "quantity": 2}],
    }, format="json")
    # then the sums are computed, money is a decimal string with the clinic's currency
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["subtotal"], body["discount_amount"], body["total"], body["currency"]) == (
        "351.00", "0.00", "351.00", "GBP")
    assert (body["reference"], body["patient_id"], body["external_id"]) == ("R-1", str(ann.pk), "bk-ann")
    assert [(line["description"], line["quantity"], line["line_total"]) for line in body["lines"]] == [
        ("Whitening", 1, "300.00"), ("Polish", 2, "51.00")]
    assert body["discount"] is None and body["discount_source"] == "none"
    with in_clinic(clinic_a):
        order = Order.objects.get(reference="R-1")
        ann.refresh_from_db()
    assert body["id"] == str(order.pk)
    assert ann.last_visit_at == order.placed_at


def test_an_order_with_a_total_only_takes_it_as_the_subtotal(clinic_a, in_clinic, ann, pos_client_for):
    # given a POS that only knows the order's total
    api = pos_client_for(clinic_a)
    # when it records the order by patient id
    response = api.post(ORDERS, {"reference": "R-2", "patient_id": ann.pk, "total": "80"}, format="json")
    # then subtotal and total are that amount and there are no lines
    assert response.status_code == 201
    body = response.json()
    assert (body["subtotal"], body["total"], body["lines"]) == ("80.00", "80.00", [])


def test_an_order_keeps_the_time_the_pos_says_it_was_placed_with_the_clinics_offset(clinic_a, ann, pos_client_for):
    # given an order placed on a summer morning in London, sent in UTC
    api = pos_client_for(clinic_a)
    # when the POS records it
    response = api.post(ORDERS, {"reference": "R-3", "external_id": "bk-ann", "total": "10.00",
                                 "placed_at": "2026-06-01T09:30:00+00:00"}, format="json")
    # then the same instant comes back in the clinic's time zone, with its offset
    assert response.status_code == 201
    assert response.json()["placed_at"] == "2026-06-01T10:30:00+01:00"


def test_both_patient_id_and_external_id_is_a_validation_error(clinic_a, in_clinic, ann, pos_client_for):
    # given a POS key
    api = pos_client_for(clinic_a)
    # when an order names the patient twice
    response = api.post(ORDERS, {"reference": "R-4", "patient_id": ann.pk, "external_id": "bk-ann",
                                 "total": "10.00"}, format="json")
    # then it is refused and nothing is stored
    body = assert_error(response, 400, "validation_error")
    assert "patient_id" in body["extra"]["fields"]
    with in_clinic(clinic_a):
        assert not Order.objects.exists()


@pytest.mark.parametrize(("payload", "field"), [
    ({"reference": "R-5", "total": "10.00"}, "patient_id"),
    ({"reference": "R-5", "external_id": "bk-ann"}, "lines"),
    ({"external_id": "bk-ann", "total": "10.00"}, "reference"),
    ({"reference": "R-5", "external_id": "bk-ann", "total": "-1.00"}, "total"),
    ({"reference": "R-5", "external_id": "bk-ann", "total": "ten"}, "total"),
    ({"reference": "R-5", "external_id": "bk-ann", "lines": [{"description": "X", "unit_price": "1",
                                                               "quantity": 0}]}, "lines"),
    ({"reference": "R-5", "external_id": "bk-ann", "placed_at": "yesterday", "total": "1"}, "placed_at"),
])
def test_invalid_orders_are_a_validation_error_naming_the_field(clinic_a, in_clinic, ann, pos_client_for,
                                                                payload, field):
    # given a POS key
    api = pos_client_for(clinic_a)
    # when an order with one problem is sent
    response = api.post(ORDERS, payload, format="json")
    # then the 400 names the field and nothing is stored
    body = assert_error(response, 400, "validation_error")
    assert field in body["extra"]["fields"]
    with in_clinic(clinic_a):
        assert not Order.objects.exists()


@pytest.mark.parametrize("patient", [{"external_id": "bk-nobody"}, {"patient_id": 999_999_999}])
def test_an_unknown_patient_is_404(clinic_a, in_clinic, pos_client_for, patient):
    # given no such patient in the clinic
    api = pos_client_for(clinic_a)
    # when an order names one
    response = api.post(ORDERS, {"reference": "R-6", "total": "10.00", **patient}, format="json")
    # then it is not found and nothing is stored
    assert_error(response, 404, "unknown_patient")
    with in_clinic(clinic_a):
        assert not Order.objects.exists()


def test_a_duplicate_reference_is_409_and_keeps_the_first_order(clinic_a, in_clinic, ann, pos_client_for):
    # given an order already recorded
    api = pos_client_for(clinic_a)
    first = api.post(ORDERS, {"reference": "R-7", "external_id": "bk-ann", "total": "10.00"}, format="json")
    # when another order comes with the same reference
    second = api.post(ORDERS, {"reference": "R-7", "external_id": "bk-ann", "total": "99.00"}, format="json")
    # then it is a conflict and the first order is unchanged
    assert first.status_code == 201
    body = assert_error(second, 409, "duplicate_reference")
    assert "R-7" in body["message"]
    with in_clinic(clinic_a):
        assert [str(total) for total in Order.objects.values_list("total", flat=True)] == ["10.00"]


def test_get_reads_an_order_by_its_reference(clinic_a, ann, pos_client_for):
    # given a recorded order
    api = pos_client_for(clinic_a)
    created = api.post(ORDERS, {"reference": "R-8", "external_id": "bk-ann", "lines": [
        {"description": "Check-up", "unit_price": "45.00"}]}, format="json").json()
    # when the POS reads it back
    response = api.get(f"{ORDERS}/R-8")
    # then it is the same order
    assert response.status_code == 200
    assert response.json() == created


def test_get_of_an_unknown_reference_is_404(clinic_a, pos_client_for):
    # given no such order
    # when it is read
    response = pos_client_for(clinic_a).get(f"{ORDERS}/R-missing")
    # then it is not found
    assert_error(response, 404, "not_found")


# --- tenancy ---------------------------------------------------------------------------------------


def test_clinic_a_gets_404_for_clinic_bs_order_reference(clinic_a, clinic_b, in_clinic, pos_client_for):
    # given an order that exists only in clinic B
    with in_clinic(clinic_b):
        OrderFactory(reference="R-B")
    # when clinic A's key reads that reference
    response = pos_client_for(clinic_a).get(f"{ORDERS}/R-B")
    # then it is the same 404 as a missing one, never a 403
    assert_error(response, 404, "not_found")


def test_clinic_a_cannot_record_an_order_for_clinic_bs_patient(clinic_a, clinic_b, in_clinic, pos_client_for):
    # given a patient of clinic B
    with in_clinic(clinic_b):
        patient_b = PatientFactory(external_id="bk-b")
    api = pos_client_for(clinic_a)
    # when clinic A's key names that patient by id or external id
    by_id = api.post(ORDERS, {"reference": "R-9", "patient_id": patient_b.pk, "total": "1.00"}, format="json")
    by_external = api.post(ORDERS, {"reference": "R-9", "external_id": "bk-b", "total": "1.00"}, format="json")
    # then both are 404 and neither clinic has a new order
    assert_error(by_id, 404, "unknown_patient")
    assert_error(by_external, 404, "unknown_patient")
    for clinic in (clinic_a, clinic_b):
        with in_clinic(clinic):
            assert not Order.objects.exists()


def test_the_same_reference_in_two_clinics_is_two_orders(clinic_a, clinic_b, in_clinic, ann, pos_client_for):
    # given clinic B already has an order R-10
    with in_clinic(clinic_b):
        OrderFactory(reference="R-10")
    # when clinic A records its own R-10
    response = pos_client_for(clinic_a).post(ORDERS, {"reference": "R-10", "external_id": "bk-ann",
                                                      "total": "5.00"}, format="json")
    # then references are unique per clinic only
    assert response.status_code == 201
    assert response.json()["currency"] == "GBP"
