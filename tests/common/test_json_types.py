"""The API takes the JSON types its schema states, and writes date-times as RFC 3339 (API.md).

A number where the schema says string, 0 or "true" where it says boolean, "5" where it says
integer: a 400 naming the field, never a silent conversion. Date-times carry an hours:minutes
offset, and when something happened must be between 1900 and a day ahead.
"""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework import serializers

from clinic_crm.common import json_fields as fields
from clinic_crm.common.serializers import IdInput
from clinic_crm.orders.models import Order
from tests.conftest import assert_error, staff_api_client
from tests.factories import OrderFactory, PatientFactory

pytestmark = pytest.mark.django_db


class Sample(serializers.Serializer):
    text = fields.CharField(required=False)
    flag = fields.BooleanField(required=False)
    count = fields.IntegerField(required=False)
    amount = fields.DecimalField(max_digits=8, decimal_places=2, required=False)
    when = fields.DateTimeField(required=False)
    happened = fields.HappenedAtField(required=False)
    day = fields.DateField(required=False)
    patient_id = IdInput(required=False)


@pytest.mark.parametrize("field,value", [
    ("text", 12), ("text", True), ("text", ["a"]),
    ("flag", 0), ("flag", 1), ("flag", "true"), ("flag", "yes"),
    ("count", "5"), ("count", 5.5), ("count", True),
    ("amount", 12.5), ("amount", 12), ("amount", True), ("amount", "1e2"), ("amount", " 5"), ("amount", ".5"),
    ("amount", "5."), ("amount", "+5"),
    ("when", 1700000000), ("day", 20260101),
    ("patient_id", True), ("patient_id", " 12"), ("patient_id", "12.0"), ("patient_id", 12.5), ("patient_id", "0"),
])
def test_a_value_of_another_json_type_is_refused_with_its_field(field, value):
    # when a value of a type the schema does not give is sent
    data = Sample(data={field: value})
    # then the field is refused
    assert not data.is_valid()
    assert list(data.errors) == [field]


def test_an_amount_sent_as_a_number_is_told_to_be_a_string():
    data = Sample(data={"amount": 12.5})
    assert not data.is_valid()
    assert data.errors["amount"] == ['Send the amount as a string, e.g. "25.00".']


@pytest.mark.parametrize("field,value,expected", [
    ("text", "hello", "hello"), ("flag", False, False), ("count", 5, 5), ("amount", "12.50", Decimal("12.50")),
    ("patient_id", "12", 12), ("patient_id", 12, 12), ("day", "2026-01-02", None),
])
def test_the_schemas_own_types_are_taken(field, value, expected):
    data = Sample(data={field: value})
    assert data.is_valid(), data.errors
    if expected is not None:
        assert data.validated_data[field] == expected


@pytest.mark.parametrize("value,error", [
    ("1899-12-31T23:59:59Z", "Give a date-time from 1900 on."),
    ("1800-01-01T00:00:00Z", "Give a date-time from 1900 on."),
])
def test_when_something_happened_is_from_1900_on(value, error):
    data = Sample(data={"happened": value})
    assert not data.is_valid()
    assert data.errors["happened"] == [error]


def test_when_something_happened_is_at_most_a_day_ahead():
    soon = (timezone.now() + timedelta(hours=23)).isoformat()
    later = (timezone.now() + timedelta(days=1, minutes=5)).isoformat()
    assert Sample(data={"happened": soon}).is_valid()
    data = Sample(data={"happened": later})
    assert not data.is_valid()
    assert data.errors["happened"] == ["Give a date-time no more than a day ahead."]


def test_a_date_time_is_written_with_an_hours_and_minutes_offset_even_before_standard_time():
    # given London, whose offset before 1847 was its local mean time, -00:01:15
    with timezone.override("Europe/London"):
        # when an 1800 instant and a summer one are written
        old = fields.DateTimeField().to_representation(datetime(1800, 1, 1, tzinfo=dt_timezone.utc))
        summer = fields.DateTimeField().to_representation(datetime(2026, 7, 1, 8, 30, tzinfo=dt_timezone.utc))
    # then the old one is in UTC (no seconds in its offset), the summer one in London's time
    assert old == "1800-01-01T00:00:00Z"
    assert summer == "2026-07-01T09:30:00+01:00"


@pytest.fixture
def ann(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        return PatientFactory(external_id="bk-ann")


def test_an_order_placed_in_1800_is_refused_and_nothing_is_stored(clinic_a, in_clinic, ann, pos_client_for):
    # when a POS records an order dated 1800
    response = pos_client_for(clinic_a).post("/api/v1/pos/orders", {
        "reference": "OLD-1", "external_id": "bk-ann", "total": "10.00", "placed_at": "1800-01-01T00:00:00Z",
    }, format="json")
    # then placed_at is refused, and there is no order
    body = assert_error(response, 400, "validation_error")
    assert body["extra"]["fields"]["placed_at"] == ["Give a date-time from 1900 on."]
    with in_clinic(clinic_a):
        assert not Order.objects.filter(reference="OLD-1").exists()


def test_an_order_stored_long_ago_is_read_back_as_an_rfc_3339_date_time(clinic_a, in_clinic, ann, pos_client_for):
    # given an order stored in 1800 (before the API refused such dates)
    with in_clinic(clinic_a):
        OrderFactory(patient=ann, reference="OLD-2", placed_at=datetime(1800, 1, 1, tzinfo=dt_timezone.utc))
    # when the POS reads it back
    body = pos_client_for(clinic_a).get("/api/v1/pos/orders/OLD-2").json()
    # then its time has an hours:minutes offset (UTC), not London's -00:01:15
    assert body["placed_at"] == "1800-01-01T00:00:00Z"


@pytest.mark.parametrize("path,body,field", [
    ("/api/v1/pos/patients/bk-ann", {"push_enabled": 0}, "push_enabled"),
    ("/api/v1/pos/patients/bk-ann", {"first_name": 12}, "first_name"),
    ("/api/v1/pos/orders", {"reference": "R", "external_id": "bk-ann", "total": 80}, "total"),
    ("/api/v1/pos/promos/redeem", {"code": "X", "external_id": "bk-ann", "order": {"reference": "R", "total": 80.5}},
     "order"),
])
def test_the_pos_api_refuses_values_of_another_json_type(clinic_a, ann, pos_client_for, path, body, field):
    api = pos_client_for(clinic_a)
    response = api.put(path, body, format="json") if "patients" in path else api.post(path, body, format="json")
    assert field in assert_error(response, 400, "validation_error")["extra"]["fields"]


def test_the_app_refuses_a_numeric_order_total(clinic_a, ann, app_client_for):
    response = app_client_for(clinic_a, ann).post("/api/v1/app/promos/validate", {"code": "X", "order_total": 80},
                                                  format="json")
    assert "order_total" in assert_error(response, 400, "validation_error")["extra"]["fields"]


def test_the_staff_api_refuses_an_integer_for_a_boolean(clinic_a, owner_a):
    response = staff_api_client(clinic_a, owner_a).post("/api/v1/staff/offers/", {"name": "N", "title": "T", "active": 1,
                                                  "discount": {"type": "percent", "value": "10"}}, format="json")
    assert "active" in assert_error(response, 400, "validation_error")["extra"]["fields"]
