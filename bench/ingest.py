"""Redemption events in (RED-6): events per second over HTTP, against a bare COPY, and flat memory.

On the bench database (PostgreSQL, the app role `clinic_crm`, so row-level security applies), one
clinic (`--clinic`, default `ingest`; made once, reused) with 20,000 patients, RFM segments for
85% of them and five promos created through `promos.services.create_promo` (one tiered, one with
an audience of 6,000 patients, so assignments exist before any redemption). The promos are
backdated a year, as the tests backdate theirs, so that events can spread over past days. Then:

1. **Real-time**: `POST /api/v1/events/redemptions`, one event per request, served by gunicorn
   started as `bench/run.py` starts it (production settings, DEBUG off, sync workers), from N
   threaded keep-alive clients (`--clients 4,16`) for `--duration` seconds after a warm-up. Each
   event is another patient and promotion, redeemed a few seconds ago. Each run is paired with the
   same clients on the bare `/healthz` (performance.md's B) straight before it.
2. **Batches**: `POST /api/v1/events/redemptions/batch` with 10,000 events each (`--batches`),
   from one client and from two at once (`--batch-clients 1,2`). Each batch is two days of a busy
   clinic group's events (`--events-per-day` 5,000), in time order.
3. **COPY**: the same rows as the batch phase, as the ledger would store them (every column of
   `redemptions_redemption`), `COPY`'d into a bare UNLOGGED copy of the table (no indexes, no
   constraints but NOT NULL, no RLS, no WAL), median of 5; each rate above is also given as a
   ratio of this one. A logged bare table is shown beside it (the two alternate).
4. **Memory**: `--events` (default 1,000,000) sent in 10,000-event batches, one after another, to a
   freshly started gunicorn. Every `--checkpoint` (100,000) events each worker's peak RSS (VmHWM)
   is read and reset (`5` into `/proc/<pid>/clear_refs`): its peak since start after the first
   100,000 and after the last event, and its peak within each window between. `--memory-via
   direct` instead runs `ingest_redemption_events` in one child process, 10,000 at a time in the
   clinic's scope as the batch API does, and reads its own peak the same way.

    .venv/bin/python bench/ingest.py --cache-url rediscache://127.0.0.1:6379/3   # everything; ~15 min
    .venv/bin/python bench/ingest.py --events 0                                  # the rates only; ~3 min
    .venv/bin/python bench/ingest.py --events 200000 --duration 5                # a quick run
    .venv/bin/python bench/ingest.py --memory-via direct --clients "" --batch-clients ""   # memory only

Every event must be accepted (202, or `accepted` for all of a batch); anything else counts as an
error, and at the end the clinic's tallies, assignments and ledger must agree. A table is printed
and everything is written to `bench/results/ingest-<time>.json`. The clinic's ledger grows by every
event sent (new event ids each run); its size at the start is in the JSON. Run with the project's
virtualenv: the parent needs psycopg2 for the COPY.
"""

from __future__ import annotations

import argparse
import http.client
import io
import itertools
import json
import os
import random
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

import run as runner  # bench/run.py: database, gunicorn, CPU accounting

DEFAULT_DATABASE_URL = runner.DEFAULT_DATABASE_URL
HOST = runner.HOST
BATCH = 10_000
PATIENTS = 20_000
HISTORY_DAYS = 400  # the promos are backdated this far, so every event of the bench is after their start
KEY_NAME = "Ingest benchmark"
SINGLE_PATH = "/api/v1/events/redemptions"
BATCH_PATH = "/api/v1/events/redemptions/batch"
SEGMENTS = ["champions", "loyal", "potential_loyalist", "new", "at_risk", "hibernating", "lost", "needs_attention"]
# The clinic's promotions: a handful, of each type, with how often each is redeemed.
PROMOTIONS = [
    {"name": "Winter 10%", "code": "WINTER10", "weight": 35,
     "data": {"discount_type": "percent", "discount_value": "10"}},
    {"name": "20 off a first visit", "code": "FIRST20", "weight": 20,
     "data": {"discount_type": "amount", "discount_value": "20"}},
    {"name": "Spend more, save more", "code": "SPENDMORE", "weight": 20,
     "data": {"kind": "tiered", "tiers": [{"min_order": "50", "discount_type": "percent", "discount_value": "5"},
                                         {"min_order": "100", "discount_type": "percent", "discount_value": "10"},
                                         {"min_order": "200", "discount_type": "percent", "discount_value": "15"}]}},
    {"name": "Loyal patients 15%", "code": "LOYAL15", "weight": 15, "audience": 6_000,
     "data": {"discount_type": "percent", "discount_value": "15", "audience": "patients"}},
    {"name": "Refer a friend", "code": "REFER5", "weight": 10,
     "data": {"discount_type": "percent", "discount_value": "5"}},
]
COPY_COLUMNS = ("clinic_id", "promotion_key", "promotion_kind", "promotion_id", "promotion_name", "patient_id",
                "status", "discount_type", "discount_value", "discount_label", "order_id", "discount_amount",
                "order_total", "created_at", "applied_at", "channel", "tier", "event_id")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def read_memory(pid: int | str = "self") -> dict | None:
    """A process's peak RSS (VmHWM: since it started, or since the last `reset_peak`) and RSS now, in MB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    values = {line.split(":")[0]: int(line.split()[1]) / 1024 for line in status.splitlines()
              if line.startswith(("VmHWM", "VmRSS"))}
    return {"peak_rss_mb": round(values["VmHWM"], 1), "rss_mb": round(values["VmRSS"], 1)}


def reset_peak(pid: int | str = "self") -> None:
    """Start a new peak-RSS window: Linux resets VmHWM to the current RSS on `5` into clear_refs."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass


