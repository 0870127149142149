"""Marketing → Promotions with a large ledger (RED-7): server time and SQL queries of its reads.

For each size (`--sizes`, default 100,000 and 1,000,000 redemptions) a child process takes the clinic
`ledger-<size>` of the bench database (made once and reused on later runs): 20,000 patients, RFM
segments and five promos, as `bench/ingest.py` seeds its clinic. The ledger is filled through
`ingest_redemption_events`, 10,000 events a call, spread over the last 200 days, so that
assignments and tally rows are exactly what the real code writes. Then, on every run, the tallies
are folded as the periodic task folds them (`compact_tallies_for_clinic`), the tables are vacuumed
and analysed (what autovacuum would do; it is off on the bench boxes), and the counts are checked
against the ledger (tallies, assignments and redemptions agree).

Measured in-process, each call inside the clinic's scope as a request or task makes it (the
scope's BEGIN, `set_config` and COMMIT included), median of `--runs` after `--warmup` calls, with
the SQL statements of one more call counted by `CaptureQueriesContext`:

- the Promotions page's read, `list_promotion_rows(clinic=…)`;
- one promotion's page, `get_promotion_page(…)`, for the busiest promotion;
- Rewards Unlocked over 30 days, `count_rewards_unlocked(…)`, and `get_clinic_redemption_rate()`;
- the bare `SELECT count(*) FROM redemptions_redemption WHERE clinic_id = %s`, for scale;
- and the three dashboard pages that show them, through Django's test client (a staff user,
  DEBUG off), for the query count of the whole page.

Targets: every read ≤ 100 ms (median), and each read's query count the same at every size.

    .venv/bin/python bench/promotions.py                      # ~20 min the first time (seeding), then ~1 min
    .venv/bin/python bench/promotions.py --explain            # plus EXPLAIN ANALYZE of each read's slowest query
    .venv/bin/python bench/promotions.py --sizes 100000 --runs 50

Prints a table per size and writes bench/results/promotions-<time>.json; exits non-zero when a
target is missed or the counts disagree.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

import ingest  # the clinic, its events and the direct ingestion
import run as runner  # bench/run.py

SPAN_DAYS = 200
TARGET_MS = 100.0
STAFF_EMAIL = "promotions-bench@example.com"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- inside Django ----------------------------------------------------------------------------------


def seed(ctx: dict, size: int, stamp: str) -> dict | None:
    """Fill the clinic's ledger up to `size` redemptions through `ingest_redemption_events`."""
    have = ctx["ledger"]["redemptions"]
    if have >= size:
        log(f"{ctx['slug']}: reusing {have:,} redemptions")
        return None
    total = size - have
    log(f"{ctx['slug']}: ingesting {total:,} events in batches of 10,000 over {SPAN_DAYS} days")
    checkpoint = min(100_000, total) if total % ingest.BATCH == 0 else total
    return ingest.ingest_direct(ctx, total=total, days=SPAN_DAYS, run_id=f"seed-{stamp}", seed=size,
                                checkpoint=checkpoint)


def compact(clinic_id: int) -> dict:
    """Fold the tallies as the beat task does (`compact_tallies_for_clinic`: the clinic in scope)."""
    from clinic_crm.tenancy.context import clinic_scope
    from redemptions.models import PromotionTally
    from redemptions.services.counts import TALLY_DIMENSIONS
    from redemptions.tasks import compact_tallies_for_clinic

    with clinic_scope(clinic_id):
        before = PromotionTally.objects.count()
    started = time.perf_counter()
    removed = compact_tallies_for_clinic(clinic_id)
    seconds = time.perf_counter() - started
    with clinic_scope(clinic_id):
        after = PromotionTally.objects.count()
        distinct = PromotionTally.objects.order_by().values(*TALLY_DIMENSIONS).distinct().count()
    return {"rows_before": before, "removed": removed, "rows_after": after, "distinct_dimensions": distinct,
            "seconds": round(seconds, 2)}


def _timed(fn, *, clinic_id: int | None, runs: int, warmup: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from clinic_crm.tenancy.context import clinic_scope

    def call():
        if clinic_id is None:
            return fn()
        with clinic_scope(clinic_id):
            return fn()

    for _ in range(warmup):
        call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as captured:
        result = call()
    statements = [{"ms": round(float(q["time"]) * 1000, 2), "sql": q["sql"]} for q in captured.captured_queries]
    return {"median_ms": round(statistics.median(times), 2), "min_ms": round(min(times), 2),
            "max_ms": round(max(times), 2), "queries": len(statements),
            "sql_ms": round(sum(s["ms"] for s in statements), 2), "statements": statements, "_result": result}


def _explain(clinic_id: int, sql: str) -> str:
    from django.db import connection

    from clinic_crm.tenancy.context import clinic_scope

    if sql.startswith("SELECT set_config("):  # the scope's setting, sent ahead of the statement
        sql = sql.split("; ", 1)[1]
    with clinic_scope(clinic_id), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)  # no parameters: nothing is interpolated
        return "\n".join(row[0] for row in cursor.fetchall())


