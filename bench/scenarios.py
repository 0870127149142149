"""The benchmark's scenarios: one request each, all served by the same gunicorn.

A scenario is registered with `register(Scenario(...))`. `headers` and `body` are built from the
seed context, a dict the prepare step prints after seeding: `clinic_id`, `clinic_slug`, `app_key`,
`api_key` (scopes pos and events), `patient_id`, `patient_external_id`, `patient_token`, plus
whatever each scenario's own `seed` hook returns. A `seed` hook runs inside Django, in the bench
clinic's scope, before the server starts.

Adding the app's config endpoint (API.md: `GET /api/v1/app/config`), for example, is:

    register(Scenario(
        name="app_config",
        path="/api/v1/app/config",
        description="patient app: clinic branding and live offers",
        headers=lambda ctx: {"X-App-Key": ctx["app_key"]},
    ))

A POS promo redeem (`POST /api/v1/pos/promos/redeem`) also needs a code that never runs out,
made by a `seed` hook through the promos app's service, and a fresh order reference and
Idempotency-Key per request: `{n}` in a header or the body becomes a token unique to the run.

    register(Scenario(
        name="pos_promo_redeem", method="POST", path="/api/v1/pos/promos/redeem",
        description="POS: redeem one code from every client at once",
        seed=_seed_unlimited_promo,           # returns {"promo_code": ...}
        headers=lambda ctx: {"Authorization": f"Api-Key {ctx['api_key']}",
                             "Content-Type": "application/json", "Idempotency-Key": "bench-{n}"},
        body=lambda ctx: json.dumps({"code": ctx["promo_code"], "external_id": ctx["patient_external_id"],
                                     "order": {"reference": "bench-{n}", "total": "100.00"}}),
        expect_status=201,
    ))

This module imports nothing from Django at import time: the runner reads it without the app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

Context = dict


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    description: str
    method: str = "GET"
    headers: Callable[[Context], dict] = field(default=lambda ctx: {})
    body: Callable[[Context], str | None] = field(default=lambda ctx: None)
    seed: Callable[[Context], dict] | None = None
    expect_status: int = 200
    baseline: bool = False


SCENARIOS: dict[str, Scenario] = {}


def register(scenario: Scenario) -> Scenario:
    if scenario.name in SCENARIOS:
        raise ValueError(f"scenario {scenario.name!r} is registered twice")
    if scenario.baseline and any(s.baseline for s in SCENARIOS.values()):
        raise ValueError("only one scenario can be the baseline")
    SCENARIOS[scenario.name] = scenario
    return scenario


def baseline() -> Scenario:
    return next(s for s in SCENARIOS.values() if s.baseline)


register(Scenario(
    name="healthz",
    path="/healthz",
    description="bare Django view returning {\"ok\": true}: the baseline B",
    baseline=True,
))

register(Scenario(
    name="pos_patients",
    path="/api/v1/pos/patients?limit=20",
    description="POS list: API-key auth, clinic scope + RLS, count and a page of 20 patients",
    headers=lambda ctx: {"Authorization": f"Api-Key {ctx['api_key']}"},
))

BENCH_OFFERS = 50


def _seed_published_offers(ctx: Context) -> dict:
    """Make sure the bench clinic has BENCH_OFFERS live one-time offers, through the offers service."""
    from decimal import Decimal

    from clinic_crm.tenancy.models import Clinic
    from offers.models import Offer
    from offers.services import create_offer

    clinic = Clinic.objects.get(pk=ctx["clinic_id"])
    have = Offer.objects.filter(name__startswith="Bench offer ").count()
    for n in range(have, BENCH_OFFERS):
        create_offer(clinic=clinic, data={
            "name": f"Bench offer {n}", "title": f"{10 + n % 40}% off treatment {n}",
            "description": "A live offer the app lists.", "discount_type": "percent",
            "discount_value": Decimal(10 + n % 40), "active": True, "published": True,
        })
    return {"offers": BENCH_OFFERS}


register(Scenario(
    name="app_config",
    path="/api/v1/app/config",
    description=f"patient app: clinic branding and {BENCH_OFFERS} live offers (cached body per config version)",
    seed=_seed_published_offers,
    headers=lambda ctx: {"X-App-Key": ctx["app_key"]},
))


BENCH_PROMO_CODE = "BENCHHOT"


def _seed_unlimited_promo(ctx: Context) -> dict:
    """One active promo with no caps, made through the promos service: every client redeems it at once."""
    from decimal import Decimal

    from clinic_crm.tenancy.models import Clinic
    from promos.events import Actor
    from promos.models import PromoCode
    from promos.services import create_promo

    clinic = Clinic.objects.get(pk=ctx["clinic_id"])
    if not PromoCode.objects.filter(code__iexact=BENCH_PROMO_CODE).exists():
        create_promo(clinic=clinic, actor=Actor(id=None, name="Bench", email="bench@example.com"), data={
            "name": "Bench hot promo", "code": BENCH_PROMO_CODE, "discount_type": "percent",
            "discount_value": Decimal("10"), "status": "active",
        })
    return {"promo_code": BENCH_PROMO_CODE}


def _promo_redeem_body(ctx: Context) -> str:
    import json

    return json.dumps({"code": ctx["promo_code"], "external_id": ctx["patient_external_id"],
                       "order": {"reference": "bench-{n}", "total": "100.00"}})


register(Scenario(
    name="pos_promo_redeem", method="POST", path="/api/v1/pos/promos/redeem",
    description="POS: every client redeems one hot promo code (conditional UPDATE on one row, order, ledger)",
    seed=_seed_unlimited_promo,
    headers=lambda ctx: {"Authorization": f"Api-Key {ctx['api_key']}", "Content-Type": "application/json",
                         "Idempotency-Key": "bench-{n}"},
    body=_promo_redeem_body,
    expect_status=201,
))
