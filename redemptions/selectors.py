"""Reads on the redemption ledger: who redeemed a promotion, and the clinic-wide counts (OFF-9, CORE-5)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from redemptions.choices import RedemptionStatus
from redemptions.models import Redemption


@dataclass(frozen=True)
class PromotionRedemptionTotals:
    redemptions: int
    applied: int
    pending: int
    discount_given: Decimal
    revenue: Decimal  # the totals of the orders the promotion was applied to


def list_promotion_redemptions(*, promotion_key: str, status: str | None = None) -> QuerySet[Redemption]:
    """Who redeemed one promotion, when, on which order, with the discount and the order's revenue (OFF-9).

    Patient and order come in the same query, so a page of rows costs one query however long it is.
    """
    queryset = (Redemption.objects.filter(promotion_key=promotion_key)
                .select_related("patient", "order").order_by("-created_at", "-id"))
    if status is not None:
        queryset = queryset.filter(status=status)
    return queryset


def get_promotion_redemption_totals(*, promotion_key: str) -> PromotionRedemptionTotals:
    """Totals of one promotion's redemptions in a single query (OFF-9)."""
    applied = Q(status=RedemptionStatus.APPLIED)
    row = Redemption.objects.filter(promotion_key=promotion_key).order_by().aggregate(
        redemptions=Count("id"),
        applied=Count("id", filter=applied),
        pending=Count("id", filter=Q(status=RedemptionStatus.PENDING)),
        discount=Sum("discount_amount", filter=applied),
        revenue=Sum("order__total", filter=applied),
    )
    return PromotionRedemptionTotals(
        redemptions=row["redemptions"], applied=row["applied"], pending=row["pending"],
        discount_given=row["discount"] or Decimal("0"), revenue=row["revenue"] or Decimal("0"),
    )


def count_applied_redemptions() -> int:
    """Rewards Unlocked: every redemption applied across the clinic in scope, of every kind (CORE-5)."""
    return Redemption.objects.filter(status=RedemptionStatus.APPLIED).count()
