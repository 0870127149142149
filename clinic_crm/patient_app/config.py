"""The patient app's configuration: what the app shows now, cached per clinic and version (OFF-7).

A composition of every promotion kind the app shows: offers and promos read through their own
app's selectors, and coupon cards through the promotion registry. The body is serialized once per (clinic, config version, clinic date, clinic
profile) and kept in the Django cache as bytes; every change of something the app shows bumps
the version on commit (`clinic_crm.common.app_changes`), so the next fetch rebuilds it. The ETag
is derived from the same parts, so a client holding the current tag gets a 304 without the body
being read from the cache at all.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from time import time as time_now

from django.conf import settings
from django.core.cache import cache, caches
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from clinic_crm.common.app_changes import config_version
from clinic_crm.common.json_fields import with_whole_minute_offset
from clinic_crm.common.models import discount_label
from clinic_crm.tenancy.auth import app_key_row, clinic_from_row
from clinic_crm.tenancy.context import clinic_scope
from clinic_crm.tenancy.models import Clinic
from offers.models import Offer
from offers.selectors import list_app_offers
from promos.choices import PromoKind
from promos.selectors import list_app_promos
from redemptions.registry import app_config_sections

BODY_KEY = "app-config:body:{clinic_id}:{tag}"
BODY_TIMEOUT = 24 * 3600  # a new date or version makes a new key; old ones just age out


@dataclass(frozen=True)
class AppConfig:
    etag: str
    body: bytes


def build_app_config(*, clinic: Clinic, today: date, now: datetime) -> dict:
    """The config body API.md gives, for the clinic's date `today` (OFF-7), with the promo banners (PRO-1)."""
    end_of_day = datetime.combine(today + timedelta(days=1), time.min, tzinfo=clinic.tzinfo)
    return {
        "clinic": {"name": clinic.name, "slug": clinic.slug, "currency": clinic.currency,
                   "timezone": clinic.timezone, "branding": clinic.branding},
        "offers": _offers(clinic=clinic, today=today),
        "promos": _promos(clinic=clinic, now=now, starts_before=end_of_day),
        **app_config_sections(clinic=clinic, today=today),  # coupon cards, through the promotion registry
        "generated_at": _local(now, clinic),
    }


def _offers(*, clinic: Clinic, today: date) -> list[dict]:
    offers = []
    for entry in list_app_offers(today=today, locale=clinic.locale):
        offer = entry.offer
        if isinstance(offer, Offer):
            offers.append({
                "id": offer.promotion_key, "kind": "one_time", "occasion": None, "title": offer.title,
                "description": offer.description, "discount_label": offer.discount_label_in(clinic.currency),
                "valid_from": offer.valid_from, "valid_until": offer.valid_until, "redeemable": entry.redeemable,
            })
        else:
            title, description = offer.push_texts(currency=clinic.currency, clinic_name=clinic.name)
            offers.append({
                "id": offer.promotion_key, "kind": "automated", "occasion": offer.occasion,
                "title": title, "description": description,
                "discount_label": offer.discount_label_in(clinic.currency), "valid_from": None,
                "valid_until": offer.redeemable_until if entry.redeemable else None,
                "redeemable": entry.redeemable,
            })
    return offers


def _promos(*, clinic: Clinic, now: datetime, starts_before: datetime) -> list[dict]:
    promos = []
    for promo in list_app_promos(now=now, starts_before=starts_before):
        tiered = promo.kind == PromoKind.TIERED
        promos.append({
            "id": promo.promotion_key, "code": promo.shared_code, "name": promo.name, "kind": promo.kind,
            "discount_label": "" if tiered else promo.discount_label_in(clinic.currency),
            "tiers": [{"min_order": tier.min_order,
                       "discount_label": discount_label(tier.discount_type, tier.discount_value, clinic.currency)}
                      for tier in promo.tiers.all()] if tiered else [],
            "min_order": promo.min_order, "starts_at": _local(promo.starts_at, clinic),
            "ends_at": _local(promo.ends_at, clinic), "show_banner": promo.show_banner, "auto_apply": promo.auto_apply,
        })
    return promos


def _local(moment: datetime | None, clinic: Clinic) -> datetime | None:
    return with_whole_minute_offset(moment.astimezone(clinic.tzinfo)) if moment else None


def _tag(clinic: Clinic, today: date) -> str:
    # The clinic's own profile (name, branding) is part of the body but not of the offer version.
    profile = clinic.updated_at.isoformat() if clinic.updated_at else ""
    seed = f"{clinic.pk}:{config_version(clinic.pk)}:{today.isoformat()}:{profile}"
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


def get_app_config_etag(*, clinic: Clinic, now: datetime | None = None) -> str:
    """The strong ETag of the clinic's current config, without building it."""
    return f'"{_tag(clinic, clinic.today(now))}"'


def get_app_config(*, clinic: Clinic, now: datetime | None = None) -> AppConfig:
    """The clinic's config as cached bytes with its ETag, building it on a miss (OFF-7)."""
    now = now or timezone.now()
    today = clinic.today(now)
    tag = _tag(clinic, today)
    key = BODY_KEY.format(clinic_id=clinic.pk, tag=tag)
    # The key carries the version, so a process's own copy can never be stale: only the version
    # itself is read from the shared cache on every request.
    local = caches["local"]
    body = local.get(key)
    if body is None:
        body = cache.get(key)
        if body is None:
            with clinic_scope(clinic.pk):
                config = build_app_config(clinic=clinic, today=today, now=now)
            body = json.dumps(config, cls=DjangoJSONEncoder, separators=(",", ":")).encode()
            cache.set(key, body, BODY_TIMEOUT)
        local.set(key, body, BODY_TIMEOUT)
    return AppConfig(etag=f'"{tag}"', body=body)


@dataclass(frozen=True)
class _KeptConfig:
    row: tuple  # the app-key row it was made from: another row means the clinic may have changed
    clinic_id: int
    version: int  # the config version read before the body: a later version can only differ
    day_ends: float  # time.time() of the clinic's next midnight, when its date, and so the body, changes
    config: AppConfig


# The current config of each app key this process answered, so that a warm fetch is a dict read,
# the version check and the response. Each entry is checked on use against the three things the
# body depends on: the app-key row, the config version and the clinic's date.
_kept: dict[str, _KeptConfig] = {}
_KEPT_MAX = 1000


def get_app_config_for_key(app_key: str) -> AppConfig | None:
    """The current config of the active clinic an app key names (None for an unknown key).

    Equal to `get_app_config` for that clinic; a process keeps its answer while the app-key row
    (app_key_row), the config version and the clinic's date are the ones it was made from.
    """
    row = app_key_row(app_key)
    if row is None:
        return None
    kept = _kept.get(app_key)
    if (kept is not None and kept.row is row and time_now() < kept.day_ends
            and config_version(kept.clinic_id) == kept.version):
        return kept.config
    clinic = clinic_from_row(row)
    version = config_version(clinic.pk)
    now = timezone.now()
    config = get_app_config(clinic=clinic, now=now)
    if settings.CACHE_IN_PROCESS:
        tomorrow = clinic.today(now) + timedelta(days=1)
        day_ends = datetime.combine(tomorrow, time.min, tzinfo=clinic.tzinfo).timestamp()
        if len(_kept) >= _KEPT_MAX:
            _kept.clear()
        _kept[app_key] = _KeptConfig(row, clinic.pk, version, day_ends, config)
    return config


def forget_kept_configs() -> None:
    """Drop this process's kept answers (tests start from an empty cache)."""
    _kept.clear()
