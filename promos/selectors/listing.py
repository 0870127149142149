"""Reads for the promo list: its FilterSet, segment counts and rows (PRO-6), and the discount wording the
list, the detail page and the activity log share ("5–10% Off from £100.00", PRO-1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Subquery
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from clinic_crm.common.choices import DiscountType
from clinic_crm.common.models import discount_label
from clinic_crm.common.money import format_money
from promos.choices import PromoKind, PromoStatus
from promos.filters import SEGMENTS, PromoFilter, segment_q
from promos.models import Promo, PromoCode, PromoTier
from redemptions.registry import PromotionInfo


# ---- List (PRO-6) ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Segment:
    key: str
    label: str
    count: int


@dataclass(frozen=True)
class PromoRow:
    promo: Promo
    code: str  # the shared code, or "" for personalised promos
    code_count: int
    discount_label: str
    expired: bool
    scheduled: bool = False  # active, before its start

    @property
    def badge(self) -> str:
        # Archived is listed under Expired (PRO-2) but badged for what it is: final, never re-activated.
        if self.promo.status == PromoStatus.ARCHIVED:
            return PromoStatus.ARCHIVED
        return "expired" if self.expired else "scheduled" if self.scheduled else self.promo.status

    @property
    def badge_label(self) -> str:
        if self.promo.status == PromoStatus.ARCHIVED:
            return PromoStatus.ARCHIVED.label
        return "Expired" if self.expired else "Scheduled" if self.scheduled else self.promo.get_status_display()


@dataclass(frozen=True)
class PromoList:
    filter: PromoFilter
    rows: list[PromoRow]
    segments: list[Segment]
    segment: str
    searching: bool


def list_promos(*, data: QueryDict | dict | None = None, now: datetime | None = None) -> PromoFilter:
    """The clinic's promos through the list's FilterSet: segment, search and sort (PRO-6)."""
    return PromoFilter(data or None, queryset=Promo.objects.all(), now=now)


def count_promo_segments(*, search: str = "", now: datetime | None = None) -> list[Segment]:
    """How many promos each segment holds, for the current search, in one query (PRO-6)."""
    now = now or timezone.now()
    base = list_promos(data={"q": search} if search else None, now=now).qs.order_by()
    counts = base.aggregate(**{
        (key or "all"): Count("id", filter=segment_q(key, now)) if key else Count("id") for key, _ in SEGMENTS
    })
    return [Segment(key=key, label=label, count=counts[key or "all"]) for key, label in SEGMENTS]


def list_promo_rows(*, data: QueryDict | dict | None, currency: str, now: datetime | None = None) -> PromoList:
    """The list page: filtered, sorted rows with their code and derived status, plus segment counts (PRO-6)."""
    now = now or timezone.now()
    promo_filter = list_promos(data=data, now=now)
    first_code = PromoCode.objects.filter(promo=OuterRef("pk"), patient__isnull=True).order_by("id").values("code")[:1]
    code_count = PromoCode.objects.filter(promo=OuterRef("pk")).order_by().values("promo") \
        .annotate(n=Count("id")).values("n")
    promos = promo_filter.qs.annotate(
        first_code=Subquery(first_code),
        code_count=Coalesce(Subquery(code_count, output_field=IntegerField()), 0),
    ).prefetch_related(Prefetch("tiers", queryset=PromoTier.objects.order_by("min_order")))  # tiered labels
    rows = [
        PromoRow(promo=p, code=p.first_code or "", code_count=p.code_count,
                 discount_label=_discount_label(p, currency), expired=p.is_expired(now),
                 scheduled=p.is_scheduled(now))
        for p in promos
    ]
    form = promo_filter.form
    search = (form.cleaned_data.get("q") or "") if form.is_valid() else ""
    segment = (form.cleaned_data.get("status") or "") if form.is_valid() else ""
    return PromoList(filter=promo_filter, rows=rows, segments=count_promo_segments(search=search, now=now),
                     segment=segment, searching=bool(search))


PROMO_CSV_COLUMNS = ["Promo", "Kind", "Code", "Personal codes", "Discount", "Minimum order", "Status", "Starts",
                     "Ends", "Uses", "Max uses", "Max uses per patient", "Redemption rate (%)", "Currency",
                     "Promotion id"]


def promo_csv_rows(listing: PromoList, *, rates: dict, currency: str):
    """The promo list as shown (segment, search and sort) for a CSV download; dates in the active time zone."""
    yield PROMO_CSV_COLUMNS
    for row in listing.rows:
        promo = row.promo
        rate = rates.get(promo.promotion_key)
        rate = "" if rate is None or rate.rate is None else f"{rate.rate:.1f}"
        yield [promo.name, promo.get_kind_display(), row.code, row.code_count if not row.code else "",
               row.discount_label, f"{promo.min_order:.2f}" if promo.min_order else "", row.badge_label,
               _local_minute(promo.starts_at), _local_minute(promo.ends_at), promo.uses, promo.max_uses or "",
               promo.max_uses_per_customer or "", rate, currency, promo.promotion_key]


def _local_minute(value: datetime | None) -> str:
    return timezone.localtime(value).isoformat(timespec="minutes") if value else ""


def _discount_label(promo: Promo, currency: str) -> str:
    """The promo's discount in a few words; a tiered one's from its (prefetched) tiers."""
    if promo.kind == PromoKind.TIERED:
        return tier_range_label(list(promo.tiers.all()), currency)
    return promo.discount_label_in(currency)


# ---- Discount wording (PRO-1) -----------------------------------------------------------------------------

def _percent(value: Decimal) -> str:
    return f"{Decimal(value).normalize():f}"


def discount_amount_text(discount_type: str, value, currency: str) -> str:
    """A discount's size without "Off": "20%", "£20.00" or "Free Treatment" (PRO-1, PRO-5)."""
    if discount_type == DiscountType.FREE_TREATMENT:
        return discount_label(discount_type, None, currency)
    if value is None or value == "":
        return "–"
    value = Decimal(str(value))
    return f"{_percent(value)}%" if discount_type == DiscountType.PERCENT else format_money(value, currency)


