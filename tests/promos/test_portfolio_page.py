"""The portfolio page's period control through the view: a custom range or a preset counts only the uses
applied inside it, days as the clinic's timezone draws them (PRO-8)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from clinic_crm.common.choices import DiscountSource
from redemptions.models import Redemption
from tests.factories import OrderFactory, PatientFactory
from tests.promos.factories import seed, url
from tests.promos.markup import element, text

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


def use_at(promo, patient, when: datetime, *, discount: str, order_total: str) -> Redemption:
    """One applied use of a promo, applied to its order at `when`. Call inside the clinic's scope."""
    amount = Decimal(discount)
    order = OrderFactory(patient=patient, placed_at=when, subtotal=Decimal(order_total) + amount,
                         discount_amount=amount, discount_source=DiscountSource.PROMO,
                         source_key=promo.promotion_key)
    return Redemption.objects.create(
        promotion_key=promo.promotion_key, promotion_kind="promo", promotion_id=promo.pk,
        promotion_name=promo.name, patient=patient, status="applied", discount_type=promo.discount_type,
        discount_label="10% Off", order=order, discount_amount=amount, order_total=order.total, applied_at=when)


def cards(response) -> dict[str, str]:
    """The totals' Uses, Discount given and Revenue cards, each as its figure's text."""
    page = response.content.decode()
    return {name: text(element(page, f"portfolio-{name}")) for name in ("uses", "discount", "revenue")}


def test_a_custom_range_counts_only_the_uses_applied_inside_it(clinic_a, in_clinic, viewer_a, client_for):
    # given uses either side of 10–12 June in London, where 00:30 on the 10th is still the 9th in UTC
    spring = seed(clinic_a, in_clinic, "Spring", code="SPRING", active=True)
    summer = seed(clinic_a, in_clinic, "Summer", code="SUMMER", active=True)
    with in_clinic(clinic_a):
        patient = PatientFactory()
        use_at(spring, patient, datetime(2026, 6, 9, 23, 30, tzinfo=LONDON), discount="1.00", order_total="9.00")
        use_at(spring, patient, datetime(2026, 6, 10, 0, 30, tzinfo=LONDON), discount="10.00", order_total="90.00")
        use_at(summer, patient, datetime(2026, 6, 11, 12, 0, tzinfo=LONDON), discount="20.00", order_total="180.00")
        use_at(spring, patient, datetime(2026, 6, 12, 23, 30, tzinfo=LONDON), discount="5.00", order_total="45.00")
        use_at(spring, patient, datetime(2026, 6, 13, 0, 30, tzinfo=LONDON), discount="7.00", order_total="63.00")

    # when the portfolio opens on that range
    response = client_for(viewer_a).get(url(clinic_a, "portfolio"),
                                        {"period": "custom", "start": "2026-06-10", "end": "2026-06-12"})

    # then only the three inside count: 3 uses, £10 + £20 + £5 off, £90 + £180 + £45 of orders
    portfolio = response.context["portfolio"]
    assert (portfolio.start.isoformat(), portfolio.end.isoformat()) == ("2026-06-10", "2026-06-12")
    assert (portfolio.uses, portfolio.discount, portfolio.revenue) == (3, Decimal("35.00"), Decimal("315.00"))
    assert [(p.name, p.uses) for p in portfolio.by_promo] == [("Spring", 2), ("Summer", 1)]
    assert [d.uses for d in portfolio.days] == [1, 1, 1]
    assert cards(response) == {"uses": "3", "discount": "£35.00", "revenue": "£315.00"}
    # and the page says which range it shows
    assert "All promos together, 10 Jun 2026 – 12 Jun 2026" in text(response.content.decode())


def test_the_7_day_preset_counts_the_last_seven_days_of_the_clinic_only(clinic_a, in_clinic, viewer_a, client_for):
    # given it is noon on 20 June in London, with uses on 1 June, late on 13 June, just after midnight
    # on 14 June (still the 13th in UTC) and on the 20th
    promo = seed(clinic_a, in_clinic, "Spring", code="SPRING", active=True)
    with in_clinic(clinic_a):
        patient = PatientFactory()
        use_at(promo, patient, datetime(2026, 6, 1, 12, 0, tzinfo=LONDON), discount="3.00", order_total="27.00")
        use_at(promo, patient, datetime(2026, 6, 13, 23, 30, tzinfo=LONDON), discount="4.00", order_total="36.00")
        use_at(promo, patient, datetime(2026, 6, 14, 0, 30, tzinfo=LONDON), discount="10.00", order_total="90.00")
        use_at(promo, patient, datetime(2026, 6, 20, 9, 0, tzinfo=LONDON), discount="6.00", order_total="54.00")

    with time_machine.travel(datetime(2026, 6, 20, 12, 0, tzinfo=LONDON), tick=False):
        client = client_for(viewer_a)

        # when the portfolio opens on 7 days, then on 30
        week = client.get(url(clinic_a, "portfolio"), {"period": "7"})
        month = client.get(url(clinic_a, "portfolio"), {"period": "30"})

    # then 7 days is 14–20 June: the uses of the 14th and the 20th only
    portfolio = week.context["portfolio"]
    assert (portfolio.start.isoformat(), portfolio.end.isoformat()) == ("2026-06-14", "2026-06-20")
    assert (portfolio.uses, portfolio.discount, portfolio.revenue) == (2, Decimal("16.00"), Decimal("144.00"))
    assert cards(week) == {"uses": "2", "discount": "£16.00", "revenue": "£144.00"}
    # and 30 days, 22 May – 20 June, takes all four
    assert month.context["portfolio"].uses == 4
    assert cards(month) == {"uses": "4", "discount": "£23.00", "revenue": "£207.00"}
