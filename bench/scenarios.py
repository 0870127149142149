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
`{i}` becomes a number from 0 to the seeded patient count - 1, taking turns request by request, so
`"bench-{i}"` is a different seeded patient's external id on each request (`patients=` sets how many).

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
    # Other statuses that are a correct answer, not an error (409 once a capped promo has run out).
    also_accept: tuple[int, ...] = ()
    # At least this many patients `bench-0` … are seeded; `{i}` in a header or the body cycles over all of them.
    patients: int = 0
    # Runs inside Django after the last round, in the clinic's scope, with the context and the number of
    # responses per status over the whole run ({"201": 1000, "409": 5312}); returns a dict with "ok".
    check: Callable[[Context, dict], dict] | None = None


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


BENCH_REDEEM_PATIENTS = 2000
BENCH_PROMO_CAP = 1000


def _promo_redeem_body(ctx: Context) -> str:
    """One order per request, each for the next seeded patient in turn (`{i}`), not one patient for all."""
    import json

    return json.dumps({"code": ctx["promo_code"], "external_id": "bench-{i}",
                       "order": {"reference": "bench-{n}", "total": "100.00"}})


def _redeem_headers(ctx: Context) -> dict:
    return {"Authorization": f"Api-Key {ctx['api_key']}", "Content-Type": "application/json",
            "Idempotency-Key": "bench-{n}"}


register(Scenario(
    name="pos_promo_redeem", method="POST", path="/api/v1/pos/promos/redeem",
    description=f"POS: every client redeems one hot promo code, each request for another of "
                f"{BENCH_REDEEM_PATIENTS} patients (conditional UPDATE on one row, usage upsert, order, ledger)",
    seed=_seed_unlimited_promo,
    headers=_redeem_headers,
    body=_promo_redeem_body,
    expect_status=201,
    patients=BENCH_REDEEM_PATIENTS,
))


def _seed_capped_promo(ctx: Context) -> dict:
    """A new promo for this run with max_uses = BENCH_PROMO_CAP, which the run is meant to exceed."""
    import secrets
    from decimal import Decimal

    from clinic_crm.tenancy.models import Clinic
    from promos.events import Actor
    from promos.services import create_promo

    clinic = Clinic.objects.get(pk=ctx["clinic_id"])
    code = "BENCHCAP" + secrets.token_hex(4).upper()
    promo = create_promo(clinic=clinic, actor=Actor(id=None, name="Bench", email="bench@example.com"), data={
        "name": f"Bench capped promo {code}", "code": code, "discount_type": "percent",
        "discount_value": Decimal("10"), "status": "active", "max_uses": BENCH_PROMO_CAP,
    })
    return {"capped_promo_code": code, "capped_promo_id": promo.pk, "capped_max_uses": BENCH_PROMO_CAP}


def _check_capped_promo(ctx: Context, statuses: dict) -> dict:
    """Exactly max_uses redeems succeeded: the promo's counter, the ledger and the 201s seen all agree."""
    from promos.models import Promo, PromoCustomerUsage
    from redemptions.choices import RedemptionStatus
    from redemptions.models import Redemption

    promo = Promo.objects.get(pk=ctx["capped_promo_id"])
    ledger = Redemption.objects.filter(promotion_key=promo.promotion_key, status=RedemptionStatus.APPLIED).count()
    per_customer = sum(PromoCustomerUsage.objects.filter(promo=promo).values_list("uses", flat=True))
    created = int(statuses.get("201", 0))
    refused = int(statuses.get("409", 0))
    ok = promo.uses == promo.max_uses == ledger == per_customer == created
    return {"ok": ok, "max_uses": promo.max_uses, "uses": promo.uses, "ledger_rows": ledger,
            "customer_usage_sum": per_customer, "responses_201": created, "responses_409": refused,
            "other_responses": {k: v for k, v in statuses.items() if k not in ("201", "409")}}


def _capped_redeem_body(ctx: Context) -> str:
    import json

    return json.dumps({"code": ctx["capped_promo_code"], "external_id": "bench-{i}",
                       "order": {"reference": "bench-{n}", "total": "100.00"}})


register(Scenario(
    name="pos_promo_redeem_capped", method="POST", path="/api/v1/pos/promos/redeem",
    description=f"POS: the hot promo with max_uses={BENCH_PROMO_CAP}, exceeded by the run: 201 until the cap, "
                "then 409; afterwards exactly max_uses uses, ledger rows and 201s",
    seed=_seed_capped_promo,
    headers=_redeem_headers,
    body=_capped_redeem_body,
    expect_status=201,
    also_accept=(409,),
    patients=BENCH_REDEEM_PATIENTS,
    check=_check_capped_promo,
))
