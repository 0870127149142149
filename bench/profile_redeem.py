"""Where one POS promo redeem spends its time: in-process, without HTTP, against the bench database.

Sends --requests redeems of the bench's hot promo (seeded by `bench/run.py --scenarios pos_promo_redeem`)
through Django's test client, each for the next seeded patient, and prints the median time, the SQL
statements of one request with their share of the time, and the time spent inside the database
driver versus in Python.

    .venv/bin/python bench/profile_redeem.py --requests 200
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Profile one POS promo redeem in-process (SQL round trips, time).")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--cprofile", type=int, metavar="N", default=0,
                        help="also run the redeems under cProfile and print the N costliest functions")
    parser.add_argument("--cache-url", default="locmemcache://",
                        help="CACHE_URL for the app, e.g. rediscache://127.0.0.1:6379/3 as in production")
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://clinic_crm:clinic_crm@127.0.0.1:5432/clinic_crm_bench"))
    args = parser.parse_args(argv)
    sys.path[:0] = [str(ROOT), str(BENCH_DIR)]
    os.environ.update({"DATABASE_URL": args.database_url, "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50),
                       "ALLOWED_HOSTS": "testserver", "CONN_MAX_AGE": "60", "LOG_LEVEL": "WARNING", "CACHE_URL": args.cache_url,
                       "DJANGO_SETTINGS_MODULE": "clinic_crm.settings"})
    import django

    django.setup()
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from clinic_crm.patients.models import Patient
    from clinic_crm.tenancy.choices import ApiScope
    from clinic_crm.tenancy.context import clinic_scope
    from clinic_crm.tenancy.models import Clinic
    from clinic_crm.tenancy.services import create_api_key
    from scenarios import BENCH_PROMO_CODE

    clinic = Clinic.objects.get(slug="bench")
    with clinic_scope(clinic.pk):
        patients = Patient.objects.filter(external_id__startswith="bench-").count()
    with transaction.atomic():
        _, key = create_api_key(clinic=clinic, name="Benchmark profile", scopes=[ApiScope.POS])
    client = Client()
    run = secrets.token_hex(4)

    def redeem(n: int):
        body = {"code": BENCH_PROMO_CODE, "external_id": f"bench-{n % patients}",
                "order": {"reference": f"prof-{run}-{n}", "total": "100.00"}}
        return client.post("/api/v1/pos/promos/redeem", data=json.dumps(body), content_type="application/json",
                           secure=True, HTTP_AUTHORIZATION=f"Api-Key {key}", HTTP_IDEMPOTENCY_KEY=f"prof-{run}-{n}")

    for n in range(10):  # warm-up
        assert redeem(n).status_code == 201, redeem(n).content
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]

    def backend_cpu() -> float | None:
        """CPU seconds of this connection's PostgreSQL backend (same machine only)."""
        try:
            fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    times = []
    cpu_started, pg_started = time.process_time(), backend_cpu()
    for n in range(10, 10 + args.requests):
        started = time.perf_counter()
        redeem(n)
        times.append((time.perf_counter() - started) * 1000)
    app_cpu = (time.process_time() - cpu_started) * 1000 / args.requests
    pg_cpu = None if pg_started is None else (backend_cpu() - pg_started) * 1000 / args.requests

    # The database's share: wrap every statement's execute and time it (wall, and this thread's CPU
    # inside the driver). BEGIN and COMMIT are the driver's own round trips, outside the wrapper.
    db_times: list[tuple[str, float, float]] = []

    def timed(execute, sql, params, many, context):
        started, cpu_started = time.perf_counter(), time.thread_time()
        try:
            return execute(sql, params, many, context)
        finally:
            db_times.append((sql, (time.perf_counter() - started) * 1000, (time.thread_time() - cpu_started) * 1000))

    per_request_db, per_request_driver_cpu = [], []
    for n in range(20_000, 20_000 + args.requests):
        db_times.clear()
        with connection.execute_wrapper(timed):
            redeem(n)
        per_request_db.append(sum(t for _, t, _ in db_times))
        per_request_driver_cpu.append(sum(c for _, _, c in db_times))
    with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(timed):
        db_times.clear()
        response = redeem(40_000)
    total = statistics.median(times)
    db = statistics.median(per_request_db)
    print(f"status {response.status_code}; median of {args.requests}: {total:.2f} ms per redeem, of which "
          f"{db:.2f} ms waiting for PostgreSQL ({len(queries.captured_queries)} round trips) and "
          f"{total - db:.2f} ms in Python")
    print(f"CPU per redeem: {app_cpu:.2f} ms in this process (of which "
          f"{statistics.median(per_request_driver_cpu):.2f} ms in the driver's execute)" + (
              "" if pg_cpu is None else f", {pg_cpu:.2f} ms in its PostgreSQL backend"))
    from clinic_crm.tenancy.rows import statements_sent

    executed = iter(db_times)
    for q in queries.captured_queries:
        # Statements sent ahead of another share its round trip (joined by " + "); a prepared
        # statement's EXECUTE is shown as the statement it runs.
        shown = " + ".join(" ".join(sql.split()) for sql in statements_sent(q["sql"]))[:150]
        if q["sql"] in ("BEGIN", "COMMIT", "ROLLBACK"):
            print(f"{float(q['time']) * 1000:7.2f} ms  {shown}")
            continue
        _, wall, cpu = next(executed)
        print(f"{wall:7.2f} ms  {shown}  (driver CPU {cpu * 1000:.0f} us)")
    if args.cprofile:
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.enable()
        for n in range(60_000, 60_000 + args.requests):
            redeem(n)
        profile.disable()
        pstats.Stats(profile).sort_stats(os.environ.get("PROFILE_SORT", "tottime")).print_stats(os.environ.get("PROFILE_FILTER", ""), args.cprofile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
