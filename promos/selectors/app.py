"""Reads for the patient app: the promos its config shows as a banner or applies by itself (PRO-1)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import F, Prefetch, Q, prefetch_related_objects

from promos.choices import Audience, PromoKind, PromoStatus
from promos.models import Promo, PromoCode, PromoTier


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
