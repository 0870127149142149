"""The four metric cards of a promo's page, each card read on its own: uses, unique customers, total
discounted and average order value, the average taken over order totals after discount (PRO-4)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import PatientFactory
from tests.promos.factories import add_use, seed, url
from tests.promos.markup import element, text

pytestmark = pytest.mark.django_db

CARDS = {"uses": "metric-uses", "customers": "metric-customers", "discounted": "metric-discounted",
         "aov": "metric-aov"}


def metric_cards(response) -> dict[str, str]:
    """Each metric card's figure as its own element's text."""
    page = element(response.content.decode(), "promo-metrics")
    return {name: text(element(page, testid)) for name, testid in CARDS.items()}


def test_metric_cards_show_the_figures_worked_out_by_hand(clinic_a, in_clinic, staff_a, client_for):
    # given three applied uses by two patients, a pending one, and another promo's use
    promo = seed(clinic_a, in_clinic, "Spring", code="SPRING", active=True, max_uses=100, budget=Decimal("500"))
    other = seed(clinic_a, in_clinic, "Other", code="OTHER", active=True)
    with in_clinic(clinic_a):
        ann, bob = PatientFactory(), PatientFactory()
        add_use(promo, ann, discount="10.00", order_total="90.00")     # £100.00 before discount
        add_use(promo, ann, discount="25.00", order_total="225.00")    # £250.00 before discount
        add_use(promo, bob, discount="4.50", order_total="40.50")      # £45.00 before discount
        add_use(promo, bob, discount="99.00", order_total="0", status="pending")
        add_use(other, bob, discount="50.00", order_total="450.00")

    # when its page opens
    response = client_for(staff_a).get(url(clinic_a, "detail", promo.pk))

    # then each card shows its own figure: 3 uses, 2 customers, £10 + £25 + £4.50 off, and the average
    # order after discount (£90 + £225 + £40.50) / 3 = £118.50, not the £131.67 before it
    assert metric_cards(response) == {
        "uses": "3", "customers": "2", "discounted": "£39.50", "aov": "£118.50"}
    # and the cards measure uses and discount against the promo's cap and budget
    section = text(element(response.content.decode(), "promo-metrics"))
    assert "3 of 100 allowed" in section and "£39.50 of a £500.00 budget" in section


def test_metric_cards_before_the_first_use_show_zeroes_and_no_average(clinic_a, in_clinic, staff_a, client_for):
    # given a promo nobody has used
    promo = seed(clinic_a, in_clinic, "New", code="NEW", active=True)

    # when its page opens
    response = client_for(staff_a).get(url(clinic_a, "detail", promo.pk))

    # then the counts are zero and the average is a dash, not £0.00
    assert metric_cards(response) == {"uses": "0", "customers": "0", "discounted": "£0.00", "aov": "–"}

