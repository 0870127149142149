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
# What a column sorts by, ascending; "-name" is the same column descending. A rate not yet defined ("–")
# sorts last either way, so it never tops a ranking.
SORT_KEYS = {
    "created": lambda row: row.info.reporting_start,
    "name": lambda row: row.info.name.lower(),
    "kind": lambda row: row.kind_label,
    "type": lambda row: row.type_label,
    "status": lambda row: row.info.status,
    "assigned": lambda row: row.counts.assigned,
    "redeemed": lambda row: row.counts.redeemed,
    "rate": lambda row: row.counts.rate,
}
SORTS = [("-created", "Newest first"), ("created", "Oldest first"), ("name", "Name A–Z"),
         ("-rate", "Highest redemption rate"), ("-redeemed", "Most redeemed"), ("-assigned", "Most assigned")]
DEFAULT_SORT = "-created"
CSV_COLUMNS = ["Promotion", "Kind", "Type", "Status", "Assigned", "Redeemed", "Redemption rate (%)", "Redemptions",
               "Revenue", "Discount given", "Currency", "Promotion id"]
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


def valid_sort(sort: str) -> str:
    return sort if sort.lstrip("-") in SORT_KEYS else DEFAULT_SORT


def sort_rows(rows: list[PromotionRow], sort: str) -> list[PromotionRow]:
    """Rows sorted by a column ("rate", or "-rate" descending); ties by name, undefined values last."""
    sort = valid_sort(sort)
    key = SORT_KEYS[sort.lstrip("-")]
    by_name = sorted(rows, key=lambda row: row.info.name.lower())
    defined = [row for row in by_name if key(row) is not None]
    # A stable sort, reversed or not, keeps the name order among equal values.
    return sorted(defined, key=key, reverse=sort.startswith("-")) + [row for row in by_name if key(row) is None]


def list_promotion_rows(*, clinic: Clinic, kind: str = "", type: str = "", search: str = "",
                        sort: str = DEFAULT_SORT) -> list[PromotionRow]:
    """The Promotions page's rows: each promotion with its counts (one query for all of them)."""
    counts = count_promotions()
    rows = [PromotionRow(info=info, counts=counts.get(info.key, PromotionCounts()))
            for info in list_promotions(clinic=clinic)]
    search = search.strip().lower()
    rows = [row for row in rows if (not kind or row.info.kind == kind) and (not type or row.info.type == type)
            and (not search or search in row.info.name.lower() or search == row.info.key)]
    return sort_rows(rows, sort)


def promotion_csv_rows(rows: list[PromotionRow], *, currency: str):
    """The rows as the list shows them, for a CSV download: the heading, then one line per promotion."""
    yield CSV_COLUMNS
    for row in rows:
        info, counts = row.info, row.counts
        rate = "" if counts.rate is None else f"{counts.rate:.1f}"
        yield [info.name, row.kind_label, row.type_label, info.status, counts.assigned, counts.redeemed, rate,
               counts.redemptions, f"{counts.revenue:.2f}", f"{counts.discount:.2f}", currency, info.key]


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
        stages.append(FunnelStage("Claimed", claimed, "patients who claimed, clipped or redeemed it in the app"))
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
