"""Reads on the redemption ledger: who redeemed a promotion, the clinic-wide counts, and offer responses
(OFF-9, CORE-5, RED-3, RED-4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from redemptions.choices import RedemptionStatus, ResponseStatus
from redemptions.models import OfferResponse, Redemption, ResponseTransition


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


# --- offer responses (RED-1 … RED-4) ------------------------------------------------------------------

USAGE_PERIODS = ("current", "passed")


def list_responses(*, today: date, status: str = "", promotion_key: str = "", promotion_kind: str = "",
                   patient_id: int | None = None, code: str = "", usage_period: str = "",
                   ordering: str = "-created_at") -> QuerySet[OfferResponse]:
    """The clinic's offer responses (in scope) with their patient, filtered as the screens and the
    staff API filter them (RED-3); `today` is the clinic's date for the usage period."""
    queryset = OfferResponse.objects.select_related("patient")
    if status:
        queryset = queryset.filter(status=status)
    if promotion_key:
        queryset = queryset.filter(promotion_key=promotion_key)
    if promotion_kind:
        queryset = queryset.filter(promotion_kind=promotion_kind)
    if patient_id is not None:
        queryset = queryset.filter(patient_id=patient_id)
    if code:
        queryset = queryset.filter(certificate_code__iexact=code.strip())
    current = (Q(usage_from__isnull=True) | Q(usage_from__lte=today)) & (
        Q(usage_until__isnull=True) | Q(usage_until__gte=today))
    if usage_period == "current":
        queryset = queryset.filter(current)
    elif usage_period == "passed":
        queryset = queryset.filter(usage_until__lt=today)
    order = {"-created_at": ("-created_at", "-id"), "created_at": ("created_at", "id"),
             "status": ("status", "-created_at", "-id"), "usage_until": ("usage_until", "-id"),
             "patient": ("patient__last_name", "patient__first_name", "-id")}[ordering]
    return queryset.order_by(*order)


def list_usable_responses(*, patient_id: int, today: date) -> QuerySet[OfferResponse]:
    """A patient's responses the point of sale can complete now: ready (clipped where the offer asks
    for it), not shipped, inside the usage period and not past expiry (RED-4)."""
    ready = Q(status=ResponseStatus.CLIPPED) | Q(status=ResponseStatus.PENDING, clip_required=False)
    return (list_responses(today=today, patient_id=patient_id, usage_period="current")
            .filter(ready, ships=False).exclude(expires_at__lte=timezone.now()).order_by("usage_until", "id"))


def get_response(*, response_id: int) -> OfferResponse | None:
    return OfferResponse.objects.select_related("patient").filter(pk=response_id).first()


def list_response_history(*, responses) -> dict[int, list[ResponseTransition]]:
    """Each response's transitions, oldest first, in one query for a page of responses."""
    history: dict[int, list[ResponseTransition]] = {r.pk: [] for r in responses}
    for row in ResponseTransition.objects.filter(response_id__in=list(history)).order_by("created_at", "id"):
        history[row.response_id].append(row)
    return history


@dataclass(frozen=True)
class PromotionHeading:
    key: str
    name: str
    kind: str


def describe_promotion(*, promotion_key: str) -> PromotionHeading | None:
    """The name a promotion had on its latest response, for a heading of its responses."""
    row = (OfferResponse.objects.filter(promotion_key=promotion_key).order_by("-created_at", "-id")
           .values_list("promotion_name", flat=True).first())
    if row is None:
        return None
    return PromotionHeading(key=promotion_key, name=row, kind=promotion_key.rpartition("_")[0])