def _profile(fn, *, clinic_id: int | None, calls: int = 3) -> str:
    """Where the time goes when it is not SQL: cProfile over a few calls, the functions with the
    most time of their own."""
    import cProfile
    import io
    import pstats

    from clinic_crm.tenancy.context import clinic_scope

    profile = cProfile.Profile()
    for _ in range(calls):
        profile.enable()
        if clinic_id is None:
            fn()
        else:
            with clinic_scope(clinic_id):
                fn()
        profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(10)
    text = out.getvalue()
    return text[text.find("ncalls"):].rstrip() if "ncalls" in text else text


def measure(ctx: dict, args) -> dict:
    from zoneinfo import ZoneInfo

    from django.conf import settings
    from django.db import connection, transaction
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import override_settings
    from django.utils import timezone as dj_timezone

    from clinic_crm.dashboard.promotions import get_promotion_page, list_promotion_rows
    from clinic_crm.tenancy.choices import Role
    from clinic_crm.tenancy.context import clinic_scope
    from clinic_crm.tenancy.models import Clinic
    from clinic_crm.tenancy.services import create_staff
    from redemptions.models import PromotionTally
    from redemptions.selectors import (
        count_promotions,
        count_rewards_unlocked,
        get_clinic_redemption_rate,
    )

    clinic = Clinic.objects.get(pk=ctx["clinic_id"])
    today = dj_timezone.localdate(timezone=ZoneInfo(clinic.timezone))
    with clinic_scope(clinic.pk):
        counts = count_promotions()
        groups = dict(PromotionTally.objects.order_by().values_list("promotion_key").annotate(n=Count("id")))
    # The busiest promotion, and the one with the most tally rows (days x channels x segments x tiers):
    # a breakdown's cost follows its rows, not its redemptions.
    busiest = max(counts, key=lambda key: counts[key].redemptions)
    widest = max(groups, key=lambda key: groups[key])
    detail = [busiest] + ([widest] if widest != busiest else [])

    def bare_count():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM redemptions_redemption WHERE clinic_id = %s", [clinic.pk])
            return cursor.fetchone()[0]

    def page_name(key: str) -> str:
        which = "busiest" if key == busiest else "most tally rows"
        return (f"promotion page: get_promotion_page ({key}, {which}: {counts[key].redemptions:,} redemptions, "
                f"{groups[key]:,} tally rows)")

    reads = [
        ("Promotions page: list_promotion_rows", lambda: list_promotion_rows(clinic=clinic)),
        *[(page_name(key), lambda key=key: get_promotion_page(clinic=clinic, promotion_key=key, today=today))
          for key in detail],
        ("Rewards Unlocked, 30 days: count_rewards_unlocked",
         lambda: count_rewards_unlocked(start=today - timedelta(days=29), end=today)),
        ("clinic rate: get_clinic_redemption_rate", get_clinic_redemption_rate),
        ("bare SELECT count(*) of the clinic's ledger", bare_count),
    ]
    out = {"busiest": busiest, "most_tally_rows": widest, "tally_rows_by_promotion": groups,
           "today": today.isoformat(), "reads": []}
    for name, fn in reads:
        row = _timed(fn, clinic_id=clinic.pk, runs=args.runs, warmup=args.warmup)
        result = row.pop("_result")
        row["name"] = name
        row["baseline"] = name.startswith("bare")
        row["answer"] = _describe(result)
        out["reads"].append(row)
        log(f"  {name}: {row['median_ms']} ms, {row['queries']} queries")

    if not args.no_pages:
        with transaction.atomic():
            membership, _ = create_staff(clinic=clinic, email=STAFF_EMAIL, role=Role.STAFF)
        client = Client()
        client.force_login(membership.user)
        storages = {**settings.STORAGES,
                    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
        pages = [("GET Promotions page", f"/c/{clinic.slug}/promotions/"),
                 *[(f"GET promotion page ({'busiest' if key == busiest else 'most tally rows'})",
                    f"/c/{clinic.slug}/promotions/{key}/") for key in detail],
                 ("GET main dashboard", f"/c/{clinic.slug}/")]
        with override_settings(STORAGES=storages):
            for name, url in pages:
                def get(url=url):
                    response = client.get(url, secure=True)
                    if response.status_code != 200:
                        raise SystemExit(f"GET {url} answered {response.status_code}")
                    return response
                row = _timed(get, clinic_id=None, runs=args.runs, warmup=args.warmup)
                row.pop("_result")
                row.update(name=name, url=url, page=True, baseline=False)
                out["reads"].append(row)
                log(f"  {name}: {row['median_ms']} ms, {row['queries']} queries")

    functions = {name: (fn, clinic.pk) for name, fn in reads}
    for row in out["reads"]:
        if not row["baseline"] and row["median_ms"] > TARGET_MS:
            fn, scope = functions.get(row["name"], (None, None))
            if fn is None:  # a page
                url = row["url"]
                with override_settings(STORAGES=storages):
                    row["profile"] = _profile(lambda url=url: client.get(url, secure=True), clinic_id=None)
            else:
                row["profile"] = _profile(fn, clinic_id=scope)
        if args.explain or (not row["baseline"] and row["median_ms"] > TARGET_MS):
            selects = [s for s in row["statements"] if "SELECT" in s["sql"][:200] and "set_config" not in
                       s["sql"].split("; ")[-1][:40]]
            if selects:
                slowest = max(selects, key=lambda s: s["ms"])
                row["explain"] = {"sql": slowest["sql"], "plan": _explain(clinic.pk, slowest["sql"])}
    return out


def _describe(result) -> str:
    if isinstance(result, list):
        return f"{len(result)} rows"
    if hasattr(result, "breakdown"):
        b = result.breakdown
        return (f"{b.total.redemptions:,} redemptions, {len(b.by_day)} days, {len(b.by_segment)} segments, "
                f"{len(b.by_tier)} tiers")
    return str(result)


def ledger_sizes(clinic_id: int) -> dict:
    from django.db import connection

    from clinic_crm.tenancy.context import clinic_scope
    from redemptions.models import Assignment, PromotionTally, Redemption

    with clinic_scope(clinic_id):
        sizes = {"redemptions": Redemption.objects.count(), "assignments": Assignment.objects.count(),
                 "tallies": PromotionTally.objects.count()}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('redemptions_redemption'))")
        sizes["redemption_table_all_clinics"] = cursor.fetchone()[0]
    return sizes