def _tier_terms(tier) -> tuple[Decimal, str, Decimal | None]:
    """A tier as (threshold, type, value), from a PromoTier row or a logged dict."""
    if isinstance(tier, dict):
        value = tier.get("discount_value")
        return (Decimal(str(tier.get("min_order") or 0)), tier.get("discount_type") or "",
                Decimal(str(value)) if value not in (None, "") else None)
    return tier.min_order, tier.discount_type, tier.discount_value


def tier_summary(tiers, currency: str) -> str:
    """Every tier of a tiered promo: "5% Off from £100.00 · 10% Off from £250.00" (PRO-1)."""
    terms = sorted((_tier_terms(t) for t in tiers), key=lambda t: t[0])
    if not terms:
        return "No tiers yet"
    return " · ".join(f"{discount_label(kind, value, currency)} from {format_money(floor, currency)}"
                      for floor, kind, value in terms)


def tier_range_label(tiers, currency: str) -> str:
    """A tiered promo's discount for a list cell: "5–10% Off from £100.00", from its lowest threshold (PRO-1).

    Tiers of one kind give the span of their values; mixed tiers give the entry tier's and the top
    tier's ("5% to £50.00 Off from £100.00"), since a percentage and an amount have no common order.
    """
    terms = sorted((_tier_terms(t) for t in tiers), key=lambda t: t[0])
    if not terms:
        return "No tiers yet"
    if any(kind not in (DiscountType.PERCENT, DiscountType.AMOUNT) or value is None for _, kind, value in terms):
        return tier_summary(tiers, currency)
    floor = format_money(terms[0][0], currency)
    kinds = {kind for _, kind, _ in terms}
    if len(kinds) == 1:
        kind = kinds.pop()
        low, high = min(v for _, _, v in terms), max(v for _, _, v in terms)
        if low == high:
            span = discount_amount_text(kind, low, currency)
        elif kind == DiscountType.PERCENT:
            span = f"{_percent(low)}–{_percent(high)}%"
        else:
            span = f"{format_money(low, currency)}–{format_money(high, currency)}"
    else:
        (_, first_kind, first_value), (_, last_kind, last_value) = terms[0], terms[-1]
        span = (f"{discount_amount_text(first_kind, first_value, currency)} to "
                f"{discount_amount_text(last_kind, last_value, currency)}")
    return f"{span} Off from {floor}"


# ---- As promotions (RED-6, RED-7) ---------------------------------------------------------------------

def _promo_promotion(promo: Promo, clinic, now: datetime) -> PromotionInfo:
    row = PromoRow(promo=promo, code="", code_count=0, discount_label=_discount_label(promo, clinic.currency),
                   expired=promo.is_expired(now), scheduled=promo.is_scheduled(now))
    return PromotionInfo(
        key=promo.promotion_key, kind="promo", id=promo.pk, name=promo.name, type=promo.kind,
        status=row.badge_label, reporting_start=promo.created_at,
        url=reverse("promos:detail", args=[clinic.slug, promo.pk]), discount_type=promo.discount_type,
        discount_value=promo.discount_value, discount_label=row.discount_label,
        cap_used=promo.uses if promo.max_uses else None, cap_total=promo.max_uses,
        budget_used=promo.discounted if promo.budget else None, budget_total=promo.budget,
        tiers=tuple(f"{tier.min_order:.2f}" for tier in promo.tiers.all()))


def list_promo_promotions(*, clinic) -> list[PromotionInfo]:
    """The clinic's promos, newest first, as promotions (with their tiers in one more query)."""
    now = timezone.now()
    promos = Promo.objects.order_by("-created_at", "-id").prefetch_related(
        Prefetch("tiers", queryset=PromoTier.objects.order_by("min_order")))
    return [_promo_promotion(promo, clinic, now) for promo in promos]


def get_promo_promotion(*, clinic, promotion_id: int) -> PromotionInfo | None:
    promo = Promo.objects.filter(pk=promotion_id).prefetch_related(
        Prefetch("tiers", queryset=PromoTier.objects.order_by("min_order"))).first()
    return _promo_promotion(promo, clinic, timezone.now()) if promo else None
