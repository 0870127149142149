"""Promo reads: segments and their counts, metrics from the ledger, comparison ratios and the portfolio
(PRO-4, PRO-6, PRO-7, PRO-8)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic_crm.common.choices import DiscountSource, DiscountType
from promos import selectors
from promos.models import Promo, PromoCode
from redemptions.models import Redemption
from tests.factories import OrderFactory, PatientFactory

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


def make_promo(name, *, code=None, status="active", **fields) -> Promo:
    fields.setdefault("discount_type", DiscountType.PERCENT)
    fields.setdefault("discount_value", Decimal("10"))
    promo = Promo.objects.create(name=name, status=status, **fields)
    if code:
        PromoCode.objects.create(promo=promo, code=code, clinic_id=promo.clinic_id)
    return promo


def redeem(promo, patient, *, subtotal, discount, when=None, status="applied") -> Redemption:
    """An order that used the promo and its ledger row, as checkout records them."""
    when = when or timezone.now()
    order = OrderFactory(patient=patient, subtotal=Decimal(subtotal), discount_amount=Decimal(discount),
                         placed_at=when, discount_source=DiscountSource.PROMO, source_key=promo.promotion_key,
                         source_id=promo.pk, source_name=promo.name)
    return Redemption.objects.create(
        promotion_key=promo.promotion_key, promotion_kind="promo", promotion_id=promo.pk,
        promotion_name=promo.name, patient=patient, status=status, discount_type=promo.discount_type,
        discount_value=promo.discount_value, discount_label="10% Off", order=order,
        discount_amount=Decimal(discount), order_total=order.total if order is not None else None,
        applied_at=when if status == "applied" else None,
    )


@pytest.fixture
def scoped(clinic_a, in_clinic):
    with in_clinic(clinic_a), timezone.override(LONDON):
        yield clinic_a


def test_segments_split_promos_by_derived_status_and_count_each(scoped):
    # given promos in every state, one of them active but past its end
    now = timezone.now()
    make_promo("Live", code="LIVE10")
    make_promo("Ended", code="ENDED", ends_at=now - timedelta(days=1))
    make_promo("Draft", status="draft")
    make_promo("Paused", status="paused")
    make_promo("Gone", status="archived")

    # when the segments are counted
    counts = {s.key or "all": s.count for s in selectors.count_promo_segments(now=now)}

    # then Expired holds the archived one and the one past its end, and All holds everything
    assert counts == {"all": 5, "active": 1, "scheduled": 0, "draft": 1, "paused": 1, "expired": 2}
    names = lambda status: sorted(p.name for p in selectors.list_promos(data={"status": status}, now=now).qs)  # noqa: E731
    assert names("active") == ["Live"]
    assert names("expired") == ["Ended", "Gone"]
    assert len(selectors.list_promos(data={}, now=now).qs) == 5


def test_search_matches_name_or_code_and_counts_follow_the_search(scoped):
    make_promo("Spring whitening", code="SPRING20")
    make_promo("Summer", code="SUN-5")
    make_promo("Old spring", status="archived", code="OLDSPRING")

    listing = selectors.list_promo_rows(data={"q": "spring"}, currency="GBP")
    assert sorted(r.promo.name for r in listing.rows) == ["Old spring", "Spring whitening"]
    assert {s.key or "all": s.count for s in listing.segments}["all"] == 2
    by_code = selectors.list_promo_rows(data={"q": "sun-"}, currency="GBP")
    assert [r.code for r in by_code.rows] == ["SUN-5"]


def test_sorting_by_name_and_uses(scoped):
    make_promo("B", uses=3)
    make_promo("A", uses=9)
    make_promo("C", uses=1)
    assert [p.name for p in selectors.list_promos(data={"sort": "name"}).qs] == ["A", "B", "C"]
    assert [p.name for p in selectors.list_promos(data={"sort": "-uses"}).qs] == ["A", "B", "C"]
    assert [p.name for p in selectors.list_promos(data={"sort": "uses"}).qs] == ["C", "B", "A"]


def test_metrics_equal_the_figures_worked_out_by_hand(scoped):
    # given three uses by two patients, one pending and one cancelled row, and another promo's use
    promo = make_promo("Spring", code="SPRING")
    other = make_promo("Other", code="OTHER")
    ann, bob = PatientFactory(), PatientFactory()
    redeem(promo, ann, subtotal="100.00", discount="10.00")      # total 90
    redeem(promo, ann, subtotal="250.00", discount="25.00")      # total 225
    redeem(promo, bob, subtotal="40.00", discount="4.00")        # total 36
    redeem(promo, bob, subtotal="999.00", discount="99.00", status="pending")
    redeem(promo, bob, subtotal="999.00", discount="99.00", status="cancelled")
    redeem(other, bob, subtotal="500.00", discount="50.00")

    # when its metrics are read
    metrics = selectors.get_promo_metrics(promo=promo)

    # then only its applied rows count: 3 uses, 2 customers, 39.00 off, (90 + 225 + 36) / 3 = 117.00
    assert metrics.uses == 3
    assert metrics.unique_customers == 2
    assert metrics.total_discounted == Decimal("39.00")
    assert metrics.revenue == Decimal("351.00")
    assert metrics.avg_order_value == Decimal("117.00")


def test_metrics_before_the_first_use_are_zero_and_no_average(scoped):
    metrics = selectors.get_promo_metrics(promo=make_promo("New"))
    assert (metrics.uses, metrics.unique_customers, metrics.total_discounted) == (0, 0, Decimal("0"))
    assert metrics.avg_order_value is None


@pytest.mark.parametrize("uses", [3, 30])
def test_metrics_take_one_query_whatever_the_number_of_redemptions(scoped, uses):
    promo = make_promo("Busy", code="BUSY")
    patients = [PatientFactory() for _ in range(3)]
    for i in range(uses):
        redeem(promo, patients[i % 3], subtotal="50.00", discount="5.00")
    with CaptureQueriesContext(connection) as captured:
        metrics = selectors.get_promo_metrics(promo=promo)
    assert metrics.uses == uses
    assert len(captured) == 1


def test_comparison_ratios_and_dashes_where_undefined(scoped):
    # given a promo with a cost and uses, one with uses and no cost, and one never used
    costed = make_promo("Costed", marketing_cost=Decimal("200.00"))
    free = make_promo("Uncosted")
    idle = make_promo("Idle", marketing_cost=Decimal("50.00"))
    ann, bob = PatientFactory(), PatientFactory()
    redeem(costed, ann, subtotal="100.00", discount="20.00")
    redeem(costed, ann, subtotal="100.00", discount="20.00")
    redeem(costed, bob, subtotal="100.00", discount="20.00")
    redeem(free, bob, subtotal="60.00", discount="6.00")

    rows = {r.promo.name: r for r in selectors.list_promo_comparison()}

    # then uses ÷ cost = 3 / 200, discount ÷ revenue = 60 / 240, uses ÷ customers = 3 / 2
    assert rows["Costed"].uses_per_cost == Decimal("0.0150")
    assert rows["Costed"].discount_to_revenue == Decimal("0.2500")
    assert rows["Costed"].unique_customer_ratio == Decimal("1.50")
    assert rows["Costed"].cost_per_use == Decimal("66.67")
    # and a promo without a cost or without uses gets None, shown as "–"
    assert rows["Uncosted"].uses_per_cost is None
    assert rows["Uncosted"].discount_to_revenue == Decimal("0.1111")
    assert rows["Idle"].uses_per_cost == Decimal("0")
    assert rows["Idle"].discount_to_revenue is None and rows["Idle"].unique_customer_ratio is None
    assert costed.pk and idle.pk


def test_comparison_sorts_undefined_ratios_last_either_way(scoped):
    a = make_promo("A", marketing_cost=Decimal("10"))
    b = make_promo("B", marketing_cost=Decimal("100"))
    make_promo("C")
    patient = PatientFactory()
    for promo in (a, b):
        redeem(promo, patient, subtotal="10.00", discount="1.00")
    down = [r.promo.name for r in selectors.list_promo_comparison(sort="-uses_per_cost")]
    up = [r.promo.name for r in selectors.list_promo_comparison(sort="uses_per_cost")]
    assert down == ["A", "B", "C"]
    assert up == ["B", "A", "C"]


def test_comparison_takes_two_queries_whatever_the_ledger_size(scoped):
    patient = PatientFactory()
    for i in range(4):
        promo = make_promo(f"P{i}")
        for _ in range(i * 3):
            redeem(promo, patient, subtotal="10.00", discount="1.00")
    with CaptureQueriesContext(connection) as captured:
        rows = selectors.list_promo_comparison()
    assert len(rows) == 4
    assert len(captured) == 2


def test_portfolio_buckets_uses_by_day_in_the_clinics_timezone(scoped):
    # given a use at 23:30 London time on 1 June (22:30 UTC) and two on 3 June
    promo = make_promo("Summer")
    other = make_promo("Other")
    patient = PatientFactory()
    redeem(promo, patient, subtotal="100.00", discount="10.00", when=datetime(2026, 6, 1, 23, 30, tzinfo=LONDON))
    redeem(promo, patient, subtotal="50.00", discount="5.00", when=datetime(2026, 6, 3, 9, 0, tzinfo=LONDON))
    redeem(other, patient, subtotal="80.00", discount="8.00", when=datetime(2026, 6, 3, 18, 0, tzinfo=LONDON))
    # and one outside the range
    redeem(promo, patient, subtotal="70.00", discount="7.00", when=datetime(2026, 6, 5, 0, 30, tzinfo=LONDON))

    portfolio = selectors.get_promo_portfolio(start=date(2026, 6, 1), end=date(2026, 6, 4))

    by_day = {d.day: (d.uses, d.discount, d.revenue) for d in portfolio.days}
    assert by_day == {
        date(2026, 6, 1): (1, Decimal("10.00"), Decimal("90.00")),
        date(2026, 6, 2): (0, Decimal("0"), Decimal("0")),
        date(2026, 6, 3): (2, Decimal("13.00"), Decimal("117.00")),
        date(2026, 6, 4): (0, Decimal("0"), Decimal("0")),
    }
    assert (portfolio.uses, portfolio.discount, portfolio.revenue) == (3, Decimal("23.00"), Decimal("207.00"))
    assert [(p.name, p.uses) for p in portfolio.by_promo] == [("Summer", 2), ("Other", 1)]
    assert portfolio.series("uses")[0] == (date(2026, 6, 1), 1)
