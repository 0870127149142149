"""Reads for Marketing → Promos: the list and its segments, a promo's metrics and activity, the comparison
across promos and the portfolio over time (PRO-4, PRO-6, PRO-7, PRO-8).

Every figure comes from the redemption ledger (applied rows) and the orders they were applied to, summed
in SQL, so a page costs the same few queries whether a promo was used three times or thirty thousand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    F,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    prefetch_related_objects,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate
from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format

from clinic_crm.common.choices import DiscountType
from clinic_crm.common.models import discount_label
from clinic_crm.common.money import format_money
from clinic_crm.patients.models import Patient
from clinic_crm.patients.selectors import list_patients
from promos.choices import AppliesTo, Audience, PromoKind, PromoStatus
from promos.filters import SEGMENTS, PromoFilter, expired_q, segment_q
from promos.models import Promo, PromoActivity, PromoCode, PromoTier
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

    @property
    def badge(self) -> str:
        # Archived is listed under Expired (PRO-2) but badged for what it is: final, never re-activated.
        if self.promo.status == PromoStatus.ARCHIVED:
            return PromoStatus.ARCHIVED
        return "expired" if self.expired else self.promo.status

    @property
    def badge_label(self) -> str:
        if self.promo.status == PromoStatus.ARCHIVED:
            return PromoStatus.ARCHIVED.label
        return "Expired" if self.expired else self.promo.get_status_display()


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
                 discount_label=_discount_label(p, currency), expired=p.is_expired(now))
        for p in promos
    ]
    form = promo_filter.form
    search = (form.cleaned_data.get("q") or "") if form.is_valid() else ""
    segment = (form.cleaned_data.get("status") or "") if form.is_valid() else ""
    return PromoList(filter=promo_filter, rows=rows, segments=count_promo_segments(search=search, now=now),
                     segment=segment, searching=bool(search))


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


# ---- The patient app's promo banners (PRO-1) -------------------------------------------------------

def list_app_promos(*, now: datetime, starts_before: datetime) -> list[Promo]:
    """Promos the patient app shows as a banner or applies by itself, for the clinic in scope.

    Active promos flagged show-banner or auto-apply, with one shared code (global or tiered) and
    the audience "everyone" (the config is one body for every caller), that have not ended by
    `now` and start before `starts_before` (the end of the clinic's day). Each has `shared_code`
    and its tiers prefetched. Usage counters are not consulted: the config is cached, and
    validate answers "usage limit reached" once a cap is used up.
    """
    promos = list(
        Promo.objects.filter(status=PromoStatus.ACTIVE, audience=Audience.EVERYONE,
                             kind__in=[PromoKind.GLOBAL, PromoKind.TIERED])
        .filter(Q(show_banner=True) | Q(auto_apply=True))
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .filter(Q(starts_at__isnull=True) | Q(starts_at__lt=starts_before))
        .order_by(F("ends_at").asc(nulls_last=True), "-created_at", "-id")  # ending soonest first
    )
    if not promos:
        return []
    # The first shared code of each (global and tiered promos have exactly one).
    codes = dict(PromoCode.objects.filter(promo__in=promos, patient__isnull=True).order_by("-id")
                 .values_list("promo_id", "code"))
    listed = [promo for promo in promos if promo.pk in codes]
    for promo in listed:
        promo.shared_code = codes[promo.pk]
    prefetch_related_objects(listed, Prefetch("tiers", queryset=PromoTier.objects.order_by("min_order")))
    return listed


# ---- Detail (PRO-4, PRO-5) ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class PromoMetrics:
    uses: int
    unique_customers: int
    total_discounted: Decimal
    revenue: Decimal
    avg_order_value: Decimal | None  # None before the first use


def get_promo_metrics(*, promo: Promo) -> PromoMetrics:
    """Uses, unique customers, total discounted and average order value from the ledger, in one query (PRO-4)."""
    # Only columns of the redemption_clinic_metrics index, so PostgreSQL can answer from the index.
    row = _applied().filter(promotion_key=promo.promotion_key).aggregate(
        uses=Count("patient_id"),
        customers=Count("patient_id", distinct=True),
        discounted=Sum(_DISCOUNT),
        revenue=Sum(_REVENUE),
        orders=Count("order_total"),  # one order per applied redemption; no order, no total
    )
    revenue = row["revenue"] or ZERO
    return PromoMetrics(
        uses=row["uses"], unique_customers=row["customers"], total_discounted=row["discounted"] or ZERO,
        revenue=revenue,
        avg_order_value=(revenue / row["orders"]).quantize(Decimal("0.01")) if row["orders"] else None,
    )


@dataclass(frozen=True)
class TierLine:
    min_order: Decimal
    discount_label: str


@dataclass(frozen=True)
class PromoDetail:
    promo: Promo
    discount_label: str  # compact: "5–10% Off from £100.00" for a tiered promo
    discount_summary: str  # complete: every tier, "5% Off from £100.00 · 10% Off from £250.00"
    expired: bool
    tiers: list[TierLine]
    shared_code: str
    personal_codes: int
    audience_count: int
    window_start: str
    window_end: str

    @property
    def window(self) -> str:
        return f"{self.window_start} · {self.window_end}"

    @property
    def archived(self) -> bool:
        return self.promo.status == PromoStatus.ARCHIVED

    @property
    def status_text(self) -> str:
        """The Details panel's Status: the badge's word and why."""
        promo = self.promo
        if self.archived:
            return "Archived for good, listed under Expired"
        if self.expired:
            return f"Expired ({promo.get_status_display().lower()}, past its end)"
        return promo.get_status_display()


def _when(moment: datetime) -> str:
    # The active timezone is the clinic's (clinic_view sets it).
    return date_format(timezone.localtime(moment) if timezone.is_aware(moment) else moment, "j M Y, H:i")


def describe_promo_window(promo: Promo) -> tuple[str, str]:
    """The window's two ends as configured, never "Now" for a promo that is not live (PRO-4):
    ("Starts when activated", "No end date"), ("From 1 Mar 2026, 09:00", "Until 31 Mar 2026, 18:00").

    No start date on a draft means it starts when someone activates it; on any other status it
    simply has none.
    """
    if promo.starts_at:
        start = f"From {_when(promo.starts_at)}"
    elif promo.status == PromoStatus.DRAFT:
        start = "Starts when activated"
    else:
        start = "No start date"
    return start, (f"Until {_when(promo.ends_at)}" if promo.ends_at else "No end date")


def get_promo_detail(*, promo: Promo, currency: str, now: datetime | None = None) -> PromoDetail:
    """What the Details panel needs besides the promo's own fields: tiers, codes, audience size (PRO-4)."""
    now = now or timezone.now()
    codes = PromoCode.objects.filter(promo=promo).order_by().aggregate(
        personal=Count("id", filter=Q(patient__isnull=False)),
        shared=Count("id", filter=Q(patient__isnull=True)),
    )
    shared = ""
    if codes["shared"]:
        shared = PromoCode.objects.filter(promo=promo, patient__isnull=True).order_by("id").values_list(
            "code", flat=True).first() or ""
    tiers = list(PromoTier.objects.filter(promo=promo).order_by("min_order")) \
        if promo.kind == PromoKind.TIERED else []
    start, end = describe_promo_window(promo)
    if promo.kind == PromoKind.TIERED:
        label, summary = tier_range_label(tiers, currency), tier_summary(tiers, currency)
    else:
        label = summary = promo.discount_label_in(currency)
    return PromoDetail(
        promo=promo, discount_label=label, discount_summary=summary, expired=promo.is_expired(now),
        tiers=[TierLine(min_order=t.min_order, discount_label=discount_label(t.discount_type, t.discount_value, currency))
               for t in tiers],
        shared_code=shared, personal_codes=codes["personal"],
        audience_count=promo.audience_members.count(),
        window_start=start, window_end=end,
    )


# ---- Activity log (PRO-5) ------------------------------------------------------------------------------------

FIELD_LABELS = {
    "name": "Name", "kind": "Kind", "status": "Status", "code": "Code", "discount_type": "Discount type",
    "discount_value": "Discount value", "applies_to": "Applies to", "applies_to_items": "Services or categories",
    "audience": "Audience", "audience_segment": "Segment", "audience_patient_ids": "Named patients",
    "min_order": "Minimum order", "max_uses": "Max uses", "max_uses_per_customer": "Max uses per customer",
    "starts_at": "Starts", "ends_at": "Ends", "show_banner": "Banner", "auto_apply": "Auto-apply",
    "marketing_cost": "Marketing cost", "budget": "Discount budget", "tiers": "Tiers",
    "personal_codes": "Personal codes",
}
MONEY_FIELDS = {"min_order", "marketing_cost", "budget"}
CHOICE_LABELS = {
    "kind": dict(PromoKind.choices), "status": dict(PromoStatus.choices), "applies_to": dict(AppliesTo.choices),
    "audience": dict(Audience.choices), "discount_type": dict(DiscountType.choices),
}
# A tiered promo's own discount only mirrors its entry tier (the services keep it so the row is
# valid); the Tiers line already says it, so the log leaves the copy out.
TIER_MIRRORED = {"discount_type", "discount_value"}


@dataclass(frozen=True)
class DiffLine:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class ActivityRow:
    action: str
    action_label: str
    actor_name: str
    actor_email: str
    created_at: datetime
    changes: list[DiffLine]
    snapshot: list[tuple[str, str]]  # the settings a promo was created with


def show_logged_value(field: str, value, currency: str, *, discount_type: str | None = None) -> str:
    """A logged value as people read it: money in the clinic's currency, a discount by its type
    ("20%" or "£20.00"), times in the clinic's zone, Yes/No (PRO-5)."""
    if value is None or value == "" or value == []:
        return "–"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if field in CHOICE_LABELS:
        return str(CHOICE_LABELS[field].get(value, value))
    try:
        if field in MONEY_FIELDS:
            return format_money(Decimal(str(value)), currency)
        if field == "discount_value":
            return discount_amount_text(discount_type or DiscountType.PERCENT, value, currency)
        if field == "tiers" and isinstance(value, list):
            return tier_summary(value, currency) if value else "–"
    except (ArithmeticError, ValueError, TypeError, KeyError):
        return str(value)
    if field in ("starts_at", "ends_at") and isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is not None:
            return _when(parsed)
    if field == "audience_patient_ids" and isinstance(value, list):
        return f"{len(value)} patient{'s' if len(value) != 1 else ''}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _label(field: str) -> str:
    return FIELD_LABELS.get(field, field.replace("_", " ").capitalize())


def list_promo_activity_rows(*, promo: Promo, currency: str) -> list[ActivityRow]:
    """The promo's log as the detail page shows it, newest first, every value formatted (PRO-5)."""
    rows = []
    hidden = TIER_MIRRORED if promo.kind == PromoKind.TIERED else set()
    # Newest first, the discount type in force after an entry is the promo's type now, or the
    # "before" of the next newer entry that changed it; each logged value is shown by its own type.
    type_after = promo.discount_type
    for entry in list_promo_activity(promo=promo):
        diff = entry.diff or {}
        type_change = diff.get("discount_type")
        type_before = type_after
        if isinstance(type_change, dict) and "before" in type_change:
            type_before, type_after = type_change.get("before"), type_change.get("after") or type_after
        changes, snapshot = [], []
        for field, change in diff.items():
            if field in hidden:
                continue
            if isinstance(change, dict) and ("before" in change or "after" in change):
                changes.append(DiffLine(
                    field=_label(field),
                    before=show_logged_value(field, change.get("before"), currency, discount_type=type_before),
                    after=show_logged_value(field, change.get("after"), currency, discount_type=type_after)))
            elif isinstance(change, dict):
                # A creation logs the whole promo as it started, not a before/after pair.
                started_type = change.get("discount_type") or type_before
                snapshot += [(_label(name), show_logged_value(name, value, currency, discount_type=started_type))
                             for name, value in change.items()
                             if value not in (None, "", [], False) and name not in hidden]
                type_before = started_type
            else:
                changes.append(DiffLine(field=_label(field), before="–",
                                        after=show_logged_value(field, change, currency, discount_type=type_after)))
        rows.append(ActivityRow(action=entry.action, action_label=entry.get_action_display(),
                                actor_name=entry.actor_name, actor_email=entry.actor_email,
                                created_at=entry.created_at, changes=changes, snapshot=snapshot))
        type_after = type_before
    return rows


def list_promo_activity(*, promo: Promo) -> QuerySet[PromoActivity]:
    """The promo's append-only log, newest first (PRO-5)."""
    return PromoActivity.objects.filter(promo=promo).order_by("-created_at", "-id")


# ---- Personal codes (PRO-1) ------------------------------------------------------------------------------------

def count_personal_codes(*, promo: Promo) -> int:
    """How many patients hold a code of this personalised promo (PRO-1)."""
    return PromoCode.objects.filter(promo=promo, patient__isnull=False).count()


def list_personal_codes(*, promo: Promo, limit: int = 20) -> list[PromoCode]:
    """A few of a personalised promo's codes with their patients, newest first, for the detail page (PRO-1).

    Each carries `uses` and `last_used_at` from the ledger: a personal code is bound to its patient,
    so the patient's applied uses of the promo are the code's.
    """
    used = _applied().filter(promotion_key=promo.promotion_key, patient_id=OuterRef("patient_id")) \
        .values("patient_id")
    return list(
        PromoCode.objects.filter(promo=promo, patient__isnull=False).select_related("patient")
        .annotate(
            uses=Coalesce(Subquery(used.annotate(n=Count("id")).values("n"), output_field=IntegerField()), 0),
            last_used_at=Subquery(used.annotate(at=Max(Coalesce("applied_at", "created_at"))).values("at")),
        )
        .order_by("-created_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class CodeCandidates:
    """Patients the generate form offers: those without a code yet, matching the search."""

    patients: list[Patient]
    total: int
    search: str

    @property
    def more(self) -> bool:
        return self.total > len(self.patients)


def list_code_candidates(*, promo: Promo, search: str = "", limit: int = 12) -> CodeCandidates:
    """Patients without a code of this personalised promo, found by name, e-mail or phone (PRO-1).

    A few at a time, so the picker stays usable with thousands of patients: staff search to narrow,
    or tick "Every patient".
    """
    search = (search or "").strip()[:80]
    holders = PromoCode.objects.filter(promo=promo, patient__isnull=False).values("patient_id")
    candidates = list_patients(search=search).exclude(pk__in=holders).order_by("last_name", "first_name", "id")
    return CodeCandidates(patients=list(candidates[:limit]), total=candidates.count(), search=search)


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
    "discount_to_revenue": "Discount ÷ revenue", "unique_customer_ratio": "Uses per customer",
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
