"""The promotion registry: each promotion-owning app registers its kind here (DESIGN, Architecture).

Cross-kind pages (Promotions, the main dashboard, a patient's history) ask the registry instead of
importing offers, promos or coupons, the way Django admin learns about models.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Callable

from django.db.models import QuerySet


PROMOTION_TYPES = ("global", "tiered", "personalised")


@dataclass(frozen=True)
class PromotionInfo:
    """One promotion as the Promotions page, the staff API and the events API see it (RED-6, RED-7)."""

    key: str  # "promo_12": the id the staff API lists and the events API takes
    kind: str  # the registered kind, "promo"
    id: int
    name: str
    type: str  # one of PROMOTION_TYPES
    status: str  # in words, as its own page says it
    reporting_start: datetime  # events redeemed before it are refused (no backdating)
    url: str  # its page in the dashboard
    discount_type: str
    discount_value: Decimal | None
    discount_label: str
    cap_used: int | None = None
    cap_total: int | None = None
    budget_used: Decimal | None = None
    budget_total: Decimal | None = None
    tiers: tuple[str, ...] = ()  # a tiered promotion's tiers, as events name them ("100.00")

    @property
    def cap_usage(self) -> Decimal | None:
        """Uses taken of the cap, as a fraction; None without a cap."""
        return Decimal(self.cap_used or 0) / self.cap_total if self.cap_total else None

    @property
    def budget_usage(self) -> Decimal | None:
        return (self.budget_used or Decimal("0")) / self.budget_total if self.budget_total else None


@dataclass(frozen=True)
class PromotionKind:
    key: str  # "offer", "promo", … — the prefix of a promotion id such as "promo_12"
    label: str
    list_active: Callable[[], QuerySet]  # runs inside a clinic scope
    # A kind that adds its own list to the patient app's config: its name there ("cards") and
    # what it lists for the clinic in scope on the clinic's date, as JSON-ready dicts.
    app_section: str = ""
    list_for_app: Callable[..., list[dict]] | None = None
    # A kind whose promotions a patient can claim as an offer response (RED-1): given a promotion
    # id and the clinic's date, its ResponseTerms when it is claimable now, else None.
    response_terms: Callable[..., object | None] | None = None
    # Told when a response to one of its promotions is completed (RED-4), to settle what it owns
    # (a reward card becomes redeemed), without a second ledger row.
    on_response_completed: Callable[..., None] | None = None
    # Every promotion of the kind in the clinic in scope, for the Promotions page (RED-7): given the
    # clinic, a list of PromotionInfo; and one of them by id, or None.
    list_promotions: Callable[..., list[PromotionInfo]] | None = None
    get_promotion: Callable[..., PromotionInfo | None] | None = None


_kinds: dict[str, PromotionKind] = {}


def register_promotion_kind(kind: PromotionKind) -> None:
    _kinds[kind.key] = kind


def promotion_kinds() -> list[PromotionKind]:
    return list(_kinds.values())


def count_active_promotions() -> int:
    """Count active promotions of every registered kind in the clinic in scope (CORE-5)."""
    return sum(kind.list_active().count() for kind in promotion_kinds())


def app_config_sections(*, clinic, today: date) -> dict[str, list[dict]]:
    """The patient app config's lists contributed through the registry (the clinic in scope)."""
    return {kind.app_section: kind.list_for_app(clinic=clinic, today=today)
            for kind in promotion_kinds() if kind.app_section and kind.list_for_app is not None}


def claimable_terms(*, promotion_key: str, today: date):
    """The ResponseTerms of a promotion id such as "offer_12" when a patient can claim it now, else None."""
    kind_key, _, raw_id = promotion_key.rpartition("_")
    kind = _kinds.get(kind_key)  # as kind_key_of
    if kind is None or kind.response_terms is None or not raw_id.isdigit() or len(raw_id) > 18:
        return None
    return kind.response_terms(promotion_id=int(raw_id), today=today)


def list_promotions(*, clinic) -> list[PromotionInfo]:
    """Every promotion of every kind in the clinic in scope, newest first within each kind."""
    found: list[PromotionInfo] = []
    for kind in promotion_kinds():
        if kind.list_promotions is not None:
            found.extend(kind.list_promotions(clinic=clinic))
    return found


def get_promotion(*, clinic, promotion_key: str) -> PromotionInfo | None:
    """A promotion by its id ("promo_12") in the clinic in scope; None for anything else."""
    kind_key, _, raw_id = (promotion_key or "").rpartition("_")
    kind = _kinds.get(kind_key)
    if kind is None or kind.get_promotion is None or not raw_id.isdigit() or raw_id.startswith("0") \
            or len(raw_id) > 18:
        return None
    return kind.get_promotion(clinic=clinic, promotion_id=int(raw_id))


def kind_label(promotion_kind: str) -> str:
    """The label of a registered kind ("One-time offer"), or the key itself."""
    kind = _kinds.get(promotion_kind)
    return kind.label if kind else promotion_kind


def kind_key_of(promotion_key: str) -> str:
    """The registered kind of a promotion id: "card" for "card_7", "automated_offer" for "automated_offer_3"."""
    return promotion_key.rpartition("_")[0]


def response_completed(response) -> None:
    """Tell the kind that owns a response's promotion that the response was just completed."""
    kind = _kinds.get(kind_key_of(response.promotion_key))
    if kind is not None and kind.on_response_completed is not None:
        kind.on_response_completed(response=response)