class MemoryWindows:
    """Peak RSS of some processes over windows of events: at each mark, each process's peak in the
    window just ended, its peak since it started (the largest window so far) and its RSS now."""

    def __init__(self):
        self.since_start: dict[str, float] = {}
        self.marks: dict[str, dict] = {}

    def mark(self, label: str, pids: list, extra: dict | None = None) -> None:
        processes = {}
        for pid in pids:
            now = read_memory(pid)
            if now is None:
                continue
            key = str(pid)
            self.since_start[key] = max(self.since_start.get(key, 0.0), now["peak_rss_mb"])
            processes[key] = {"window_peak_mb": now["peak_rss_mb"], "peak_rss_mb": self.since_start[key],
                              "rss_mb": now["rss_mb"]}
            reset_peak(pid)
        self.marks[label] = {"processes": processes, **(extra or {})}

    def largest(self, label: str, field: str) -> float | None:
        values = [p[field] for p in self.marks[label]["processes"].values()]
        return max(values) if values else None


# --- the events ---------------------------------------------------------------------------------


class Events:
    """Redemption events for a seeded clinic (its context from `ensure_clinic`), reproducible from `seed`.

    `batch(n)` gives the next n of `total` events spread evenly, in time order, over the `days`
    before `end`; `now_event()` one redeemed in the last 30 seconds (the real-time feed). Patients
    are skewed (some redeem far more often than others), and the audience promo is mostly redeemed
    by its audience. 30% of events name the patient by our id, the rest by the clinic's external id.
    """

    def __init__(self, ctx: dict, *, run_id: str, seed: int, total: int = 1, days: float = 1.0,
                 end: datetime | None = None):
        self.rng = random.Random(seed)
        self.run_id = run_id
        self.patients = ctx["patients"]  # [[external_id, pk], ...]
        self.external = {pk: external for external, pk in self.patients}
        self.promotions = ctx["promotions"]
        self.weights = [p["weight"] for p in self.promotions]
        self.end = end or datetime.now(UTC) - timedelta(minutes=1)
        self.span = timedelta(days=days)
        self.total = max(1, total)
        self.n = 0

    def _event(self, moment: datetime) -> dict:
        rng = self.rng
        promotion = rng.choices(self.promotions, self.weights)[0]
        if promotion["audience"] and rng.random() < 0.9:
            pk = rng.choice(promotion["audience"])
            external = self.external[pk]
        else:
            external, pk = self.patients[int(len(self.patients) * rng.random() ** 1.5)]
        event = {"event_id": f"{self.run_id}-{self.n}", "promotion_id": promotion["key"],
                 "redeemed_at": moment.isoformat(timespec="seconds")}
        if rng.random() < 0.3:
            event["patient_id"] = str(pk)
        else:
            event["external_id"] = external
        if promotion["tiers"]:
            amount = rng.uniform(50, 320)
            event["tier"] = [t for t in promotion["tiers"] if float(t) <= amount][-1]
        else:
            amount = rng.uniform(15, 250)
        event["amount"] = f"{amount:.2f}"
        self.n += 1
        return event

    def batch(self, size: int) -> list[dict]:
        start = self.end - self.span
        return [self._event(start + self.span * ((self.n + self.rng.random()) / self.total)) for _ in range(size)]

    def now_event(self) -> dict:
        return self._event(datetime.now(UTC) - timedelta(seconds=self.rng.uniform(1, 30)))


# --- inside Django (child processes) -------------------------------------------------------------


def setup_django(env: dict) -> None:
    sys.path[:0] = [str(ROOT), str(BENCH_DIR)]
    os.environ.update(env)
    if "CACHE_URL" not in env:
        os.environ.pop("CACHE_URL", None)
    import django

    django.setup()


