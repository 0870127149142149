"""Server time of a promo's detail page (/c/<slug>/promos/<id>/) against the size of the redemption ledger.

For each size N it makes sure one clinic, `detail-<N>`, exists in a separate database with 500
promos, a few thousand patients and N applied promo redemptions spread over the promos (skewed, so
one promo is clearly the busiest), each with its order. Rows are written by `INSERT … SELECT
generate_series` inside the clinic's scope (row-level security applies): 1,000,000 redemptions and
their orders take a minute or two, and a clinic already seeded at that size is reused. Then, in this
process, Django's test client (a staff user logged in with force_login) requests the busiest
promo's detail page: a few discarded warm-up requests, then the median server time of --requests
requests, and the number of SQL queries of one request.

    .venv/bin/python bench/promo_detail.py                        # 1,000 and 1,000,000 redemptions
    .venv/bin/python bench/promo_detail.py --sizes 1000,100000 --requests 50
    .venv/bin/python bench/promo_detail.py --explain              # also EXPLAIN ANALYZE the metrics query

Only PostgreSQL on 127.0.0.1. The database (default clinic_crm_bench_big) is created like
bench/run.py creates its own, and migrated first.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
DEFAULT_DATABASE_URL = "postgres://clinic_crm:clinic_crm@127.0.0.1:5432/clinic_crm_bench_big"
STAFF_EMAIL = "detail-bench@example.com"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Seed a clinic with 500 promos and N redemptions, then time the busiest promo's detail page "
                    "in-process (median server time and SQL query count) for each N.")
    parser.add_argument("--sizes", default="1000,1000000",
                        help="comma-separated redemption counts, one clinic each (default 1000,1000000)")
    parser.add_argument("--promos", type=int, default=500, help="promos per clinic (default 500)")
    parser.add_argument("--patients", type=int, default=5000, help="patients per clinic (default 5000)")
    parser.add_argument("--skew", type=float, default=2.0,
                        help="promo of a redemption = floor(promos x random()^skew): 1 is uniform, 2 (default) "
                             "gives the busiest promo about 4.5%% of all redemptions with 500 promos")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per size (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="discarded requests first (default 3)")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS) of the metrics query")
    parser.add_argument("--reseed", action="store_true", help="drop nothing, but seed new clinics (new slugs)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_BIG_DATABASE_URL", DEFAULT_DATABASE_URL),
                        help="PostgreSQL URL (env BENCH_BIG_DATABASE_URL); created if missing")
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes takes integers, e.g. 1000,1000000")
    if not args.sizes or min(args.sizes) < 1 or args.promos < 1 or args.patients < 1 or args.requests < 1:
        parser.error("sizes, --promos, --patients and --requests must be positive")
    url = urlsplit(args.database_url)
    if url.scheme not in ("postgres", "postgresql") or url.hostname != "127.0.0.1":
        parser.error("only PostgreSQL on 127.0.0.1")
    return args


def setup_django(args) -> None:
    sys.path[:0] = [str(ROOT), str(BENCH_DIR)]
    from prepare import ensure_database

    ensure_database(args.database_url)
    os.environ.update({
        "DATABASE_URL": args.database_url, "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "testserver", "CONN_MAX_AGE": "60", "CACHE_URL": "locmemcache://", "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "clinic_crm.settings",
    })
    import django

    django.setup()
    from django.core.management import call_command

    log("Migrating")
    call_command("migrate", interactive=False, verbosity=0)


# --- seeding ---------------------------------------------------------------------------------------------------

ORDERS_SQL = """
INSERT INTO orders_order (created_at, updated_at, reference, placed_at, currency, subtotal, discount_amount, total,
                          discount_source, discount_type, discount_value, source_key, source_id, source_name,
                          source_label, clinic_id, patient_id)
SELECT t, t, 'detail-' || g, t, 'GBP', s, round(s * 0.10, 2), s - round(s * 0.10, 2),
       'promo', 'percent', 10.00, 'promo_' || p.id, p.id, p.name, '10%% off', %(clinic)s, pt.id
FROM (
    SELECT g,
           now() - (random() * interval '365 days') AS t,
           (50 + floor(random() * 200))::numeric(12, 2) AS s,
           1 + floor(%(promos)s * power(random(), %(skew)s))::int AS promo_no,
           1 + floor(random() * %(patients)s)::int AS patient_no
    FROM generate_series(%(first)s, %(last)s) AS g
) AS r
JOIN (SELECT id, name, row_number() OVER (ORDER BY id) AS n FROM promos_promo WHERE clinic_id = %(clinic)s) AS p
  ON p.n = r.promo_no
JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM patients_patient WHERE clinic_id = %(clinic)s) AS pt
  ON pt.n = r.patient_no
"""

LEDGER_SQL = """
INSERT INTO redemptions_redemption (promotion_key, promotion_kind, promotion_id, promotion_name, status,
                                    discount_type, discount_value, discount_label, discount_amount, order_total,
                                    created_at, applied_at, clinic_id, order_id, patient_id)
