"""Marketing → Promotions: every promotion of the clinic with its redemption rate, and one promotion's
breakdown and funnel (RED-7). Read from the promotion registry, the ledger's tallies and the push
history; no promotion app is imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from clinic_crm.patients.choices import RfmSegment
from clinic_crm.tenancy.models import Clinic
from notifications.selectors import count_pushes_about
from redemptions.choices import RedemptionChannel
from redemptions.registry import PromotionInfo, get_promotion, kind_label, list_promotions, promotion_kinds
from redemptions.selectors import (
    PromotionBreakdown,
    PromotionCounts,
    count_claimed,
    count_promotion,
    count_promotions,
    get_promotion_breakdown,
)

TYPE_LABELS = {"global": "Global", "tiered": "Tiered", "personalised": "Personalised"}
SORTS = {
    "newest": lambda row: (-row.info.reporting_start.timestamp(),),
    "name": lambda row: (row.info.name.lower(),),
    "rate": lambda row: (row.counts.rate is None, -(row.counts.rate or 0), row.info.name.lower()),
    "assigned": lambda row: (-row.counts.assigned, row.info.name.lower()),
    "redeemed": lambda row: (-row.counts.redeemed, row.info.name.lower()),
}
CHART_DAYS = 90


@dataclass(frozen=True)
class PromotionRow:
    info: PromotionInfo
    counts: PromotionCounts

    @property
    def kind_label(self) -> str:
        return kind_label(self.info.kind)

    @property
    def type_label(self) -> str:
        return TYPE_LABELS.get(self.info.type, self.info.type)


def kind_choices() -> list[tuple[str, str]]:
    return [(kind.key, kind.label) for kind in promotion_kinds() if kind.list_promotions is not None]


def list_promotion_rows(*, clinic: Clinic, kind: str = "", type: str = "", search: str = "",
                        sort: str = "newest") -> list[PromotionRow]:
    """The Promotions page's rows: each promotion with its counts (one query for all of them)."""
    counts = count_promotions()
    rows = [PromotionRow(info=info, counts=counts.get(info.key, PromotionCounts()))
            for info in list_promotions(clinic=clinic)]
    search = search.strip().lower()
    rows = [row for row in rows if (not kind or row.info.kind == kind) and (not type or row.info.type == type)
            and (not search or search in row.info.name.lower() or search == row.info.key)]
    return sorted(rows, key=SORTS.get(sort, SORTS["newest"]))


@dataclass(frozen=True)
class FunnelStage:
    label: str
    value: int | Decimal
    hint: str
    money: bool = False


@dataclass(frozen=True)
class PromotionPage:
    row: PromotionRow
    breakdown: PromotionBreakdown
    daily: list[tuple[date, int]]  # redemptions per day, every day of the chart's span
    segments: list[tuple[str, PromotionCounts]]
    channels: list[tuple[str, PromotionCounts]]
    tiers: list[tuple[str, PromotionCounts]]
    funnel: list[FunnelStage]


def _daily(breakdown: PromotionBreakdown, *, start: date, today: date) -> list[tuple[date, int]]:
    by_day = {day: counts.redemptions for day, counts in breakdown.by_day}
    first = max(start, today - timedelta(days=CHART_DAYS - 1))
    if by_day:
        first = min(first, max(min(by_day), today - timedelta(days=CHART_DAYS - 1)))
    return [(first + timedelta(days=i), by_day.get(first + timedelta(days=i), 0))
            for i in range((today - first).days + 1)]


def _funnel(info: PromotionInfo, counts: PromotionCounts) -> list[FunnelStage]:
    """Targeted → delivered → claimed → redeemed → revenue, each stage where this promotion has data."""
    pushes, reached = count_pushes_about(source_key=info.key)
    claimed = count_claimed(promotion_key=info.key)
    stages = [FunnelStage("Targeted", counts.assigned, "patients who hold it")]
    if pushes:
        stages.append(FunnelStage("Delivered", reached, f"devices reached by {pushes} push{'es' if pushes > 1 else ''}"))
    if claimed:
        stages.append(FunnelStage("Claimed", claimed, "patients who claimed or clipped it in the app"))
    stages.append(FunnelStage("Redeemed", counts.redeemed, "patients who used it"))
    stages.append(FunnelStage("Revenue", counts.revenue, "from the orders it was used on", money=True))
    return stages


def get_promotion_page(*, clinic: Clinic, promotion_key: str, today: date) -> PromotionPage | None:
    """One promotion's page: its counts, breakdown by day, segment, channel and tier, and its funnel."""
    info = get_promotion(clinic=clinic, promotion_key=promotion_key)
    if info is None:
        return None
    breakdown = get_promotion_breakdown(promotion_key=info.key)
    segment_labels = dict(RfmSegment.choices)
    channel_labels = dict(RedemptionChannel.choices)
    start = info.reporting_start.date()
    return PromotionPage(
        row=PromotionRow(info=info, counts=breakdown.total), breakdown=breakdown,
        daily=_daily(breakdown, start=start, today=today),
        segments=[(segment_labels.get(key, "No orders yet" if not key else key), counts)
                  for key, counts in breakdown.by_segment],
        channels=[(channel_labels.get(key, key), counts) for key, counts in breakdown.by_channel if key],
        tiers=[(key, counts) for key, counts in breakdown.by_tier if key],
        funnel=_funnel(info, breakdown.total),
    )


def get_promotion_counts(*, promotion_key: str) -> PromotionCounts:
    return count_promotion(promotion_key=promotion_key)
