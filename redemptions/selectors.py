"""Reads on the redemption ledger: who redeemed a promotion, the clinic-wide counts, and offer responses
(OFF-9, CORE-5, RED-3, RED-4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from redemptions.choices import RedemptionStatus, ResponseSource, ResponseStatus
from redemptions.models import OfferResponse, PromotionTally, Redemption, ResponseTransition
from redemptions.registry import kind_key_of, kind_label


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


RESPONSE_CSV_COLUMNS = ["Offer", "Title", "Type", "Patient", "E-mail", "External id", "Certificate code", "Status",
                        "Usage from", "Usage until", "Created", "Response id"]


def iter_response_csv_rows(*, queryset: QuerySet[OfferResponse]):
    """Responses as CSV rows in the queryset's order, read in chunks; times in the active time zone."""
    yield RESPONSE_CSV_COLUMNS
    for r in queryset.select_related("patient").iterator(chunk_size=2000):
        yield [r.promotion_name, r.title, kind_label(kind_key_of(r.promotion_key)), r.patient.full_name,
               r.patient.email, r.patient.external_id or "", r.certificate_code, r.get_status_display(),
               r.usage_from.isoformat() if r.usage_from else "", r.usage_until.isoformat() if r.usage_until else "",
               timezone.localtime(r.created_at).isoformat(timespec="seconds"), r.pk]


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


# --- redemption rates (RED-7) ------------------------------------------------------------------------

@dataclass(frozen=True)
class PromotionCounts:
    """A promotion's assigned and redeemed patients, its redemptions and what they brought in."""

    assigned: int = 0
    redeemed: int = 0
    redemptions: int = 0
    revenue: Decimal = Decimal("0")
    discount: Decimal = Decimal("0")

    @property
    def rate(self) -> Decimal | None:
        """Redeemed ÷ assigned as a percentage; None ("–") while no redemption has been reported."""
        if not self.redemptions or not self.assigned:
            return None
        return Decimal(self.redeemed) * 100 / self.assigned

    def __add__(self, other: PromotionCounts) -> PromotionCounts:
        return PromotionCounts(self.assigned + other.assigned, self.redeemed + other.redeemed,
                               self.redemptions + other.redemptions, self.revenue + other.revenue,
                               self.discount + other.discount)


_SUMS = {"assigned": Sum("assigned"), "redeemed": Sum("redeemed"), "redemptions": Sum("redemptions"),
         "revenue": Sum("revenue"), "discount": Sum("discount")}


def _counts(row: dict) -> PromotionCounts:
    return PromotionCounts(assigned=row["assigned"] or 0, redeemed=row["redeemed"] or 0,
                           redemptions=row["redemptions"] or 0, revenue=row["revenue"] or Decimal("0"),
                           discount=row["discount"] or Decimal("0"))


def count_promotions() -> dict[str, PromotionCounts]:
    """Every promotion's counts in the clinic in scope, by promotion id, in one query."""
    rows = PromotionTally.objects.order_by().values("promotion_key").annotate(**_SUMS)
    return {row["promotion_key"]: _counts(row) for row in rows}


def count_promotion(*, promotion_key: str) -> PromotionCounts:
    return _counts(PromotionTally.objects.filter(promotion_key=promotion_key).order_by().aggregate(**_SUMS))


@dataclass(frozen=True)
class PromotionBreakdown:
    """One promotion's counts, and the same split four ways; each split sums to `total` (RED-7)."""

    total: PromotionCounts
    by_day: list[tuple[date, PromotionCounts]]
    by_segment: list[tuple[str, PromotionCounts]]
    by_channel: list[tuple[str, PromotionCounts]]  # where redemptions were made; "" for assignments
    by_tier: list[tuple[str, PromotionCounts]]


def get_promotion_breakdown(*, promotion_key: str) -> PromotionBreakdown:
    """The breakdown behind a redemption rate: the total, and by day, RFM segment, channel and tier.

    Five small grouped queries, each summed by PostgreSQL, so the work does not grow with the number
    of tally rows a long-running or tiered promotion has.
    """
    rows = PromotionTally.objects.filter(promotion_key=promotion_key).order_by()

    def split(dimension: str) -> dict:
        return {row[dimension]: _counts(row) for row in rows.values(dimension).annotate(**_SUMS)}

    def ordered(found: dict) -> list:
        return sorted(found.items(), key=lambda pair: (-pair[1].redemptions, -pair[1].assigned, str(pair[0])))

    return PromotionBreakdown(total=_counts(rows.aggregate(**_SUMS)), by_day=sorted(split("day").items()),
                              by_segment=ordered(split("segment")), by_channel=ordered(split("channel")),
                              by_tier=sorted(split("tier").items()))


def count_rewards_unlocked(*, start: date, end: date) -> int:
    """Rewards Unlocked: redemptions applied across the clinic's promotions, by the clinic's dates (CORE-5)."""
    row = PromotionTally.objects.filter(day__gte=start, day__lte=end).order_by().aggregate(n=Sum("redemptions"))
    return row["n"] or 0


def get_clinic_redemption_rate() -> Decimal | None:
    """Redeemed ÷ assigned across all the clinic's promotions to date, as a percentage; None before any."""
    return _counts(PromotionTally.objects.order_by().aggregate(**_SUMS)).rate


def count_claimed(*, promotion_key: str) -> int:
    """Patients who took a promotion up in the app: claimed a response to it, clipped one given to them, or
    tapped Redeem on it (a pending redemption, or one applied at the till after it was made pending)."""
    taken_up = Q(source=ResponseSource.CLAIM) | Q(status__in=[
        ResponseStatus.CLIPPED, ResponseStatus.PROCESSING, ResponseStatus.SHIPPING, ResponseStatus.COMPLETED])
    responders = OfferResponse.objects.filter(taken_up, promotion_key=promotion_key).values("patient_id")
    # A redemption recorded applied at once has its applied moment set just before it is created.
    tapped = Q(status=RedemptionStatus.PENDING) | Q(status=RedemptionStatus.APPLIED, applied_at__gt=F("created_at"))
    tappers = Redemption.objects.filter(tapped, promotion_key=promotion_key).values("patient_id")
    return responders.order_by().union(tappers.order_by()).count()
