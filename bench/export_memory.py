"""Peak memory of an offer response export (RED-5): flat whether it writes 20,000 rows or 200,000.

For each size, a fresh process seeds (once, then reuses) a clinic of the bench database with that
many offer responses, runs one CSV export of all their columns through the same code the Celery
task runs, and reports its peak RSS before and after the export, the rows written, the progress
updates made and the time taken. A run with a bounded-memory export shows the same peak for both
sizes; one that held the rows in memory would grow tenfold.

    .venv/bin/python bench/export_memory.py                    # 20,000 and 200,000 rows
    .venv/bin/python bench/export_memory.py --sizes 200000 --max-growth-mb 20
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
DEFAULT_DATABASE_URL = "postgres://clinic_crm:clinic_crm@127.0.0.1:5432/clinic_crm_bench"
PATIENTS = 2000


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def child(rows: int, database_url: str) -> dict:
    """In a process of its own: seed `rows` responses if needed, export them, report the memory."""
    sys.path[:0] = [str(ROOT), str(BENCH_DIR)]
    exports = tempfile.mkdtemp(prefix="bench-exports-")
    os.environ.update({"DATABASE_URL": database_url, "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50),
                       "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING", "CACHE_URL": "locmemcache://",
                       "EXPORTS_DIR": exports, "DJANGO_SETTINGS_MODULE": "clinic_crm.settings"})
    import django

    django.setup()
    from django.db import connection

    from clinic_crm.tenancy.context import clinic_scope
    from clinic_crm.tenancy.models import Clinic
    from clinic_crm.tenancy.services import create_clinic
    from redemptions.models import ExportRun, OfferResponse
    from redemptions.services.exports import FIELDS, execute_export, save_export_definition

    slug = f"bench-export-{rows}"
    clinic = Clinic.objects.filter(slug=slug).first() or create_clinic(
        name=f"Export bench {rows}", slug=slug, timezone_name="Europe/London", currency="GBP", locale="uk")
    with clinic_scope(clinic.pk):
        if OfferResponse.objects.count() != rows:
            _seed(clinic, rows, connection)
    before = _peak_mb()
    with clinic_scope(clinic.pk):
        definition = save_export_definition(clinic=clinic, data={
            "name": "Everything", "fields": list(FIELDS), "format": "csv", "filters": {}, "keep_files": 1})
        run = ExportRun.objects.create(clinic=clinic, definition=definition)
    started = time.perf_counter()
    done = execute_export(clinic_id=clinic.pk, run_id=run.pk)
    seconds = time.perf_counter() - started
    return {"rows": rows, "written": done.rows_done, "status": done.status, "file_mb": round(done.size / 2**20, 1),
            "seconds": round(seconds, 2), "peak_before_mb": round(before, 1), "peak_after_mb": round(_peak_mb(), 1),
            "growth_mb": round(_peak_mb() - before, 1)}


def _seed(clinic, rows: int, connection) -> None:
    """Patients and `rows` responses in two set-based statements (the clinic in scope)."""
    from clinic_crm.patients.models import Patient
    from redemptions.models import OfferResponse

    OfferResponse.objects.all().delete()
    if Patient.objects.count() < PATIENTS:
        Patient.objects.bulk_create([Patient(clinic=clinic, first_name=f"Pat{n}", last_name="Bench",
                                             email=f"pat{n}@bench.example", external_id=f"x-{n}")
                                     for n in range(PATIENTS)], batch_size=1000)
    first_patient = Patient.objects.order_by("id").values_list("id", flat=True).first()
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO {OfferResponse._meta.db_table}
                (clinic_id, promotion_key, promotion_kind, promotion_id, promotion_name, title, description,
                 discount_type, discount_value, discount_label, details, patient_id, certificate_code, status,
                 clip_required, ships, source, created_at, status_changed_at, usage_until)
            SELECT %s, 'offer_' || (g %% 20 + 1), 'offer', g %% 20 + 1, 'Offer ' || (g %% 20 + 1),
                   'A bench offer', '', 'percent', 10, '10%% Off', '{{}}', %s + (g %% {PATIENTS}),
                   'B' || lpad(g::text, 13, '0'), (ARRAY['pending','clipped','completed','canceled'])[g %% 4 + 1],
                   false, false, 'claim', now() - (g || ' minutes')::interval, now(), current_date + 30
            FROM generate_series(1, %s) AS g
        """, [clinic.pk, first_patient, rows])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Peak RSS of an offer response export, by size.")
    parser.add_argument("--sizes", default="20000,200000", help="comma-separated row counts")
    parser.add_argument("--max-growth-mb", type=float, default=None,
                        help="exit non-zero when an export grows the peak RSS by more than this")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.database_url)))
        return 0
    env = {**os.environ, "DATABASE_URL": args.database_url, "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50),
           "ALLOWED_HOSTS": "127.0.0.1"}
    subprocess.run([sys.executable, str(BENCH_DIR / "prepare.py"), "--patients", "1"], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # creates and migrates the bench database
    results, ok = [], True
    for size in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run([sys.executable, __file__, "--child", str(size), "--database-url", args.database_url],
                             check=True, capture_output=True, text=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(result)
        print(f"{result['rows']:>9,} rows: {result['status']}, {result['written']:,} written, "
              f"{result['file_mb']} MB file in {result['seconds']} s; peak RSS {result['peak_before_mb']} MB "
              f"before, {result['peak_after_mb']} MB after (+{result['growth_mb']} MB)", flush=True)
        ok &= result["written"] == result["rows"] and result["status"] == "done"
        if args.max_growth_mb is not None and result["growth_mb"] > args.max_growth_mb:
            ok = False
    if len(results) > 1:
        print(f"peak growth, largest vs smallest export: {results[-1]['growth_mb'] - results[0]['growth_mb']:+.1f} MB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
