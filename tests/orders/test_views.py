"""The Revenue section: filters by date range (clinic's timezone), source, promotion, patient (CORE-4)."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from clinic_crm.common.choices import DiscountSource
from tests.factories import OrderFactory, PatientFactory

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def orders(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        ann, bob = PatientFactory(first_name="Ann"), PatientFactory(first_name="Bob")
        return {
            "promo": OrderFactory(patient=ann, reference="R-PROMO", placed_at=datetime(2026, 11, 2, 10, tzinfo=LONDON),
                                  subtotal=Decimal("100"), discount_amount=Decimal("10"),
                                  discount_source=DiscountSource.PROMO, source_key="promo_3", source_name="SMILE10",
                                  source_label="10% Off"),
            "offer": OrderFactory(patient=bob, reference="R-OFFER", placed_at=datetime(2026, 11, 5, 23, 30, tzinfo=LONDON),
                                  subtotal=Decimal("200"), discount_amount=Decimal("25"),
                                  discount_source=DiscountSource.OFFER, source_key="offer_9", source_name="Spring",
                                  source_label="£25.00 Off"),
            "plain": OrderFactory(patient=bob, reference="R-PLAIN", placed_at=datetime(2026, 11, 10, 9, tzinfo=LONDON),
                                  subtotal=Decimal("60")),
        }


def refs(response):
    return sorted(o.reference for o in response.context["page"].object_list)


def test_revenue_lists_every_order_with_totals(orders, owner_a, client_for, clinic_a):
    response = client_for(owner_a).get(reverse("revenue:list", kwargs={"clinic_slug": clinic_a.slug}))
    assert refs(response) == ["R-OFFER", "R-PLAIN", "R-PROMO"]
    summary = response.context["summary"]
    assert (summary.orders, summary.revenue, summary.discount_given, summary.discounted_orders) == (
        3, Decimal("325.00"), Decimal("35.00"), 2)
    assert "£325.00" in response.content.decode()


@pytest.mark.parametrize("params,expected", [
    ({"source": "promo"}, ["R-PROMO"]),
    ({"source": "offer"}, ["R-OFFER"]),
    ({"promotion": "offer_9"}, ["R-OFFER"]),
    ({"date_from": "2026-11-05", "date_to": "2026-11-05"}, ["R-OFFER"]),
    ({"date_from": "2026-11-06"}, ["R-PLAIN"]),
    ({"q": "smile"}, ["R-PROMO"]),
    ({"q": "ann"}, ["R-PROMO"]),
])
def test_revenue_filters(orders, owner_a, client_for, clinic_a, params, expected):
    response = client_for(owner_a).get(reverse("revenue:list", kwargs={"clinic_slug": clinic_a.slug}), params)
    assert refs(response) == expected


def test_date_filters_use_the_clinics_timezone(clinic_b, in_clinic, client_for):
    from tests.conftest import make_staff

    owner = make_staff(clinic_b, "owner")
    with in_clinic(clinic_b):
        # 23:30 in New York on 5 Nov is 04:30 UTC on 6 Nov: it belongs to 5 Nov for this clinic.
        OrderFactory(reference="NY-LATE", currency="USD", placed_at=datetime(2026, 11, 5, 23, 30, tzinfo=NEW_YORK))
    url = reverse("revenue:list", kwargs={"clinic_slug": clinic_b.slug})
    assert refs(client_for(owner).get(url, {"date_from": "2026-11-05", "date_to": "2026-11-05"})) == ["NY-LATE"]
    assert refs(client_for(owner).get(url, {"date_from": "2026-11-06"})) == []


def test_revenue_by_patient(orders, owner_a, client_for, clinic_a):
    url = reverse("revenue:list", kwargs={"clinic_slug": clinic_a.slug})
    response = client_for(owner_a).get(url, {"patient": orders["plain"].patient_id})
    assert refs(response) == ["R-OFFER", "R-PLAIN"]


@pytest.mark.parametrize("params", [{"date_from": "yesterday"}, {"source": "bitcoin"}, {"patient": "abc"},
                                    {"page": "999"}, {"page": "x"}])
def test_bad_filter_input_is_a_message_not_a_500(orders, owner_a, client_for, clinic_a, params):
    response = client_for(owner_a).get(reverse("revenue:list", kwargs={"clinic_slug": clinic_a.slug}), params)
    assert response.status_code == 200
    if "page" not in params:
        assert response.context["filter"].errors
        assert 'role="alert"' in response.content.decode()


def test_order_detail_shows_the_discount_snapshot(orders, owner_a, client_for, clinic_a):
    order = orders["offer"]
    response = client_for(owner_a).get(reverse("revenue:detail", kwargs={"clinic_slug": clinic_a.slug,
                                                                         "order_id": order.pk}))
    page = response.content.decode()
    for text in ("Spring", "£25.00 Off", "offer_9", "Offer", "£175.00"):
        assert text in page


def test_order_times_are_shown_in_the_clinics_timezone(clinic_b, in_clinic, client_for):
    from tests.conftest import make_staff

    owner = make_staff(clinic_b, "owner")
    with in_clinic(clinic_b):
        order = OrderFactory(reference="NY-1", currency="USD", placed_at=datetime(2026, 7, 1, 14, 5, tzinfo=ZoneInfo("UTC")))
    page = client_for(owner).get(reverse("revenue:detail", kwargs={"clinic_slug": clinic_b.slug,
                                                                   "order_id": order.pk})).content.decode()
    assert "10:05" in page  # 14:05 UTC is 10:05 in New York in July


def test_revenue_to_before_from_is_a_form_error(orders, clinic_a, owner_a, client_for):
    response = client_for(owner_a).get(reverse("revenue:list", kwargs={"clinic_slug": clinic_a.slug}),
                                       {"date_from": "2026-11-10", "date_to": "2026-11-01"})
    assert "must be on or before" in response.content.decode()
    assert response.context["summary"].orders == 0
