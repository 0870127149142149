"""The redemption ledger as the promo reads count it: applied promo redemptions, and the discount and
revenue of each, shared by the detail page, the comparison and the portfolio (PRO-4, PRO-7, PRO-8)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import DecimalField, QuerySet, Value
from django.db.models.functions import Coalesce

from redemptions.choices import RedemptionStatus
from redemptions.models import Redemption

ZERO = Decimal("0.00")
PROMO_KEY_PREFIX = "promo_"
MONEY = DecimalField(max_digits=14, decimal_places=2)


def _applied() -> QuerySet[Redemption]:
    """Applied promo redemptions: what the ledger counts as a use (pending ones may never reach an order)."""
    return Redemption.objects.filter(status=RedemptionStatus.APPLIED, promotion_key__startswith=PROMO_KEY_PREFIX) \
        .order_by()


# The ledger row's own discount is the truth; older rows without one fall back to their order's snapshot.
_DISCOUNT = Coalesce("discount_amount", Value(ZERO), output_field=MONEY)
_REVENUE = Coalesce("order_total", Value(ZERO), output_field=MONEY)
