"""Reads across promos: the comparison side by side (PRO-7) and the portfolio over time (PRO-8), each
summed from the ledger in a few queries whatever its size."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from promos.filters import expired_q
from promos.models import Promo
from promos.selectors.ledger import _DISCOUNT, _REVENUE, ZERO, _applied


# ---- Comparison (PRO-7) --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ComparisonRow:
    promo: Promo
    expired: bool
    uses: int
    unique_customers: int
    total_discounted: Decimal
    revenue: Decimal
    # None where the ratio is undefined: no marketing cost, no revenue, no uses.
    uses_per_cost: Decimal | None
    discount_to_revenue: Decimal | None
    unique_customer_ratio: Decimal | None

    @property
    def discount_percent(self) -> Decimal | None:
        return None if self.discount_to_revenue is None else self.discount_to_revenue * 100

    @property
    def cost_per_use(self) -> Decimal | None:
        if not self.promo.marketing_cost or not self.uses:
            return None
        return (self.promo.marketing_cost / self.uses).quantize(Decimal("0.01"))


COMPARISON_SORTS = {
    "name": "Name", "uses": "Uses", "cost_per_use": "Cost per use", "uses_per_cost": "Uses per unit of cost",
    "discount_to_revenue": "Discount ÷ revenue", "unique_customer_ratio": "Uses per patient",
    "total_discounted": "Discount given", "revenue": "Revenue",
}
# The table's columns in order. Uses per unit of cost (PRO-7) is the small print under Cost per use,
# which says the same thing the way staff budget: in money per redemption.
COMPARISON_COLUMNS = ("name", "uses", "cost_per_use", "discount_to_revenue", "unique_customer_ratio",
                      "total_discounted", "revenue")
# A first click sorts these ascending: names A–Z, and the cheapest use first.
ASCENDING_FIRST = {"name", "cost_per_use"}


def _ratio(numerator, denominator, places: str = "0.0001") -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(places))


def list_promo_comparison(*, sort: str = "-uses", include_archived: bool = True,
                          now: datetime | None = None) -> list[ComparisonRow]:
    """Every promo side by side with the ratios PRO-7 names, in two queries whatever the ledger's size.

    Undefined ratios are None and always sort last, in either direction, so "–" never tops a ranking.
    """
    now = now or timezone.now()
    promos = Promo.objects.all()
    if not include_archived:
        promos = promos.exclude(status="archived")
    stats = {
        row["promotion_key"]: row
        for row in _applied().values("promotion_key").annotate(
            uses=Count("id"), customers=Count("patient_id", distinct=True),
            discounted=Sum(_DISCOUNT), revenue=Sum(_REVENUE),
        )
    }
    rows = []
    for promo in promos:
        s = stats.get(promo.promotion_key, {})
        uses, customers = s.get("uses", 0), s.get("customers", 0)
        discounted, revenue = s.get("discounted") or ZERO, s.get("revenue") or ZERO
        rows.append(ComparisonRow(
            promo=promo, expired=promo.is_expired(now), uses=uses, unique_customers=customers,
            total_discounted=discounted, revenue=revenue,
            uses_per_cost=_ratio(uses, promo.marketing_cost),
            discount_to_revenue=_ratio(discounted, revenue) if uses else None,
            unique_customer_ratio=_ratio(uses, customers, "0.01"),
        ))
    return sort_comparison(rows, sort)


def sort_comparison(rows: list[ComparisonRow], sort: str) -> list[ComparisonRow]:
    """Sort by one column; "-" first means descending. Unknown columns fall back to most used first."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in COMPARISON_SORTS:
        key, descending = "uses", True
    if key == "name":
        return sorted(rows, key=lambda r: r.promo.name.lower(), reverse=descending)
    defined = [r for r in rows if getattr(r, key) is not None]
    undefined = [r for r in rows if getattr(r, key) is None]
    defined.sort(key=lambda r: (getattr(r, key), r.promo.name.lower()), reverse=descending)
    return defined + sorted(undefined, key=lambda r: r.promo.name.lower())


# ---- Portfolio over time (PRO-8) -----------------------------------------------------------------------------

@dataclass(frozen=True)
class PortfolioDay:
    day: date
    uses: int
    discount: Decimal
    revenue: Decimal


@dataclass(frozen=True)
class PortfolioPromo:
    promo_id: int
    name: str
    uses: int
    discount: Decimal
    revenue: Decimal


@dataclass(frozen=True)
class Portfolio:
    start: date
    end: date
    days: list[PortfolioDay]
    uses: int
    unique_customers: int
    discount: Decimal
    revenue: Decimal
    previous_uses: int
    by_promo: list[PortfolioPromo]
    live_promos: int

    @property
    def discount_to_revenue(self) -> Decimal | None:
        return _ratio(self.discount, self.revenue) if self.uses else None

    @property
    def discount_percent(self) -> Decimal | None:
        ratio = self.discount_to_revenue
        return None if ratio is None else ratio * 100

    def series(self, metric: str) -> list[tuple[date, Decimal | int]]:
        return [(d.day, getattr(d, metric)) for d in self.days]


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return datetime.combine(start, time.min, tz), datetime.combine(end + timedelta(days=1), time.min, tz)


def get_promo_portfolio(*, start: date, end: date, now: datetime | None = None) -> Portfolio:
    """All promos' uses, discount given and revenue per day over [start, end] in the clinic's timezone (PRO-8).

    A use is dated when it was applied to an order. Four queries, however many days or redemptions.
    """
    now = now or timezone.now()
    lower, upper = _bounds(start, end)
    when = Coalesce("applied_at", "created_at")
    in_range = _applied().annotate(when=when).filter(when__gte=lower, when__lt=upper)
    # TruncDate uses the active timezone, which clinic_view sets to the clinic's.
    per_day = {
        row["day"]: row for row in in_range.annotate(day=TruncDate("when")).values("day").annotate(
            uses=Count("id"), discount=Sum(_DISCOUNT), revenue=Sum(_REVENUE))
    }
    span = (end - start).days + 1
    days = []
    for offset in range(span):
        day = start + timedelta(days=offset)
        row = per_day.get(day, {})
        days.append(PortfolioDay(day=day, uses=row.get("uses", 0), discount=row.get("discount") or ZERO,
                                 revenue=row.get("revenue") or ZERO))
    totals = in_range.aggregate(customers=Count("patient_id", distinct=True))
    prev_lower, prev_upper = _bounds(start - timedelta(days=span), start - timedelta(days=1))
    previous = _applied().annotate(when=when).filter(when__gte=prev_lower, when__lt=prev_upper).count()
    names = dict(Promo.objects.values_list("id", "name"))
    by_promo = sorted(
        (PortfolioPromo(promo_id=row["promotion_id"], name=names.get(row["promotion_id"], "Deleted promo"),
                        uses=row["uses"], discount=row["discount"] or ZERO, revenue=row["revenue"] or ZERO)
         for row in in_range.values("promotion_id").annotate(
            uses=Count("id"), discount=Sum(_DISCOUNT), revenue=Sum(_REVENUE))),
        key=lambda p: (-p.uses, p.name.lower()),
    )
    live = Promo.objects.filter(status="active").exclude(expired_q(now)).count()
    return Portfolio(
        start=start, end=end, days=days,
        uses=sum(d.uses for d in days), unique_customers=totals["customers"],
        discount=sum((d.discount for d in days), ZERO), revenue=sum((d.revenue for d in days), ZERO),
        previous_uses=previous, by_promo=by_promo, live_promos=live,
    )
