"""Overview metrics for the main dashboard (CORE-5), computed from rows in the clinic in scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from clinic_crm.common.choices import DiscountSource
from clinic_crm.orders.models import Order
from clinic_crm.patients.models import Patient
from redemptions.registry import count_active_promotions
from redemptions.selectors import count_rewards_unlocked, get_clinic_redemption_rate


@dataclass(frozen=True)
class Overview:
    start: date
    end: date
    revenue: Decimal
    previous_revenue: Decimal
    orders: int
    discount_given: Decimal
    rewards_unlocked: int  # ledger redemptions applied in the period, of every kind and channel
    redemption_rate: Decimal | None  # redeemed ÷ assigned across the clinic's promotions, to date
    rewarded_orders: int  # orders in the period with an offer, promo or card discount
    new_patients: int
    patients: int
    active_promotions: int
    daily: list[tuple[date, Decimal, int]]
    by_source: list[tuple[str, int, Decimal]]


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return datetime.combine(start, time.min, tz), datetime.combine(end + timedelta(days=1), time.min, tz)


def get_overview(*, start: date, end: date) -> Overview:
    """Revenue, discounts, Rewards Unlocked and activity for [start, end] in the clinic's timezone (CORE-5).

    Rewards Unlocked and the redemption rate come from the redemption ledger's tallies (RED-7), so
    they count redemptions reported by the clinic's systems as well as those made here.
    """
    lower, upper = _bounds(start, end)
    orders = Order.objects.filter(placed_at__gte=lower, placed_at__lt=upper).order_by()
    totals = orders.aggregate(
        revenue=Sum("total"), orders=Count("id"), discount=Sum("discount_amount"),
        rewarded=Count("id", filter=~Q(discount_source=DiscountSource.NONE)),
    )
    span = (end - start).days + 1
    prev_lower, prev_upper = _bounds(start - timedelta(days=span), start - timedelta(days=1))
    previous = Order.objects.filter(placed_at__gte=prev_lower, placed_at__lt=prev_upper).order_by().aggregate(
        revenue=Sum("total")
    )
    per_day = {
        row["day"]: (row["revenue"], row["n"])
        for row in orders.annotate(day=TruncDate("placed_at")).values("day").annotate(revenue=Sum("total"), n=Count("id"))
    }
    daily = [
        (day, per_day.get(day, (Decimal("0"), 0))[0] or Decimal("0"), per_day.get(day, (None, 0))[1])
        for day in (start + timedelta(days=i) for i in range(span))
    ]
    labels = dict(DiscountSource.choices)
    by_source = [
        (labels[row["discount_source"]], row["n"], row["saved"] or Decimal("0"))
        for row in orders.exclude(discount_source=DiscountSource.NONE).values("discount_source")
        .annotate(n=Count("id"), saved=Sum("discount_amount")).order_by("-n")
    ]
    order_count = totals["orders"]
    return Overview(
        start=start, end=end,
        revenue=totals["revenue"] or Decimal("0"), previous_revenue=previous["revenue"] or Decimal("0"),
        orders=order_count, discount_given=totals["discount"] or Decimal("0"),
        rewards_unlocked=count_rewards_unlocked(start=start, end=end),
        redemption_rate=get_clinic_redemption_rate(),
        rewarded_orders=totals["rewarded"],
        new_patients=Patient.objects.filter(created_at__gte=lower, created_at__lt=upper).count(),
        patients=Patient.objects.count(),
        active_promotions=count_active_promotions(),
        daily=daily, by_source=by_source,
    )


def list_upcoming_birthdays(*, today: date, days: int = 14, limit: int = 8) -> list[tuple[Patient, date]]:
    """Patients whose birthday falls in the next `days` days, soonest first."""
    wanted = {(d.month, d.day) for d in (today + timedelta(days=i) for i in range(days))}
    months = {m for m, _ in wanted}
    found = []
    for patient in Patient.objects.filter(date_of_birth__month__in=months).only(
        "id", "first_name", "last_name", "date_of_birth", "clinic_id"
    ):
        dob = patient.date_of_birth
        if (dob.month, dob.day) in wanted:
            year = today.year + (1 if (dob.month, dob.day) < (today.month, today.day) else 0)
            try:
                next_birthday = dob.replace(year=year)
            except ValueError:  # 29 February in a common year
                next_birthday = date(year, 3, 1)
            found.append((patient, next_birthday))
    found.sort(key=lambda pair: pair[1])
    return found[:limit]