def ensure_clinic(slug: str, *, patients: int = PATIENTS) -> dict:
    """The bench clinic with its patients, RFM segments and promos (made once, then reused); its context."""
    from decimal import Decimal

    from django.db import transaction
    from django.utils import timezone as dj_timezone

    from clinic_crm.patients.models import Patient, RfmScore
    from clinic_crm.tenancy.context import clinic_scope
    from clinic_crm.tenancy.models import Clinic
    from clinic_crm.tenancy.services import create_clinic
    from promos.events import Actor
    from promos.models import Promo
    from promos.services import create_promo
    from redemptions.models import Assignment, PromotionTally, Redemption
    from redemptions.registry import get_promotion

    with transaction.atomic():
        clinic = Clinic.objects.filter(slug=slug).first() or create_clinic(
            name=f"Bench {slug}", slug=slug, timezone_name="Europe/London", currency="GBP", locale="uk")
    rng = random.Random(20261207)
    with clinic_scope(clinic.pk):
        have = Patient.objects.count()
        if have < patients:
            log(f"Seeding {patients - have:,} patients in clinic {slug}")
            Patient.objects.bulk_create(
                [Patient(clinic_id=clinic.pk, first_name=f"Pat{i}", last_name="Bench", email=f"p{i}@ingest.bench",
                         external_id=f"p-{i}") for i in range(have, patients)], batch_size=2000)
        pairs = list(Patient.objects.filter(external_id__startswith="p-").order_by("id")
                     .values_list("external_id", "pk"))
        scored = set(RfmScore.objects.values_list("patient_id", flat=True))
        now = dj_timezone.now()
        RfmScore.objects.bulk_create(  # 85% have orders, so a segment; the rest count as "no orders yet"
            [RfmScore(clinic_id=clinic.pk, patient_id=pk, recency=rng.randint(1, 5), frequency=rng.randint(1, 5),
                      monetary=rng.randint(1, 5), segment=rng.choice(SEGMENTS), computed_at=now)
             for _, pk in pairs if pk not in scored and rng.random() < 0.85], batch_size=2000)
        actor = Actor(id=None, name="Bench", email="bench@example.com")
        promos = {promo.name: promo for promo in Promo.objects.all()}
        promotions = []
        for spec in PROMOTIONS:
            promo = promos.get(spec["name"])
            if promo is None:
                data = {"name": spec["name"], "code": spec["code"], "status": "active", **spec["data"]}
                for key in ("discount_value",):
                    if key in data:
                        data[key] = Decimal(data[key])
                for tier in data.get("tiers", []):
                    tier["discount_value"] = Decimal(tier["discount_value"])
                if spec.get("audience"):
                    data["audience_patient_ids"] = [pk for _, pk in pairs[:spec["audience"]]]
                promo = create_promo(clinic=clinic, data=data, actor=actor)
                # As the tests do: the promo has been running for a while, so past events are after its start.
                Promo.objects.filter(pk=promo.pk).update(created_at=now - timedelta(days=HISTORY_DAYS))
            info = get_promotion(clinic=clinic, promotion_key=promo.promotion_key)
            audience = [pk for _, pk in pairs[:spec["audience"]]] if spec.get("audience") else []
            promotions.append({"key": info.key, "id": info.id, "name": info.name, "weight": spec["weight"],
                               "tiers": list(info.tiers), "audience": audience,
                               "reporting_start": info.reporting_start.isoformat(),
                               "discount_type": info.discount_type,
                               "discount_value": None if info.discount_value is None else str(info.discount_value),
                               "discount_label": info.discount_label})
        ledger = {"redemptions": Redemption.objects.count(), "assignments": Assignment.objects.count(),
                  "tallies": PromotionTally.objects.count()}
    return {"clinic_id": clinic.pk, "slug": clinic.slug, "patients": pairs, "promotions": promotions,
            "ledger": ledger}


def fresh_api_key(clinic_id: int) -> str:
    from django.db import transaction

    from clinic_crm.tenancy.choices import ApiScope
    from clinic_crm.tenancy.models import ApiKey, Clinic
    from clinic_crm.tenancy.services import create_api_key, revoke_api_key

    clinic = Clinic.objects.get(pk=clinic_id)
    with transaction.atomic():
        for old in ApiKey.objects.filter(clinic=clinic, name=KEY_NAME, revoked_at__isnull=True):
            revoke_api_key(api_key=old)
        _, key = create_api_key(clinic=clinic, name=KEY_NAME, scopes=[ApiScope.POS, ApiScope.EVENTS])
    return key


def vacuum_analyze() -> None:
    """What autovacuum would have done (it is off on the bench boxes): statistics and the visibility map."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("patients_patient", "patients_rfmscore", "redemptions_redemption", "redemptions_assignment",
                      "redemptions_promotiontally"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def consistency(clinic_id: int) -> dict:
    """The tallies' sums against the ledger and the assignments they count (all in the clinic's scope)."""
    from django.db.models import Count, Q, Sum

    from clinic_crm.tenancy.context import clinic_scope
    from redemptions.models import Assignment, PromotionTally, Redemption

    with clinic_scope(clinic_id):
        ledger = Redemption.objects.filter(status="applied").aggregate(n=Count("id"), revenue=Sum("order_total"))
        held = Assignment.objects.aggregate(n=Count("id"), redeemed=Count("id", filter=Q(redeemed_at__isnull=False)),
                                            redemptions=Sum("redemptions"))
        tally = PromotionTally.objects.aggregate(assigned=Sum("assigned"), redeemed=Sum("redeemed"),
                                                 redemptions=Sum("redemptions"), revenue=Sum("revenue"))
    pairs = {"redemptions (ledger = tallies = assignments)": (ledger["n"], tally["redemptions"], held["redemptions"]),
             "assigned patients (assignments = tallies)": (held["n"], tally["assigned"]),
             "redeemed patients (assignments = tallies)": (held["redeemed"], tally["redeemed"]),
             "revenue (ledger = tallies)": (str(ledger["revenue"]), str(tally["revenue"]))}
    return {"ok": all(len(set(values)) == 1 for values in pairs.values()),
            "checks": {name: list(values) for name, values in pairs.items()}}


def ingest_direct(ctx: dict, *, total: int, days: float, run_id: str, seed: int, checkpoint: int,
                  batch: int = BATCH) -> dict:
    """`total` events through `ingest_redemption_events`, `batch` at a time, each in the clinic's scope,
    as the batch API calls it; this process's peak RSS before, at `checkpoint` events and at the end."""
    import gc

    from clinic_crm.tenancy.context import clinic_scope
    from clinic_crm.tenancy.models import Clinic
    from redemptions.models import Assignment
    from redemptions.services.events import ingest_redemption_events

    clinic = Clinic.objects.get(pk=ctx["clinic_id"])
    events = Events(ctx, run_id=run_id, seed=seed, total=total, days=days)
    gc.collect()
    before = peak_rss_mb()
    windows = MemoryWindows()
    windows.mark("0", ["self"])
    seconds, accepted, marks = [], 0, {}
    started = time.perf_counter()
    while events.n < total:
        items = events.batch(min(batch, total - events.n))
        began = time.perf_counter()
        with clinic_scope(clinic.pk):
            outcome = ingest_redemption_events(clinic=clinic, events=items)
        seconds.append(time.perf_counter() - began)
        accepted += outcome.accepted
        if outcome.accepted != len(items):
            refused = [r.as_dict() for r in outcome.results if r.status != "accepted"][:3]
            raise SystemExit(f"batch {len(seconds)}: {outcome.accepted} of {len(items)} accepted, e.g. {refused}")
        if events.n % checkpoint == 0 or events.n == total:
            with clinic_scope(clinic.pk):
                held = Assignment.objects.count()
            windows.mark(str(events.n), ["self"], {"assignments": held,
                                                   "seconds": round(time.perf_counter() - started, 1)})
            # Since the start: the largest window so far (VmHWM and ru_maxrss restart at each mark).
            marks[events.n] = {"peak_rss_mb": windows.since_start["self"],
                               "seconds": round(time.perf_counter() - started, 1)}
            log(f"  {events.n:>9,} events, {events.n / (time.perf_counter() - started):,.0f}/s, "
                f"peak RSS {windows.since_start['self']:.1f} MB")
    wall = time.perf_counter() - started
    return {"events": total, "accepted": accepted, "batches": len(seconds), "seconds": round(wall, 1),
            "events_per_s": round(total / wall), "batch_s_median": round(statistics.median(seconds), 2),
            "batch_s_max": round(max(seconds), 2), "peak_rss_before_mb": round(before, 1),
            "checkpoints": {str(k): v for k, v in marks.items()}, "windows": windows.marks}