def child(size: int, args) -> dict:
    env = json.loads(os.environ.pop("PROMOTIONS_BENCH_ENV"))
    ingest.setup_django(env)
    stamp = args.stamp
    started = time.perf_counter()
    ctx = ingest.ensure_clinic(f"ledger-{size}")
    seeded = seed(ctx, size, stamp)
    compaction = compact(ctx["clinic_id"])
    vacuum_started = time.perf_counter()
    ingest.vacuum_analyze()
    vacuum_s = time.perf_counter() - vacuum_started
    checked = ingest.consistency(ctx["clinic_id"])
    log(f"{ctx['slug']}: tallies {compaction['rows_before']:,} → {compaction['rows_after']:,} rows after compaction "
        f"({compaction['distinct_dimensions']:,} distinct days x dimensions); counts agree: {checked['ok']}")
    prepared_s = time.perf_counter() - started
    result = {"size": size, "clinic": ctx["slug"], "clinic_id": ctx["clinic_id"], "seeded": seeded,
              "compaction": compaction, "vacuum_s": round(vacuum_s, 1), "prepare_s": round(prepared_s, 1),
              "consistency": checked, "ledger": ledger_sizes(ctx["clinic_id"])}
    result.update(measure(ctx, args))
    return result


# --- the parent -------------------------------------------------------------------------------------