SELECT o.source_key, 'promo', o.source_id, o.source_name, 'applied', 'percent', 10.00, '10%% off', o.discount_amount,
       o.total, o.placed_at, o.placed_at, o.clinic_id, o.id, o.patient_id
FROM orders_order o
WHERE o.clinic_id = %(clinic)s AND o.discount_source = 'promo' AND o.reference LIKE 'detail-%%'
  AND o.id > %(after_order)s
"""


def ensure_clinic(*, size: int, args) -> dict:
    """The clinic for this size, seeded if it is new; returns its slug, id and staff user."""
    from decimal import Decimal

    from django.db import connection, transaction

    from clinic_crm.patients.models import Patient
    from clinic_crm.tenancy.choices import Role
    from clinic_crm.tenancy.context import clinic_scope
    from clinic_crm.tenancy.models import Clinic
    from clinic_crm.tenancy.services import create_clinic, create_staff
    from promos.models import Promo, PromoCode
    from redemptions.models import Redemption

    slug = f"detail-{size}"
    if args.reseed:
        slug += "-" + secrets.token_hex(3)
    with transaction.atomic():
        clinic = Clinic.objects.filter(slug=slug).first() or create_clinic(
            name=f"Detail bench {size:,}", slug=slug, timezone_name="Europe/London", currency="GBP", locale="uk")
        membership, _ = create_staff(clinic=clinic, email=STAFF_EMAIL, role=Role.STAFF)
    with clinic_scope(clinic.pk):
        have = Redemption.objects.count()
    if have >= size:
        log(f"{slug}: reusing {have:,} redemptions")
        return {"clinic": clinic, "user": membership.user, "seed_s": None}

    started = time.monotonic()
    log(f"{slug}: seeding {args.promos} promos, {args.patients:,} patients, {size - have:,} orders and redemptions")
    with clinic_scope(clinic.pk):
        if Patient.objects.count() < args.patients:
            with connection.cursor() as cursor:
                cursor.execute("""
                    INSERT INTO patients_patient (created_at, updated_at, first_name, last_name, email, phone,
                                                  external_id, push_enabled, custom_fields, clinic_id)
                    SELECT now(), now(), 'Patient', 'No ' || g, 'p' || g || '@detail.test',
                           '+4471' || lpad(g::text, 8, '0'), 'detail-' || g, false, '{}'::jsonb, %s
                    FROM generate_series((SELECT count(*) FROM patients_patient WHERE clinic_id = %s) + 1, %s) AS g
                """, [clinic.pk, clinic.pk, args.patients])
        promo_count = Promo.objects.count()
        if promo_count < args.promos:
            promos = Promo.objects.bulk_create([
                Promo(clinic_id=clinic.pk, name=f"Detail promo {n}", kind="global", status="active",
                      discount_type="percent", discount_value=Decimal("10"))
                for n in range(promo_count, args.promos)
            ])
            PromoCode.objects.bulk_create([
                PromoCode(clinic_id=clinic.pk, promo=p, code=f"D{clinic.pk}X{p.pk}") for p in promos])
    # In batches of 250,000, one transaction each, so a batch never holds a huge transaction open.
    batch = 250_000
    first = have + 1
    while first <= size:
        last = min(size, first + batch - 1)
        with clinic_scope(clinic.pk), connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM orders_order WHERE clinic_id = %s", [clinic.pk])
            after_order = cursor.fetchone()[0]
            cursor.execute(ORDERS_SQL, {"clinic": clinic.pk, "promos": args.promos, "skew": args.skew,
                                        "patients": args.patients, "first": first, "last": last})
            cursor.execute(LEDGER_SQL, {"clinic": clinic.pk, "after_order": after_order})
        log(f"  {last:,} / {size:,} ({time.monotonic() - started:.0f} s)")
        first = last + 1
    with clinic_scope(clinic.pk), connection.cursor() as cursor:
        cursor.execute("""
            UPDATE promos_promo p SET uses = c.n, discounted = c.d
            FROM (SELECT promotion_id, count(*) AS n, sum(discount_amount) AS d FROM redemptions_redemption
                  WHERE clinic_id = %s AND status = 'applied' GROUP BY promotion_id) c
            WHERE p.id = c.promotion_id AND p.clinic_id = %s
        """, [clinic.pk, clinic.pk])
    vacuum_analyze()
    seed_s = time.monotonic() - started
    log(f"{slug}: seeded in {seed_s:.0f} s")
    return {"clinic": clinic, "user": membership.user, "seed_s": seed_s}


def vacuum_analyze() -> None:
    """What autovacuum does on a live system: statistics for the planner and an up-to-date visibility map."""
    from django.db import connection

    connection.ensure_connection()
    raw = connection.connection
    previous = raw.autocommit
    raw.autocommit = True
    try:
        with raw.cursor() as cursor:
            for table in ("orders_order", "redemptions_redemption", "patients_patient", "promos_promo"):
                cursor.execute(f"VACUUM (ANALYZE) {table}")
    finally:
        raw.autocommit = previous


# --- measuring -------------------------------------------------------------------------------------------------

def promos_to_measure(clinic_id: int) -> list[tuple[str, int, int]]:
    """(label, promo id, uses) of the busiest promo and of the one with the median number of uses."""
    from django.db import connection

    from clinic_crm.tenancy.context import clinic_scope

    with clinic_scope(clinic_id), connection.cursor() as cursor:
        cursor.execute("""
            SELECT promotion_id, count(*) FROM redemptions_redemption
            WHERE clinic_id = %s AND status = 'applied' GROUP BY promotion_id ORDER BY 2 DESC, 1
        """, [clinic_id])
        ranked = cursor.fetchall()
    busiest, median = ranked[0], ranked[len(ranked) // 2]
    return [("busiest", *busiest), ("median", *median)]


def measure(*, clinic, user, promo_id: int, args) -> dict:
    from django.conf import settings
    from django.test.utils import override_settings

    # Templates use {% static %}; without collectstatic there is no manifest, so serve plain names.
    storages = {**settings.STORAGES,
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with override_settings(STORAGES=storages):
        return _measure(clinic=clinic, user=user, promo_id=promo_id, args=args)


def _measure(*, clinic, user, promo_id: int, args) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    url = f"/c/{clinic.slug}/promos/{promo_id}/"
    for _ in range(args.warmup):
        response = client.get(url, secure=True)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
    times = []
    for _ in range(args.requests):
        started = time.perf_counter()
        client.get(url, secure=True)
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(url, secure=True)
    return {"median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times),
            "queries": len(queries.captured_queries),
            "metrics_ms": metrics_ms(clinic.pk, promo_id, args.requests)}


def metrics_ms(clinic_id: int, promo_id: int, repeat: int) -> float:
    """get_promo_metrics alone, median of `repeat` calls."""
    from clinic_crm.tenancy.context import clinic_scope
    from promos.models import Promo
    from promos.selectors import get_promo_metrics

    times = []
    with clinic_scope(clinic_id):
        promo = Promo.objects.get(pk=promo_id)
        get_promo_metrics(promo=promo)
        for _ in range(repeat):
            started = time.perf_counter()
            get_promo_metrics(promo=promo)
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def explain(clinic_id: int, promo_id: int) -> str:
    from django.db import connection

    from clinic_crm.tenancy.context import clinic_scope
    from promos.models import Promo
    from promos.selectors import _applied, _DISCOUNT, _REVENUE
    from django.db.models import Count, Sum

    with clinic_scope(clinic_id):
        promo = Promo.objects.get(pk=promo_id)
        qs = _applied().filter(promotion_key=promo.promotion_key).values("clinic_id").annotate(
            uses=Count("id"), customers=Count("patient_id", distinct=True), discounted=Sum(_DISCOUNT),
            revenue=Sum(_REVENUE), orders=Count("order_id", distinct=True)).values(
            "uses", "customers", "discounted", "revenue", "orders")
        sql, params = qs.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            return "\n".join(row[0] for row in cursor.fetchall())


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_django(args)
    rows = []
    for size in sorted(args.sizes):
        seeded = ensure_clinic(size=size, args=args)
        for label, promo_id, promo_uses in promos_to_measure(seeded["clinic"].pk):
            result = measure(clinic=seeded["clinic"], user=seeded["user"], promo_id=promo_id, args=args)
            rows.append({"size": size, "label": label, "promo_uses": promo_uses, "seed_s": seeded["seed_s"], **result})
            log(f"{size:,} redemptions: {label} promo {promo_id} ({promo_uses:,} uses): "
                f"median {result['median_ms']:.1f} ms, {result['queries']} queries")
        promo_id = promos_to_measure(seeded["clinic"].pk)[0][1]
        if args.explain:
            print(f"\nEXPLAIN ANALYZE of get_promo_metrics, {size:,} redemptions, promo {promo_id}:")
            print(explain(seeded["clinic"].pk, promo_id))
    print(f"\n{args.promos} promos, {args.patients:,} patients per clinic, skew {args.skew:g}; "
          f"{args.requests} timed requests after {args.warmup} warm-up, DEBUG=0, in-process test client\n")
    print("| redemptions | promo (its uses) | page median ms (min-max) | metrics query ms | SQL queries | seeded in |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        seeded = "reused" if r["seed_s"] is None else f"{r['seed_s']:.0f} s"
        print(f"| {r['size']:,} | {r['label']} ({r['promo_uses']:,}) | {r['median_ms']:.1f} ({r['min_ms']:.1f}-{r['max_ms']:.1f}) "
              f"| {r['metrics_ms']:.1f} | {r['queries']} | {seeded} |")
    # The second target: the page's query count does not grow with the ledger.
    counts = {r["queries"] for r in rows}
    if len(counts) > 1:
        print(f"\nQUERY COUNT CHECK: FAIL: the page ran {sorted(counts)} queries across the sizes")
        return 1
    print(f"\nQuery count check: PASS: {counts.pop()} queries at every size")
    return 0


if __name__ == "__main__":
    sys.exit(main())