def child_main(args) -> int:
    env = json.loads(os.environ.pop("INGEST_BENCH_ENV"))
    setup_django(env)
    if args.child == "seed":
        ctx = ensure_clinic(args.clinic)
        ctx["api_key"] = fresh_api_key(ctx["clinic_id"])
        vacuum_analyze()
        print(json.dumps(ctx))
    elif args.child == "check":
        print(json.dumps(consistency(json.loads(sys.stdin.read())["clinic_id"])))
    elif args.child == "direct":
        spec = json.loads(sys.stdin.read())
        print(json.dumps(ingest_direct(spec["ctx"], total=spec["total"], days=spec["days"], run_id=spec["run_id"],
                                       seed=spec["seed"], checkpoint=spec["checkpoint"])))
    return 0


# --- the parent: HTTP clients, COPY, reporting ----------------------------------------------------


def run_child(python: str, env: dict, mode: str, args, stdin: str | None = None) -> dict:
    command = [python, __file__, "--child", mode, "--clinic", args.clinic]
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, "INGEST_BENCH_ENV": json.dumps(env)},
                          input=stdin, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {mode} step failed (see above)")
    return json.loads(done.stdout.strip().splitlines()[-1])


def post(port: int, path: str, body: bytes, api_key: str, timeout: float = 300) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("POST", path, body, {"Authorization": f"Api-Key {api_key}", "Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


class CpuMeter:
    """Cores used by the app (gunicorn's tree), this process (the clients) and everything else."""

    def __init__(self, server_pid: int | None):
        self.server_pid = server_pid

    def __enter__(self):
        self.box = runner.box_cpu_seconds()
        self.app = runner.tree_cpu_seconds(self.server_pid) if self.server_pid else 0.0
        self.own = sum(os.times()[:2])
        self.wall = time.perf_counter()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.wall
        busy_after, _ = runner.box_cpu_seconds()
        app = (runner.tree_cpu_seconds(self.server_pid) if self.server_pid else 0.0) - self.app
        own = sum(os.times()[:2]) - self.own
        self.result = {"cpu_app": round(app / wall, 2), "cpu_clients": round(own / wall, 2),
                       "cpu_other": round(max(0.0, busy_after - self.box[0] - app - own) / wall, 2)}


def realtime(port: int, ctx: dict, api_key: str, *, clients: int, duration: float, run_id: str,
             healthz: bool = False) -> dict:
    """`clients` threads, each on one kept-alive connection (reopened when the server closes it),
    sending one event per request back to back for `duration` seconds (with `healthz`, GET /healthz
    instead: the bare Django view, performance.md's baseline B)."""
    deadline = time.monotonic() + duration
    results: list[list] = [[] for _ in range(clients)]
    headers = {"Authorization": f"Api-Key {api_key}", "Content-Type": "application/json"}

    def client(number: int) -> None:
        events = Events(ctx, run_id=f"{run_id}-c{number}", seed=hash((run_id, number)) & 0xFFFFFFFF)
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        out = results[number]
        expect = 200 if healthz else 202
        while time.monotonic() < deadline:
            body = None if healthz else json.dumps(events.now_event()).encode()
            began = time.perf_counter()
            try:
                if healthz:
                    conn.request("GET", "/healthz")
                else:
                    conn.request("POST", SINGLE_PATH, body, headers)
                response = conn.getresponse()
                response.read()
                status = response.status
                if response.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
                conn.close()
            out.append((status == expect, status, time.perf_counter() - began))
        conn.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    flat = [item for per_client in results for item in per_client]
    ok = [latency for good, _, latency in flat if good]
    statuses: dict[str, int] = {}
    for _, status, _ in flat:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {"path": "/healthz" if healthz else SINGLE_PATH, "clients": clients, "requests": len(flat),
            "accepted": len(ok), "errors": len(flat) - len(ok),
            "statuses": statuses, "seconds": round(wall, 2), "events_per_s": round(len(ok) / wall, 1),
            "p50_ms": _ms(percentile(ok, 0.50)), "p95_ms": _ms(percentile(ok, 0.95)),
            "p99_ms": _ms(percentile(ok, 0.99))}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def batch_bodies(ctx: dict, *, batches: int, events_per_day: float, run_id: str, seed: int) -> list[list[dict]]:
    total = batches * BATCH
    events = Events(ctx, run_id=run_id, seed=seed, total=total, days=total / events_per_day)
    return [events.batch(BATCH) for _ in range(batches)]


def send_batches(port: int, api_key: str, bodies: list[bytes], *, clients: int) -> dict:
    """The batches from `clients` clients at once, each sending its share one after another."""
    lock = threading.Lock()
    pending = list(enumerate(bodies))
    outcomes: list[dict] = []

    def client() -> None:
        while True:
            with lock:
                if not pending:
                    return
                number, body = pending.pop(0)
            began = time.perf_counter()
            try:
                status, raw = post(port, BATCH_PATH, body, api_key)
            except (OSError, http.client.HTTPException) as exc:
                status, raw = type(exc).__name__, b""
            seconds = time.perf_counter() - began
            answer = json.loads(raw) if status == 200 else {}
            with lock:
                outcomes.append({"batch": number, "status": status, "seconds": round(seconds, 3),
                                 "accepted": answer.get("accepted", 0), "duplicates": answer.get("duplicates", 0),
                                 "rejected": answer.get("rejected", 0),
                                 "error": None if status == 200 else raw[:300].decode(errors="replace")})

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    accepted = sum(o["accepted"] for o in outcomes)
    times = [o["seconds"] for o in outcomes if o["status"] == 200]
    return {"clients": clients, "batches": len(bodies), "events": len(bodies) * BATCH, "accepted": accepted,
            "errors": len(bodies) * BATCH - accepted, "seconds": round(wall, 2),
            "events_per_s": round(accepted / wall, 1), "batch_s_median": round(statistics.median(times), 2) if times
            else None, "batch_s_max": round(max(times), 2) if times else None,
            "outcomes": sorted(outcomes, key=lambda o: o["batch"])}


def copy_rows(ctx: dict, batches: list[list[dict]]) -> list[tuple]:
    """The ledger rows `ingest_redemption_events` would store for these events (every column but id)."""
    by_external = {external: pk for external, pk in ctx["patients"]}
    promotions = {p["key"]: p for p in ctx["promotions"]}
    now = datetime.now(UTC).isoformat()
    rows = []
    for batch in batches:
        for e in batch:
            p = promotions[e["promotion_id"]]
            patient = int(e["patient_id"]) if "patient_id" in e else by_external[e["external_id"]]
            rows.append((ctx["clinic_id"], p["key"], "promo", p["id"], p["name"], patient, "applied",
                         p["discount_type"], p["discount_value"], p["discount_label"], None, None, e["amount"], now,
                         e["redeemed_at"], "event", e.get("tier", ""), e["event_id"]))
    return rows


def _copy_text(rows: list[tuple]) -> bytes:
    def field(value) -> str:
        if value is None:
            return r"\N"
        return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")

    return "".join("\t".join(field(v) for v in row) + "\n" for row in rows).encode()


def copy_rates(database_url: str, rows: list[tuple], repeats: int = 5) -> dict:
    """COPY the rows into a bare copy of the ledger table, UNLOGGED (the ratio's base) and logged,
    alternately, `repeats` times each (a busy box slows both alike); the median of each."""
    import psycopg2

    data = _copy_text(rows)
    columns = ", ".join(COPY_COLUMNS)
    kinds = {"unlogged": "UNLOGGED ", "logged": ""}
    seconds: dict[str, list[float]] = {name: [] for name in kinds}
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor() as cursor:
            for name, kind in kinds.items():
                cursor.execute(f"DROP TABLE IF EXISTS bench_copy_redemption_{name}")
                # Columns, types and NOT NULL only: no indexes, no foreign keys, no RLS, no triggers.
                cursor.execute(f"CREATE {kind}TABLE bench_copy_redemption_{name} (LIKE redemptions_redemption)")
                cursor.execute(f"ALTER TABLE bench_copy_redemption_{name} ALTER COLUMN id "
                               "ADD GENERATED BY DEFAULT AS IDENTITY")
        conn.commit()
        for _ in range(repeats):
            for name in kinds:
                table = f"bench_copy_redemption_{name}"
                with conn.cursor() as cursor:
                    cursor.execute(f"TRUNCATE {table}")
                conn.commit()
                began = time.perf_counter()
                with conn.cursor() as cursor:
                    cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", io.BytesIO(data))
                conn.commit()
                seconds[name].append(time.perf_counter() - began)
        out = {}
        with conn.cursor() as cursor:
            for name in kinds:
                cursor.execute(f"SELECT count(*) FROM bench_copy_redemption_{name}")
                copied = cursor.fetchone()[0]
                cursor.execute(f"DROP TABLE bench_copy_redemption_{name}")
                if copied != len(rows):
                    raise SystemExit(f"COPY stored {copied} rows of {len(rows)}")
                median = statistics.median(seconds[name])
                out[name] = {"rows": len(rows), "seconds": round(median, 3),
                             "seconds_all": [round(s, 3) for s in seconds[name]],
                             "events_per_s": round(len(rows) / median, 1)}
        conn.commit()
    finally:
        conn.close()
    return out


def worker_memory(server_pid: int) -> dict[int, dict]:
    """gunicorn's worker processes (the master's children), each with its peak RSS and RSS now."""
    workers = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = runner._stat_fields(int(entry.name))
        if fields is None or fields[1] != str(server_pid):
            continue
        memory = read_memory(entry.name)
        if memory is not None:
            workers[int(entry.name)] = memory
    return workers


def count_assignments(database_url: str, ctx: dict) -> int:
    """The clinic's assignments, read as the app role in the clinic's scope (RLS applies)."""
    import psycopg2

    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT set_config('app.clinic_id', %s, true)", [str(ctx["clinic_id"])])
            cursor.execute("SELECT count(*) FROM redemptions_assignment")
            return cursor.fetchone()[0]
    finally:
        conn.close()


def memory_over_http(args, env: dict, python: str, ctx: dict, api_key: str, run_id: str, log_dir: Path) -> dict:
    """`--events` in 10,000-event batches, one after another, to a freshly started gunicorn."""
    port = runner.free_port()
    server = runner.start_server(args, env, python, port, log_dir / f"gunicorn-ingest-memory-{run_id}.log")
    try:
        status, _ = post(port, SINGLE_PATH, json.dumps(Events(ctx, run_id=f"{run_id}-m", seed=3).now_event()).encode(),
                         api_key)
        if status != 202:
            raise SystemExit(f"the warm-up event answered {status}")
        windows = MemoryWindows()
        windows.mark("0", list(worker_memory(server.pid)), {"assignments": count_assignments(args.database_url, ctx)})
        total = args.events
        events = Events(ctx, run_id=f"{run_id}-mem", seed=11, total=total, days=total / args.events_per_day)
        started = time.perf_counter()
        accepted, times = 0, []
        while events.n < total:
            body = json.dumps({"events": events.batch(min(BATCH, total - events.n))}).encode()
            began = time.perf_counter()
            status, raw = post(port, BATCH_PATH, body, api_key)
            times.append(time.perf_counter() - began)
            if status != 200:
                raise SystemExit(f"batch {len(times)} answered {status}: {raw[:300]!r}")
            accepted += json.loads(raw)["accepted"]
            if events.n % args.checkpoint == 0 or events.n == total:
                windows.mark(str(events.n), list(worker_memory(server.pid)),
                             {"assignments": count_assignments(args.database_url, ctx),
                              "seconds": round(time.perf_counter() - started, 1)})
            if len(times) % 10 == 0:
                log(f"  {events.n:>9,} events over HTTP, {events.n / (time.perf_counter() - started):,.0f}/s")
        wall = time.perf_counter() - started
    finally:
        runner.stop_server(server)
    return {"via": "http", "workers": args.workers, "events": total, "accepted": accepted,
            "seconds": round(wall, 1), "events_per_s": round(accepted / wall), "batch_s_median":
            round(statistics.median(times), 2), "batch_s_max": round(max(times), 2), "windows": windows.marks}


def memory_direct(args, env: dict, python: str, ctx: dict, run_id: str) -> dict:
    spec = {"ctx": ctx, "total": args.events, "days": args.events / args.events_per_day, "run_id": f"{run_id}-dir",
            "seed": 13, "checkpoint": args.checkpoint}
    result = run_child(python, env, "direct", args, stdin=json.dumps(spec))
    result["via"] = "direct"
    return result


def table(header: list[str], lines: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for line in lines:
        out.append("| " + " | ".join((c.ljust(w) if i == 0 else c.rjust(w))
                                      for i, (c, w) in enumerate(zip(line, widths))) + " |")
    return "\n".join(out)


def parse_args(argv=None):
    cpus = os.cpu_count() or 2
    parser = argparse.ArgumentParser(description="Redemption events in: HTTP single and batch rates against a bare "
                                                 "COPY, and the memory of 1,000,000 events in batches.")
    parser.add_argument("--events", type=int, default=1_000_000,
                        help="events sent in batches of 10,000 for the memory check (default 1,000,000; 0 skips it)")
    parser.add_argument("--checkpoint", type=int, default=100_000,
                        help="the first memory reading is after this many events (default 100,000)")
    parser.add_argument("--memory-via", default="http", choices=["http", "direct", "both"],
                        help="http: peak RSS of gunicorn's workers (default); direct: of a child process calling "
                             "ingest_redemption_events itself")
    parser.add_argument("--clients", default="4,16", help="concurrent clients of the single-event runs (default 4,16)")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of each single-event run (default 15)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of discarded single-event load first")
    parser.add_argument("--batches", type=int, default=6, help="10,000-event batches per batch run (default 6)")
    parser.add_argument("--batch-clients", default="1,2", help="concurrent clients of the batch runs (default 1,2)")
    parser.add_argument("--events-per-day", type=float, default=5_000,
                        help="how densely batch events are spread over past days (default 5,000 a day)")
    parser.add_argument("--clinic", default="ingest", help="the bench clinic's slug (default ingest; made once)")
    parser.add_argument("--workers", type=int, default=2 * cpus + 1,
                        help="gunicorn sync workers (default 2 x CPUs + 1)")
    parser.add_argument("--conn-max-age", type=int, default=60, help="CONN_MAX_AGE (default 60, as docker-compose)")
    parser.add_argument("--cache-url", default="", help="CACHE_URL for the app, e.g. rediscache://127.0.0.1:6379/3 "
                                                        "(production); default the file cache, as bench/run.py")
    parser.add_argument("--max-growth-mb", type=float, default=None,
                        help="exit non-zero when the peak RSS grows by more than this from the checkpoint to the end")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--output", help="JSON file (default bench/results/ingest-<time>.json)")
    parser.add_argument("--child", choices=["seed", "direct", "check"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.client_counts = [int(n) for n in args.clients.split(",") if n.strip()]
    args.batch_client_counts = [int(n) for n in args.batch_clients.split(",") if n.strip()]
    args.checkpoint = min(args.checkpoint, args.events) or BATCH
    if args.checkpoint % BATCH or args.events % BATCH:
        parser.error("--events and --checkpoint must be multiples of 10,000")
    args.worker_class, args.threads = "sync", 1  # as bench/run.py starts production's gunicorn
    return args


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)  # unwinds through `finally`, which stops gunicorn


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        return child_main(args)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    python = runner.project_python(None)
    results_dir = BENCH_DIR / "results"
    results_dir.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_id = f"{stamp}-{secrets.token_hex(2)}"
    load_before = os.getloadavg()[0]
    if load_before > 0.5:
        log(f"Note: the 1-minute load average is {load_before:.2f} before starting; other work on the box shows "
            "up as lower rates and in the CPU 'other' column.")
    env = runner.app_env(args, secrets.token_urlsafe(50))
    # bench/run.py's preparation: create and migrate the bench database, collect the static files.
    runner.prepare(SimpleNamespace(patients=1, scenarios=[], database_url=args.database_url), env, python)
    log(f"Seeding clinic {args.clinic} ({PATIENTS:,} patients, {len(PROMOTIONS)} promos; once)")
    seed_started = time.perf_counter()
    ctx = run_child(python, env, "seed", args)
    log(f"Seeded/checked the clinic in {time.perf_counter() - seed_started:.0f} s")
    api_key = ctx.pop("api_key")
    log(f"Clinic {ctx['slug']} (id {ctx['clinic_id']}): ledger at start {ctx['ledger']}")
    results: dict = {"args": {k: v for k, v in vars(args).items() if k != "database_url"},
                     "database": args.database_url.rsplit("@", 1)[-1], "clinic": ctx["slug"],
                     "ledger_at_start": ctx["ledger"], "cpus": os.cpu_count(), "load_before": load_before,
                     "promotions": [{k: p[k] for k in ("key", "name", "weight", "tiers")} for p in ctx["promotions"]]}

    bodies = batch_bodies(ctx, batches=args.batches, events_per_day=args.events_per_day, run_id=f"{run_id}-b1",
                          seed=5) if args.batches and args.batch_client_counts else []
    results["realtime"], results["healthz"], results["batch"] = [], [], []
    http_phases = bool(args.client_counts or bodies)
    port = runner.free_port()
    server = runner.start_server(args, env, python, port, results_dir / f"gunicorn-ingest-{stamp}.log") \
        if http_phases else None
    try:
        # 1. Real-time: one event per request.
        # Each beside the bare view with the same clients, back to back, for the box's speed.
        for clients in args.client_counts:
            for healthz in (True, False):
                if args.warmup > 0:
                    realtime(port, ctx, api_key, clients=clients, duration=args.warmup,
                             run_id=f"{run_id}-w{clients}", healthz=healthz)
                with CpuMeter(server.pid) as meter:
                    row = realtime(port, ctx, api_key, clients=clients, duration=args.duration,
                                   run_id=f"{run_id}-r{clients}", healthz=healthz)
                row.update(meter.result)
                results["healthz" if healthz else "realtime"].append(row)
                log(f"{'GET /healthz' if healthz else 'single events'}, {clients} clients: "
                    f"{row['events_per_s']:,.1f}/s, p95 {row['p95_ms']} ms, errors {row['errors']} "
                    f"{row['statuses'] if row['errors'] else ''}")
        # 2. Batches of 10,000: the first run sends `bodies` (the COPY's rows), later runs new events.
        for number, clients in enumerate(args.batch_client_counts if bodies else []):
            these = bodies if number == 0 else batch_bodies(
                ctx, batches=args.batches, events_per_day=args.events_per_day, run_id=f"{run_id}-b{number + 1}",
                seed=5 + number)
            encoded = [json.dumps({"events": b}).encode() for b in these]
            with CpuMeter(server.pid) as meter:
                row = send_batches(port, api_key, encoded, clients=clients)
            row.update(meter.result)
            row["body_mb"] = round(statistics.median(len(b) for b in encoded) / 2**20, 2)
            results["batch"].append(row)
            log(f"batches of 10,000, {clients} client(s): {row['events_per_s']:,.1f} events/s, a batch "
                f"{row['batch_s_median']} s (max {row['batch_s_max']}), errors {row['errors']}")
    finally:
        if server is not None:
            runner.stop_server(server)

    # 3. A bare COPY of the first batch run's rows.
    if bodies:
        results["copy"] = copy_rates(args.database_url, copy_rows(ctx, bodies))
        log(f"COPY of the same {len(bodies) * BATCH:,} rows: unlogged "
            f"{results['copy']['unlogged']['events_per_s']:,.0f} rows/s, logged "
            f"{results['copy']['logged']['events_per_s']:,.0f} rows/s")
    base = results["copy"]["unlogged"]["events_per_s"] if bodies else None

    # 4. Memory over --events.
    results["memory"] = []
    if args.events:
        vias = ["http", "direct"] if args.memory_via == "both" else [args.memory_via]
        for via in vias:
            log(f"Memory: {args.events:,} events in batches of 10,000 ({via})")
            results["memory"].append(memory_over_http(args, env, python, ctx, api_key, run_id, results_dir)
                                     if via == "http" else memory_direct(args, env, python, ctx, run_id))

    results["consistency"] = run_child(python, env, "check", args, stdin=json.dumps({"clinic_id": ctx["clinic_id"]}))
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    results["git_head"] = head.stdout.strip()

    # Report.
    lines = []
    for name in ("unlogged", "logged") if base else ():
        c = results["copy"][name]
        lines.append([f"COPY into a bare {name} table", f"{c['rows']:,}", f"{c['seconds']:.2f}",
                      f"{c['events_per_s']:,.0f}", f"{c['events_per_s'] / base:.3f}", "-", "0", "-"])
    for r in results["healthz"]:
        lines.append([f"bare GET /healthz (B), {r['clients']} clients", f"{r['accepted']:,}", f"{r['seconds']:.1f}",
                      f"{r['events_per_s']:,.1f} req", "-", f"{r['p50_ms']} / {r['p95_ms']} / {r['p99_ms']}",
                      f"{r['errors']}", f"{r['cpu_app']:.2f} / {r['cpu_other']:.2f} / {r['cpu_clients']:.2f}"])
    for r in results["realtime"]:
        b = next(h for h in results["healthz"] if h["clients"] == r["clients"])
        r["vs_healthz"] = round(r["events_per_s"] / b["events_per_s"], 3) if b["events_per_s"] else None
        lines.append([f"single event HTTP, {r['clients']} clients ({r['vs_healthz']} of B)", f"{r['accepted']:,}",
                      f"{r['seconds']:.1f}",
                      f"{r['events_per_s']:,.1f}", f"{r['events_per_s'] / base:.4f}" if base else "-",
                      f"{r['p50_ms']} / {r['p95_ms']} / {r['p99_ms']}", f"{r['errors']}",
                      f"{r['cpu_app']:.2f} / {r['cpu_other']:.2f} / {r['cpu_clients']:.2f}"])
    for r in results["batch"]:
        lines.append([f"batch of 10,000 HTTP, {r['clients']} client(s)", f"{r['accepted']:,}", f"{r['seconds']:.1f}",
                      f"{r['events_per_s']:,.0f}", f"{r['events_per_s'] / base:.4f}" if base else "-",
                      f"batch {r['batch_s_median']} s (max {r['batch_s_max']})", f"{r['errors']}",
                      f"{r['cpu_app']:.2f} / {r['cpu_other']:.2f} / {r['cpu_clients']:.2f}"])
    setup = (f"clinic {ctx['slug']} ({len(ctx['patients']):,} patients, {len(ctx['promotions'])} promos, "
             f"ledger at start "
             f"{ctx['ledger']['redemptions']:,} redemptions), gunicorn {args.workers} sync workers, CONN_MAX_AGE="
             f"{args.conn_max_age}, cache {args.cache_url or 'file (default)'}, {os.cpu_count()} CPUs, load average "
             f"{load_before:.2f} before")
    print(setup)
    if lines:
        print(table(["path", "events", "s", "events/s", "vs COPY", "latency p50/p95/p99 ms", "errors",
                     "CPU app/other/clients"], lines))
    ok = all(r["errors"] == 0 for r in results["realtime"] + results["batch"]) and results["consistency"]["ok"]
    print("counts after the run (the clinic's ledger, assignments and tallies agree): "
          + ("yes" if results["consistency"]["ok"] else f"NO {results['consistency']['checks']}"))
    for m in results["memory"]:
        w = MemoryWindows()
        w.marks = m["windows"]
        labels = list(m["windows"])
        first_label, last_label = str(args.checkpoint), labels[-1]
        start = w.largest("0", "peak_rss_mb")
        first, last = w.largest(first_label, "peak_rss_mb"), w.largest(last_label, "peak_rss_mb")
        who = (f"gunicorn's {args.workers} workers (largest of them)" if m["via"] == "http"
               else "one process calling ingest_redemption_events")
        print(f"memory, {who}: {m['events']:,} events in {m['events'] // BATCH} batches of 10,000 at "
              f"{m['events_per_s']:,}/s; peak RSS {start} MB at start, {first} MB after {args.checkpoint:,} events, "
              f"{last} MB after {args.events:,} ({last - first:+.1f} MB)")
        print("  per window of events: peak RSS in the window / RSS at its end (MB), assignments in the clinic: "
              + "; ".join(f"{int(prev):,}-{int(label):,}: {w.largest(label, 'window_peak_mb')} / "
                          f"{w.largest(label, 'rss_mb')}, {m['windows'][label].get('assignments', '?'):,}"
                          for prev, label in itertools.pairwise(labels)))
        m["growth_mb"] = round(last - first, 1)
        if args.max_growth_mb is not None and m["growth_mb"] > args.max_growth_mb:
            ok = False
        ok &= m["accepted"] == m["events"]
    results["setup"] = setup
    output = Path(args.output) if args.output else results_dir / f"ingest-{stamp}.json"
    output.write_text(json.dumps(results, indent=2))
    log(f"Results: {output}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
