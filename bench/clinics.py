"""Many clinics at once: a mixed load across 100 clinics on gunicorn + PostgreSQL (+ Redis as the cache), then
an integrity check of what it left behind.

    python bench/clinics.py                                   # 100 clinics, 32 clients, 60 s
    python bench/clinics.py --clinics 20 --duration 15        # a quick look
    python bench/clinics.py --cache-url rediscache://127.0.0.1:6379/3

Every request picks a clinic at random and one of these, by weight:

| endpoint | who | expected |
|---|---|---|
| `GET /api/v1/app/config` | patient app | 200, the clinic's own name |
| `POST /api/v1/app/promos/validate` | signed-in patient | 200, or 429 once that patient tries too often |
| `POST /api/v1/pos/promos/redeem` | till, a promo capped at `--cap` uses | 201 until the cap, then 409 |
| `POST /api/v1/pos/coupons/{serial}/redeem` | till, a patient's coupon card | 201 once per card, then 409 |
| `POST /api/v1/pos/responses/{id}/complete` | till, a patient's offer response | 200 once per response, then 409 |
| `POST /api/v1/events/redemptions/batch` | the clinic's own system, 20 new events | 200, each event accepted |
| `GET /api/v1/pos/coupons/{serial}` of another clinic | till of clinic A asking for B's card | 404 |

It reports req/s, p50 and p99 per endpoint and every unexpected answer. Then, inside Django, it checks per
clinic that the capped promo took exactly as many uses as the tills were told 201 (never over the cap),
that each coupon and response the tills were told was used is used once, and that every accepted event is one
ledger row. The last probe, and the config's name, show no clinic saw another's data. Results go to
bench/results/clinics-<time>.json and a summary to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

import run as runner  # noqa: E402  (bench/run.py: database, gunicorn, CPU accounting)

HOST = runner.HOST
OPERATIONS = [  # name, weight
    ("app_config", 40), ("promo_validate", 15), ("promo_redeem", 15), ("coupon_redeem", 10),
    ("response_complete", 10), ("event_batch", 5), ("foreign_card", 5),
]
EVENTS_PER_BATCH = 20


# ---- inside Django (child processes) ----------------------------------------------------------------------

def _django():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic_crm.settings")
    import django

    django.setup()


def seed(*, run_id: str, clinics: int, patients: int, cap: int) -> dict:
    """The clinics of this run, each with patients, a capped promo, an offer with a response per patient, a
    coupon card per patient, an integration key and patient tokens, all made through the services."""
    _django()
    from decimal import Decimal

    from clinic_crm.patients.models import Patient
    from clinic_crm.tenancy.auth import mint_patient_token
    from clinic_crm.tenancy.context import clinic_scope
    from clinic_crm.tenancy.services import create_api_key, create_clinic
    from coupons import services as cards
    from offers.services import create_offer
    from offers.services.redemption import claimable_offer_terms
    from promos.events import Actor
    from promos.services import create_promo
    from redemptions.services import assign_response

    made = []
    for n in range(clinics):
        clinic = create_clinic(name=f"Load {run_id} clinic {n}", slug=f"load-{run_id}-{n}")
        _, api_key = create_api_key(clinic=clinic, name="Load", scopes=["pos", "events"])
        with clinic_scope(clinic.pk):
            people = [Patient.objects.create(clinic=clinic, first_name=f"P{j}", last_name=f"C{n}",
                                             external_id=f"c{n}-p{j}") for j in range(patients)]
            promo = create_promo(clinic=clinic, actor=Actor(id=None, name="Load", email="load@example.com"), data={
                "name": "Capped", "code": f"CAP{run_id}{n}".upper(), "discount_type": "percent",
                "discount_value": Decimal("10"), "status": "active", "max_uses": cap})
            offer = create_offer(clinic=clinic, data={"name": "Exam", "title": "Your exam on us",
                                                      "discount_type": "percent", "discount_value": "100",
                                                      "published": True, "allow_multiple_responses": True})
            terms = claimable_offer_terms(promotion_id=offer.pk, today=clinic.today())
            responses = [assign_response(clinic=clinic, patient=p, terms=terms, source="claim").pk for p in people]
            template = cards.create_card_template(clinic=clinic, data={
                "kind": "coupon", "name": "Welcome", "discount_type": "amount", "discount_value": Decimal("20")})
            serials = [cards.issue_card(template=template, patient=p).serial for p in people]
            tokens = [mint_patient_token(clinic=clinic, patient_id=p.pk) for p in people]
            code = promo.codes.first().code
        made.append({"id": clinic.pk, "name": clinic.name, "api_key": api_key, "app_key": clinic.app_key,
                     "tokens": tokens, "patients": [p.external_id for p in people], "promo_code": code,
                     "promo_id": promo.pk, "promotion_key": offer.promotion_key, "responses": responses,
                     "cards": dict(zip(serials, [p.external_id for p in people]))})
    return {"run_id": run_id, "cap": cap, "clinics": made}


def check(data: dict) -> dict:
    """What the load left behind agrees with what the clients were told, clinic by clinic."""
    _django()
    from clinic_crm.tenancy.context import clinic_scope
    from coupons.models import Card
    from promos.models import Promo
    from redemptions.models import OfferResponse, Redemption

    context, told = data["context"], data["told"]
    problems = []
    for clinic in context["clinics"]:
        key = str(clinic["id"])
        with clinic_scope(clinic["id"]):
            promo = Promo.objects.get(pk=clinic["promo_id"])
            ledger = Redemption.objects.filter(promotion_key=promo.promotion_key, status="applied").count()
            redeemed_cards = Card.objects.filter(serial__in=list(clinic["cards"]), coupon_status="redeemed").count()
            completed = OfferResponse.objects.filter(pk__in=clinic["responses"], status="completed").count()
            events = Redemption.objects.filter(event_id__startswith=f"{context['run_id']}-").count()
        expected = told.get(key, {})
        if not (promo.uses == ledger == expected.get("promo_201", 0) and promo.uses <= context["cap"]):
            problems.append(f"clinic {key}: promo uses {promo.uses}, ledger {ledger}, "
                            f"201s {expected.get('promo_201', 0)}, cap {context['cap']}")
        if redeemed_cards != expected.get("coupon_201", 0):
            problems.append(f"clinic {key}: {redeemed_cards} coupons redeemed, {expected.get('coupon_201', 0)} 201s")
        if completed != expected.get("complete_200", 0):
            problems.append(f"clinic {key}: {completed} responses completed, {expected.get('complete_200', 0)} 200s")
        if events != expected.get("events_accepted", 0):
            problems.append(f"clinic {key}: {events} event rows, {expected.get('events_accepted', 0)} accepted")
    return {"ok": not problems, "problems": problems[:50], "clinics": len(context["clinics"])}


# ---- the load ---------------------------------------------------------------------------------------------

class Load:
    def __init__(self, context: dict, port: int):
        self.context, self.port = context, port
        self.clinics = context["clinics"]
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter] = defaultdict(Counter)
        self.unexpected: list[str] = []
        self.told: dict[str, Counter] = defaultdict(Counter)
        self.lock = threading.Lock()
        self.names, self.weights = zip(*OPERATIONS)

    def _request(self, connection, method, path, headers, body=None):
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json", **headers}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        data = response.read()
        if response.getheader("Connection", "").lower() == "close":
            connection.close()
        return response.status, data

    def one(self, connection, rng: random.Random, n: int):
        op = rng.choices(self.names, self.weights)[0]
        clinic = rng.choice(self.clinics)
        pos = {"Authorization": f"Api-Key {clinic['api_key']}"}
        token = f"{self.context['run_id']}-{threading.get_ident()}-{n}"
        expected: tuple[int, ...] = (200,)
        if op == "app_config":
            call = ("GET", "/api/v1/app/config", {"X-App-Key": clinic["app_key"]}, None)
        elif op == "promo_validate":
            call = ("POST", "/api/v1/app/promos/validate", {"X-App-Key": clinic["app_key"], "Authorization":
                    f"Bearer {rng.choice(clinic['tokens'])}"}, {"code": clinic["promo_code"], "order_total": "100.00"})
            expected = (200, 429)  # 429: the patient's own rate limit on trying codes
        elif op == "promo_redeem":
            call = ("POST", "/api/v1/pos/promos/redeem", {**pos, "Idempotency-Key": token},
                    {"code": clinic["promo_code"], "external_id": rng.choice(clinic["patients"]),
                     "order": {"reference": token, "total": "100.00"}})
            expected = (201, 409)
        elif op == "coupon_redeem":
            serial = rng.choice(list(clinic["cards"]))
            call = ("POST", f"/api/v1/pos/coupons/{serial}/redeem", {**pos, "Idempotency-Key": token},
                    {"external_id": clinic["cards"][serial], "purchase_amount": "100.00"})
            expected = (201, 409)
        elif op == "response_complete":
            response_id = rng.choice(clinic["responses"])
            call = ("POST", f"/api/v1/pos/responses/{response_id}/complete", {**pos, "Idempotency-Key": token},
                    {"order": {"reference": token, "total": "100.00"}})
            expected = (200, 409)
        elif op == "event_batch":
            when = datetime.now(UTC).isoformat()
            events = [{"event_id": f"{token}-{k}", "promotion_id": clinic["promotion_key"],
                       "external_id": rng.choice(clinic["patients"]), "redeemed_at": when, "amount": "50.00"}
                      for k in range(EVENTS_PER_BATCH)]
            call = ("POST", "/api/v1/events/redemptions/batch", pos, {"events": events})
        else:  # foreign_card: clinic A's till asks for one of clinic B's cards
            other = rng.choice([c for c in self.clinics if c is not clinic])
            call = ("GET", f"/api/v1/pos/coupons/{rng.choice(list(other['cards']))}", pos, None)
            expected = (404,)
        started = time.perf_counter()
        status, data = self._request(connection, *call)
        elapsed = time.perf_counter() - started
        with self.lock:
            self.latencies[op].append(elapsed)
            self.statuses[op][str(status)] += 1
            tally = self.told[str(clinic["id"])]
            if status not in expected:
                self.unexpected.append(f"{op} {call[1]}: {status} {data[:200]!r}")
            elif op == "app_config" and json.loads(data).get("clinic", {}).get("name") != clinic["name"]:
                self.unexpected.append(f"app_config of clinic {clinic['id']} named another clinic")
            elif op == "promo_redeem" and status == 201:
                tally["promo_201"] += 1
            elif op == "coupon_redeem" and status == 201:
                tally["coupon_201"] += 1
            elif op == "response_complete" and status == 200:
                tally["complete_200"] += 1
            elif op == "event_batch":
                results = json.loads(data).get("results", [])
                tally["events_accepted"] += sum(1 for r in results if r.get("status") == "accepted")

    def client(self, deadline: float, seed: int):
        rng, n = random.Random(seed), 0
        connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
        while time.monotonic() < deadline:
            n += 1
            try:
                self.one(connection, rng, n)
            except (OSError, http.client.HTTPException) as error:
                with self.lock:
                    self.unexpected.append(f"connection: {type(error).__name__}: {error}")
                connection.close()
                connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
        connection.close()

    def run(self, clients: int, duration: float) -> float:
        deadline = time.monotonic() + duration
        threads = [threading.Thread(target=self.client, args=(deadline, k)) for k in range(clients)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.monotonic() - started


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(fraction * len(ordered) + 0.5) - 1))] if ordered else 0.0


def _child(args) -> int:
    if args.child == "seed":
        print(json.dumps(seed(run_id=args.run_id, clinics=args.clinics, patients=args.patients, cap=args.cap)))
    else:
        print(json.dumps(check(json.loads(Path(args.check_input).read_text()))))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clinics", type=int, default=100)
    parser.add_argument("--patients", type=int, default=20, help="per clinic (default 20)")
    parser.add_argument("--cap", type=int, default=30, help="the capped promo's max_uses (default 30)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--conn-max-age", type=int, default=60)
    parser.add_argument("--cache-url", default="")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", runner.DEFAULT_DATABASE_URL))
    parser.add_argument("--child", choices=["seed", "check"], help=argparse.SUPPRESS)
    parser.add_argument("--run-id", help=argparse.SUPPRESS)
    parser.add_argument("--check-input", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args)

    python = runner.project_python(None)
    env = runner.app_env(args, secrets.token_urlsafe(50))
    runner.prepare(SimpleNamespace(patients=1, scenarios=[], database_url=args.database_url), env, python)
    run_id = secrets.token_hex(3)
    runner.log(f"Seeding {args.clinics} clinics ({args.patients} patients each), run {run_id}")
    seeded = subprocess.run([python, __file__, "--child", "seed", "--run-id", run_id, "--clinics", str(args.clinics),
                             "--patients", str(args.patients), "--cap", str(args.cap)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, timeout=3600)
    if seeded.returncode != 0:
        raise SystemExit("seeding failed (see above)")
    context = json.loads(seeded.stdout.strip().splitlines()[-1])

    results_dir = BENCH_DIR / "results"
    results_dir.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    port = runner.free_port()
    server = runner.start_server(args, env, python, port, results_dir / f"gunicorn-clinics-{stamp}.log")
    try:
        load = Load(context, port)
        runner.log(f"{args.clients} clients for {args.duration:.0f} s across {args.clinics} clinics")
        elapsed = load.run(args.clients, args.duration)
    finally:
        runner.stop_server(server)

    told = {clinic: dict(counts) for clinic, counts in load.told.items()}
    check_file = results_dir / f"clinics-check-{stamp}.json"
    check_file.write_text(json.dumps({"context": context, "told": told}))
    checked = subprocess.run([python, __file__, "--child", "check", "--check-input", str(check_file)],
                             cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, timeout=600)
    integrity = json.loads(checked.stdout.strip().splitlines()[-1]) if checked.returncode == 0 else {
        "ok": False, "problems": ["the check failed to run"]}
    check_file.unlink()

    rows = []
    for name, _ in OPERATIONS:
        values = load.latencies.get(name, [])
        rows.append({"endpoint": name, "requests": len(values), "rps": len(values) / elapsed,
                     "p50_ms": _percentile(values, 0.50) * 1000, "p99_ms": _percentile(values, 0.99) * 1000,
                     "statuses": dict(load.statuses.get(name, {}))})
    total = sum(row["requests"] for row in rows)
    machine = f"{platform.node()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, " \
              f"Python {platform.python_version()}"
    result = {"date": stamp, "machine": machine, "clinics": args.clinics, "clients": args.clients,
              "duration_s": round(elapsed, 1), "workers": args.workers, "cache": args.cache_url or "files",
              "total_rps": total / elapsed, "endpoints": rows, "unexpected": load.unexpected[:100],
              "unexpected_count": len(load.unexpected), "integrity": integrity}
    (results_dir / f"clinics-{stamp}.json").write_text(json.dumps(result, indent=2))

    lines = ["| endpoint | req/s | p50 ms | p99 ms | answers |", "|---|---|---|---|---|"]
    for row in rows:
        answers = ", ".join(f"{k} × {v:,}" for k, v in sorted(row["statuses"].items()))
        lines.append(f"| {row['endpoint']} | {row['rps']:.1f} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {answers} |")
    summary = "\n".join(lines)
    verdict = "PASS" if integrity.get("ok") and not load.unexpected else "FAIL"
    print(summary)
    print(f"total {total / elapsed:.1f} req/s; unexpected answers {len(load.unexpected)}; integrity "
          f"{'PASS' if integrity.get('ok') else 'FAIL'} {integrity.get('problems') or ''}")
    for line in load.unexpected[:10]:
        print("  ", line)
    with open(BENCH_DIR / "RESULTS.md", "a") as handle:
        handle.write(f"\n## {args.clinics} clinics, mixed load ({stamp})\n\n"
                     f"Machine: {machine}. `python bench/clinics.py --clinics {args.clinics} --clients {args.clients} "
                     f"--duration {args.duration:.0f}{' --cache-url ' + args.cache_url if args.cache_url else ''}`: "
                     f"gunicorn {args.workers} {args.worker_class} workers, PostgreSQL, cache {args.cache_url or 'files'}.\n\n"
                     f"{summary}\n\nTotal {total / elapsed:.1f} req/s over {elapsed:.0f} s. Unexpected answers: "
                     f"{len(load.unexpected)}. Integrity check (caps held, each coupon, response and event counted "
                     f"once): {'PASS' if integrity.get('ok') else 'FAIL'}"
                     f"{' — ' + '; '.join(integrity.get('problems') or []) if not integrity.get('ok') else ''}. "
                     f"Verdict: **{verdict}**.\n")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
