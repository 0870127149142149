"""The promotion registry: each promotion-owning app registers its kind here (DESIGN, Architecture).

Cross-kind pages (Promotions, the main dashboard, a patient's history) ask the registry instead of
importing offers, promos or coupons, the way Django admin learns about models.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable

from django.db.models import QuerySet


@dataclass(frozen=True)
class PromotionKind:
    key: str  # "offer", "promo", … — the prefix of a promotion id such as "promo_12"
    label: str
    list_active: Callable[[], QuerySet]  # runs inside a clinic scope
    # A kind that adds its own list to the patient app's config: its name there ("cards") and
    # what it lists for the clinic in scope on the clinic's date, as JSON-ready dicts.
    app_section: str = ""
    list_for_app: Callable[..., list[dict]] | None = None


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
