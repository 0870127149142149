"""Prepare the benchmark database: create it if missing, migrate, seed one clinic.

Run by bench/run.py with the project's Python and DATABASE_URL pointing at the bench database;
prints the seed context (keys the scenarios need) as one JSON line on stdout.

    DATABASE_URL=postgres://clinic_crm:clinic_crm@127.0.0.1:5432/clinic_crm_bench \\
        .venv/bin/python bench/prepare.py --patients 500
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
CLINIC_SLUG = "bench"
KEY_NAME = "Benchmark"
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

FIRST = ["Olivia", "Amelia", "Isla", "Ava", "Noah", "Oliver", "George", "Leo", "Maya", "Zara", "Priya", "Omar"]
LAST = ["Smith", "Jones", "Taylor", "Patel", "Khan", "Garcia", "Nguyen", "Kim", "Cohen", "Rossi", "Murphy", "Singh"]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ensure_database(url: str) -> None:
    """Create the database owned by the app role if it is missing; warn if the role skips RLS."""
    import psycopg2

    parts = urlsplit(url)
    name, role = parts.path.lstrip("/"), unquote(parts.username or "")
    if not (IDENTIFIER.match(name) and IDENTIFIER.match(role)):
        raise SystemExit(f"use plain identifiers for the bench database and role (got {name!r}, {role!r})")
    params = {"host": parts.hostname or "127.0.0.1", "port": parts.port or 5432, "user": role,
              "password": unquote(parts.password or ""), "connect_timeout": 5}
    with psycopg2.connect(dbname="postgres", **params) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        exists = cursor.fetchone() is not None
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        superuser, bypass = cursor.fetchone()
    conn.close()
    if superuser or bypass:
        log(f"WARNING: role {role} is a superuser or has BYPASSRLS, so row-level security is skipped and the "
            "API numbers are better than production's.")
    if exists:
        return
    log(f"Creating database {name} owned by {role}")
    created = subprocess.run(
        ["psql", "-h", params["host"], "-p", str(params["port"]), "-U", "postgres", "-d", "postgres",
         "-v", "ON_ERROR_STOP=1", "-q", "-c", f'CREATE DATABASE "{name}" OWNER "{role}"'],
        capture_output=True, text=True, env={**os.environ, "PGCONNECT_TIMEOUT": "5"},
    ) if _has_psql() else None
    if created is not None and created.returncode == 0:
        return
    # Without the postgres superuser (no trust auth), the app role can still create it: it has CREATEDB.
    log(f"psql as postgres did not work ({created.stderr.strip() if created else 'psql not found'}); "
        f"creating it as {role}")
    conn = psycopg2.connect(dbname="postgres", **params)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def _has_psql() -> bool:
    from shutil import which

    return which("psql") is not None


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def seed(*, patients: int, scenario_names: list[str]) -> dict:
    """Make sure the bench clinic has `patients` patients and a fresh POS key; return the context."""
    from django.db import connection, transaction

    from clinic_crm.patients.models import Patient
    from clinic_crm.tenancy.auth import mint_patient_token
    from clinic_crm.tenancy.choices import ApiScope
    from clinic_crm.tenancy.context import clinic_scope
    from clinic_crm.tenancy.models import ApiKey, Clinic
    from clinic_crm.tenancy.services import create_api_key, create_clinic, revoke_api_key

    from scenarios import SCENARIOS

    with transaction.atomic():
        clinic = Clinic.objects.filter(slug=CLINIC_SLUG).first() or create_clinic(
            name="Bench Clinic", slug=CLINIC_SLUG, timezone_name="Europe/London", currency="GBP", locale="uk")
    with clinic_scope(clinic.pk):
        have = Patient.objects.count()
        Patient.objects.bulk_create(
            [Patient(clinic_id=clinic.pk, first_name=FIRST[i % len(FIRST)], last_name=LAST[i // len(FIRST) % len(LAST)],
                     email=f"patient{i}@bench.test", phone=f"+4470000{i:05d}", external_id=f"bench-{i}")
             for i in range(have, patients)],
            batch_size=1000,
        )
        patient = Patient.objects.order_by("id").first()
    # Each run gets a new key; the previous run's key is revoked so keys do not pile up.
    with transaction.atomic():
        for old in ApiKey.objects.filter(clinic=clinic, name=KEY_NAME, revoked_at__isnull=True):
            revoke_api_key(api_key=old)
        _, api_key = create_api_key(clinic=clinic, name=KEY_NAME, scopes=[ApiScope.POS, ApiScope.EVENTS])
    context = {
        "clinic_id": clinic.pk, "clinic_slug": clinic.slug, "app_key": clinic.app_key, "api_key": api_key,
        "patients": max(have, patients), "patient_id": patient.pk, "patient_external_id": patient.external_id,
        "patient_token": mint_patient_token(clinic=clinic, patient_id=patient.pk),
    }
    for name in scenario_names:
        hook = SCENARIOS[name].seed
        if hook is not None:
            with clinic_scope(clinic.pk):
                context.update(hook(dict(context)) or {})
    # What autovacuum does in production, which may be off on a bench box: planner statistics for
    # what was just written (without them lookups by a unique key can pick a scan of the clinic), and
    # the dead row versions of earlier runs cleared (with ANALYZE alone, PostgreSQL's CPU per redeem
    # was seen to rise by up to 40% from a run's first round to its last; after a VACUUM it held).
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    return context


def run_check(name: str, data: dict) -> dict:
    from clinic_crm.tenancy.context import clinic_scope

    from scenarios import SCENARIOS

    context = data["context"]
    with clinic_scope(context["clinic_id"]):
        return SCENARIOS[name].check(context, data.get("statuses", {}))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Create, migrate and seed the benchmark database.")
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--scenarios", default="", help="comma-separated scenario names whose seed hooks to run")
    parser.add_argument("--check", metavar="SCENARIO",
                        help="instead of seeding, run this scenario's post-run check hook and print its result")
    parser.add_argument("--check-input", default="{}",
                        help='with --check: JSON {"context": …, "statuses": {"201": n, …}}')
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("DATABASE_URL must point at PostgreSQL for the benchmark")

    ensure_database(url)
    sys.path[:0] = [str(ROOT), str(BENCH_DIR)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic_crm.settings")
    import django

    django.setup()
    if args.check:
        print(json.dumps(run_check(args.check, json.loads(args.check_input))))
        return 0
    log("Migrating the bench database")
    migrate()
    names = [n for n in args.scenarios.split(",") if n]
    context = seed(patients=args.patients, scenario_names=names)
    print(json.dumps(context))
    return 0


if __name__ == "__main__":
    sys.exit(main())