def table(rows: list[list[str]], header: list[str]) -> str:
    return ingest.table(header, rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Promotions page reads at 100,000 and 1,000,000 redemptions.")
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated ledger sizes (redemptions)")
    parser.add_argument("--runs", type=int, default=20, help="timed calls per read; the median is reported")
    parser.add_argument("--warmup", type=int, default=3, help="calls before timing")
    parser.add_argument("--explain", action="store_true",
                        help="EXPLAIN ANALYZE each read's slowest statement (always done for a read over 100 ms)")
    parser.add_argument("--no-pages", action="store_true", help="skip the dashboard pages (test client)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", runner.DEFAULT_DATABASE_URL))
    parser.add_argument("--output", help="JSON file (default bench/results/promotions-<time>.json)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--stamp", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args), default=str))
        return 0

    results_dir = BENCH_DIR / "results"
    results_dir.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    load_before = os.getloadavg()[0]
    env = {"DATABASE_URL": args.database_url, "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50),
           "ALLOWED_HOSTS": "127.0.0.1,testserver", "LOG_LEVEL": "WARNING",
           "DJANGO_SETTINGS_MODULE": "clinic_crm.settings"}
    subprocess.run([sys.executable, str(BENCH_DIR / "prepare.py"), "--patients", "1"], cwd=ROOT,
                   env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL)  # creates and migrates
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    results = []
    for size in sizes:
        command = [sys.executable, __file__, "--child", str(size), "--stamp", stamp, "--runs", str(args.runs),
                   "--warmup", str(args.warmup)] + (["--explain"] if args.explain else []) + \
                  (["--no-pages"] if args.no_pages else [])
        done = subprocess.run(command, cwd=ROOT, env={**os.environ, "PROMOTIONS_BENCH_ENV": json.dumps(env)},
                              stdout=subprocess.PIPE, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"the {size:,} run failed (see above)")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))

    ok = True
    for r in results:
        print(f"\n{r['ledger']['redemptions']:,} redemptions in {r['clinic']} ({r['ledger']['assignments']:,} "
              f"assignments, {r['ledger']['tallies']:,} tally rows after compaction; today {r['today']}; counts "
              f"agree with the ledger: {'yes' if r['consistency']['ok'] else 'NO'})")
        lines = []
        for row in r["reads"]:
            met = row["baseline"] or row["median_ms"] <= TARGET_MS
            ok &= met
            lines.append([row["name"], f"{row['median_ms']:.1f}", f"{row['min_ms']:.1f}-{row['max_ms']:.1f}",
                          f"{row['sql_ms']:.1f}", str(row["queries"]), "-" if row["baseline"] else
                          ("yes" if met else "NO")])
        print(table(lines, ["read (in the clinic's scope)", "median ms", "min-max ms", "SQL ms (1 call)",
                            "queries", "<= 100 ms"]))
        ok &= r["consistency"]["ok"]
        if r["seeded"]:
            s = r["seeded"]
            marks = ", ".join(f"{int(k):,} events {v['peak_rss_mb']} MB" for k, v in s["checkpoints"].items())
            print(f"seeded this run: {s['events']:,} events in {s['seconds']} s ({s['events_per_s']:,}/s), a batch "
                  f"{s['batch_s_median']} s; the seeding process's peak RSS {s['peak_rss_before_mb']} MB before, "
                  f"{marks}")
        c = r["compaction"]
        print(f"compaction: {c['rows_before']:,} tally rows → {c['rows_after']:,} in {c['seconds']} s "
              f"({c['distinct_dimensions']:,} distinct promotion x day x channel x segment x tier)")
        for row in r["reads"]:
            if "profile" in row:
                print(f"\nOver {TARGET_MS:g} ms: {row['name']}, {row['median_ms']} ms of which SQL {row['sql_ms']} ms; "
                      f"cProfile, 3 calls, by own time:\n{row['profile']}")
            if "explain" in row:
                print(f"\nEXPLAIN ANALYZE, slowest statement of {row['name']}:\n{row['explain']['sql'][:400]}\n"
                      f"{row['explain']['plan']}")
    if len(results) > 1:
        # The same read at each size: matched by its kind (the promotion keys differ between clinics).
        def kind(row: dict) -> str:
            return row["name"].split(":")[0].split(" (")[0] + (" (widest)" if "most tally rows" in row["name"] else "")

        same = []
        for name in dict.fromkeys(kind(row) for r in results for row in r["reads"]):
            rows = [next((row for row in r["reads"] if kind(row) == name), None) for r in results]
            counts = [row["queries"] if row else None for row in rows]
            equal = len(set(counts)) == 1
            ok &= equal or all(row is None or row["baseline"] for row in rows)
            same.append(f"{name} " + " / ".join(map(str, counts)) + ("" if equal else " DIFFER"))
        print("\nqueries at " + " / ".join(f"{r['ledger']['redemptions']:,}" for r in results) + " redemptions: "
              + "; ".join(same))
    print(f"\nTargets (each read <= {TARGET_MS:g} ms median, the same queries at every size, counts agree): "
          f"{'PASS' if ok else 'FAIL'}")
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=False).stdout
    output = Path(args.output) if args.output else results_dir / f"promotions-{stamp}.json"
    output.write_text(json.dumps({"git_head": head.strip(), "cpus": os.cpu_count(), "load_before": load_before,
                                  "args": {k: v for k, v in vars(args).items() if k != "database_url"},
                                  "sizes": results}, indent=2, default=str))
    log(f"Results: {output}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
