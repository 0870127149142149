"""The promotion registry: each promotion-owning app registers its kind here (DESIGN, Architecture).

Cross-kind pages (Promotions, the main dashboard, a patient's history) ask the registry instead of
importing offers, promos or coupons, the way Django admin learns about models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from django.db.models import QuerySet


@dataclass(frozen=True)
class PromotionKind:
    key: str  # "offer", "promo", … — the prefix of a promotion id such as "promo_12"
    label: str
    list_active: Callable[[], QuerySet]  # runs inside a clinic scope


_kinds: dict[str, PromotionKind] = {}


def register_promotion_kind(kind: PromotionKind) -> None:
    _kinds[kind.key] = kind


def promotion_kinds() -> list[PromotionKind]:
    return list(_kinds.values())


def count_active_promotions() -> int:
    """Count active promotions of every registered kind in the clinic in scope (CORE-5)."""
    return sum(kind.list_active().count() for kind in promotion_kinds())
