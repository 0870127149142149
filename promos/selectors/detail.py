"""Reads for a promo's detail page: its metrics from the ledger and its Details panel (PRO-4), the activity
log as people read it (PRO-5), and a personalised promo's codes and the patients who could get one (PRO-1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, IntegerField, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format

from clinic_crm.common.choices import DiscountType
from clinic_crm.common.models import discount_label
from clinic_crm.common.money import format_money
from clinic_crm.patients.models import Patient
from clinic_crm.patients.selectors import list_patients
from promos.choices import AppliesTo, Audience, PromoKind, PromoStatus
from promos.models import Promo, PromoActivity, PromoCode, PromoTier
from promos.selectors.ledger import _DISCOUNT, _REVENUE, ZERO, _applied
from promos.selectors.listing import discount_amount_text, tier_range_label, tier_summary


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


def list_promo_customer_figures(*, promos) -> dict[int, tuple[int, Decimal | None]]:
    """(unique customers, avg order value) of each promo, by the definitions of get_promo_metrics
    (the order's total after discount), from the ledger in one query: for lists of promos (PRO-4)."""
    keys = {promo.promotion_key: promo.pk for promo in promos}
    rows = (_applied().filter(promotion_key__in=list(keys)).values("promotion_key")
            .annotate(customers=Count("patient_id", distinct=True), revenue=Sum(_REVENUE), orders=Count("order_total")))
    return {keys[row["promotion_key"]]: (
        row["customers"],
        ((row["revenue"] or ZERO) / row["orders"]).quantize(Decimal("0.01")) if row["orders"] else None,
    ) for row in rows}


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
    scheduled: bool
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
        if self.scheduled:
            return f"Scheduled (active, starts {_when(promo.starts_at)})"
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
        scheduled=promo.is_scheduled(now), tiers=[TierLine(min_order=t.min_order, discount_label=discount_label(t.discount_type, t.discount_value, currency))
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
    "min_order": "Minimum order", "max_uses": "Max uses", "max_uses_per_customer": "Max uses per patient",
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
