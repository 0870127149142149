"""HTTP benchmark: the app under gunicorn on PostgreSQL, each scenario against the bare-view baseline.

Steps: create/migrate/seed the bench database (bench/prepare.py), start gunicorn on a free
127.0.0.1 port with production settings (DEBUG off), warm every scenario up, then run the
scenarios side by side for a few rounds (order alternating per round) with bench/loadgen.py in
its own process, and print the medians and each scenario's req/s as a ratio of the baseline.

    python bench/run.py                           # healthz and pos_patients, 3 rounds x 10 s each
    python bench/run.py --duration 30 --connections 64 --scenarios pos_patients

Standard library only; the app side runs with the project's virtualenv (`.venv`).
See bench/README.md for how to read the numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from scenarios import SCENARIOS, baseline  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://clinic_crm:clinic_crm@127.0.0.1:5432/clinic_crm_bench"
HOST = "127.0.0.1"
SERVER_START_SECONDS = 30
BUSY_BOX_CORES = 0.1
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def project_python(explicit: str | None) -> str:
    if explicit:
        return explicit
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# --- CPU accounting from /proc -----------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()  # the command name may contain spaces


def tree_cpu_seconds(root_pid: int) -> float:
    """CPU used by a process, its live children, and children it has already reaped."""
    fields = _stat_fields(root_pid)
    if fields is None:
        return 0.0
    # Fields after the name: state ppid ... utime(11) stime(12) cutime(13) cstime(14), 0-based here.
    total = sum(int(v) for v in fields[11:15])
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            child = _stat_fields(int(entry.name))
            if child is not None and child[1] == str(root_pid):
                total += int(child[11]) + int(child[12])
    return total / CLK_TCK


def box_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


# --- the server --------------------------------------------------------------------------------


def app_env(args, secret_key: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_TEST_", "PYTEST"))}
    env.update({
        "DATABASE_URL": args.database_url,
        "SECRET_KEY": secret_key,
        "DEBUG": "0",
        "ALLOWED_HOSTS": HOST,
        "CONN_MAX_AGE": str(args.conn_max_age),
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "clinic_crm.settings",
    })
    env.pop("CACHE_URL", None)
    if args.cache_url:
        env["CACHE_URL"] = args.cache_url
    return env


def patients_needed(args) -> int:
    return max([args.patients] + [SCENARIOS[name].patients for name in args.scenarios])


def prepare(args, env: dict, python: str) -> dict:
    patients = patients_needed(args)
    log(f"Preparing {args.database_url.rsplit('@', 1)[-1]} ({patients} patients)")
    done = subprocess.run(
        [python, str(BENCH_DIR / "prepare.py"), "--patients", str(patients), "--scenarios",
         ",".join(args.scenarios)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, timeout=600,
    )
    if done.returncode != 0:
        raise SystemExit("preparing the bench database failed (see above)")
    # DEBUG is off, so pages name their static files through the manifest collectstatic writes.
    collected = subprocess.run([python, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"], cwd=ROOT,
                               env=env, timeout=300)
    if collected.returncode != 0:
        raise SystemExit("collectstatic failed (see above)")
    return json.loads(done.stdout.strip().splitlines()[-1])


def post_check(env: dict, python: str, scenario, context: dict, statuses: dict) -> dict:
    """The scenario's check hook, inside Django (bench/prepare.py --check), after its last round."""
    done = subprocess.run(
        [python, str(BENCH_DIR / "prepare.py"), "--check", scenario.name, "--check-input",
         json.dumps({"context": context, "statuses": statuses})],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, timeout=300,
    )
    if done.returncode != 0:
        return {"ok": False, "error": f"the check hook failed with exit code {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def render(text: str, token: str) -> str:
    return text.replace("{n}", token).replace("{i}", "0")


def start_server(args, env: dict, python: str, port: int, log_path: Path) -> subprocess.Popen:
    gunicorn = Path(python).with_name("gunicorn")
    command = [str(gunicorn) if gunicorn.exists() else "gunicorn", "clinic_crm.wsgi:application",
               "--bind", f"{HOST}:{port}", "--workers", str(args.workers), "--worker-class", args.worker_class,
               "--log-level", "warning", "--backlog", "2048"]
    if args.worker_class == "gthread":
        command += ["--threads", str(args.threads)]
    if "--no-control-socket" in subprocess.run([command[0], "--help"], capture_output=True, text=True).stdout:
        # gunicorn >= 27 opens a control socket at one fixed path per user by default; a second
        # server on the box (another run, a dev server) would take it over.
        command.append("--no-control-socket")
    log(f"Starting gunicorn on {HOST}:{port}: {args.workers} {args.worker_class} workers (log: {log_path})")
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT)
    try:
        wait_until_up(server, port, log_path)
    except BaseException:
        stop_server(server)
        raise
    return server


def wait_until_up(server: subprocess.Popen, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer /healthz within {SERVER_START_SECONDS} s; see {log_path}")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)  # gunicorn's graceful stop; the master takes its workers down
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def check_endpoint(port: int, scenario, context: dict) -> int:
    """One request before loading it, so a wrong key or path fails loudly instead of as 100% errors."""
    token = "check-" + secrets.token_hex(4)
    headers = {name: render(value, token) for name, value in scenario.headers(context).items()}
    body = scenario.body(context)
    request = urllib.request.Request(f"http://{HOST}:{port}{scenario.path}", method=scenario.method, headers=headers,
                                     data=None if body is None else render(body, token).encode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    if status != scenario.expect_status:
        raise SystemExit(f"{scenario.name}: {scenario.method} {scenario.path} answered {status}, "
                         f"expected {scenario.expect_status}")
    return status


# --- load ------------------------------------------------------------------------------------


def run_load(args, python: str, port: int, scenario, context: dict, duration: float) -> dict:
    command = [python, str(BENCH_DIR / "loadgen.py"), "--url", f"http://{HOST}:{port}{scenario.path}",
               "--method", scenario.method, "--connections", str(args.connections), "--duration", str(duration),
               "--expect-status", str(scenario.expect_status), "--cycle", str(context.get("patients", 1))]
    if args.rate:
        command += ["--rate", str(args.rate)]
    for status in scenario.also_accept:
        command += ["--also-accept", str(status)]
    for name, value in scenario.headers(context).items():
        command += ["--header", f"{name}: {value}"]
    body = scenario.body(context)
    if body is not None:
        command += ["--body", body]
    busy_before, total_before = box_cpu_seconds()
    app_before = tree_cpu_seconds(args.server_pid)
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, timeout=duration + 120)
    app_after = tree_cpu_seconds(args.server_pid)
    busy_after, total_after = box_cpu_seconds()
    if done.returncode != 0:
        raise SystemExit(f"loadgen failed for {scenario.name}")
    result = json.loads(done.stdout)
    wall = result["duration_s"]
    box_busy = busy_after - busy_before
    app = app_after - app_before
    # In cores: 1.0 = one core busy for the whole run. "other" is PostgreSQL plus anything else on the box.
    result["cpu_app"] = round(app / wall, 2)
    result["cpu_loadgen"] = round(result["cpu_s"] / wall, 2)
    result["cpu_other"] = round(max(0.0, box_busy - app - result["cpu_s"]) / wall, 2)
    result["cpu_idle"] = round(max(0.0, (total_after - total_before) - box_busy) / wall, 2)
    return result


def log_slow_seconds(result: dict, limit_ms: float) -> None:
    """The seconds of a round whose p95 went over the target, with their wall-clock time (UTC)."""
    slow = [(second, count, p95, worst) for second, count, p95, worst in result.get("timeline", [])
            if p95 is not None and p95 >= limit_ms]
    if not slow:
        return
    start = result["started_at"]
    log("    seconds over the target (UTC, requests, p95 ms, max ms): " + "; ".join(
        f"{time.strftime('%H:%M:%S', time.gmtime(start + second))} {count} {p95:g} {worst:g}"
        for second, count, p95, worst in slow))


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarise(name: str, runs: list[dict]) -> dict:
    row = {"scenario": name, "rounds": len(runs), "rps_rounds": [r["rps"] for r in runs],
           "p95_rounds": [r["p95_ms"] for r in runs],
           "errors": sum(r["errors"] for r in runs), "requests": sum(r["requests"] for r in runs)}
    for key in ("rps", "p50_ms", "p95_ms", "p99_ms", "cpu_app", "cpu_other", "cpu_loadgen"):
        row[key] = median([r[key] for r in runs])
    pooled = Counter()
    for r in runs:
        pooled.update({int(bucket): count for bucket, count in r.get("histogram", {}).items()})
    for key, fraction in (("p50_all_ms", 0.50), ("p95_all_ms", 0.95), ("p99_all_ms", 0.99)):
        row[key] = histogram_percentile(pooled, fraction)
    return row


def histogram_percentile(histogram: Counter, fraction: float) -> float | None:
    """Nearest-rank percentile, in ms, of latencies counted in 0.1 ms buckets."""
    total = sum(histogram.values())
    if not total:
        return None
    rank, seen = max(1, math.ceil(fraction * total)), 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return bucket / 10
    return None


def add_ratios(rows: list[dict], base_name: str) -> None:
    """Each row's req/s against the baseline's: the median, over rounds, of the ratio within a round.

    A round runs the baseline and each scenario back to back, so a ratio within a round cancels
    the drift of a busy box between rounds, which a ratio of medians does not.
    """
    base_rounds = next(r["rps_rounds"] for r in rows if r["scenario"] == base_name)
    for row in rows:
        pairs = [rps / base for rps, base in zip(row["rps_rounds"], base_rounds) if base]
        row["vs_baseline"] = statistics.median(pairs) if pairs else None


def format_table(rows: list[dict], base_name: str) -> str:
    header = ["scenario", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", f"vs {base_name}", "CPU app/other/loadgen"]
    lines = []
    for r in rows:
        lines.append([
            r["scenario"], f"{r['rps']:,.0f}", f"{r['p50_all_ms']:.1f}", f"{r['p95_all_ms']:.1f}", f"{r['p99_all_ms']:.1f}",
            f"{r['errors']}/{r['requests']:,}", f"{r['vs_baseline']:.2f}" if r.get("vs_baseline") else "-",
            f"{r['cpu_app']:.2f} / {r['cpu_other']:.2f} / {r['cpu_loadgen']:.2f}",
        ])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for line in lines:
        out.append("| " + " | ".join(
            (cell.ljust(w) if i == 0 else cell.rjust(w)) for i, (cell, w) in enumerate(zip(line, widths))) + " |")
    return "\n".join(out)


# --- main ------------------------------------------------------------------------------------


def parse_args(argv=None):
    cpus = os.cpu_count() or 2
    parser = argparse.ArgumentParser(
        description="Benchmark the app's HTTP endpoints against the bare /healthz view under gunicorn.",
        epilog="Scenarios: " + "; ".join(f"{s.name} ({s.description})" for s in SCENARIOS.values()),
    )
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help="comma-separated scenario names; the baseline is always added (default: all)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario per round (default 10)")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="open loop: offer this many requests a second to every scenario, from --connections "
                             "clients; latency then counts from when each request was due (default 0: closed loop)")
    parser.add_argument("--max-p95", type=float, metavar="MS",
                        help="a target: exit non-zero unless every scenario's p95 is under MS (and, with --rate, "
                             "it kept up with the offered rate): the p95 of all the run's measured requests")
    parser.add_argument("--every-round", action="store_true",
                        help="with --max-p95, hold each round's own p95 to it, not only the run's")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each row is the median (default 3)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of discarded load per scenario first")
    parser.add_argument("--connections", "-c", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--workers", type=int, default=2 * cpus + 1,
                        help=f"gunicorn workers (default 2 x CPUs + 1 = {2 * cpus + 1})")
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"],
                        help="gunicorn worker class (default sync, as in production)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker with --worker-class gthread")
    parser.add_argument("--conn-max-age", type=int, default=60,
                        help="CONN_MAX_AGE for the app: 60 as docker-compose.yml sets it; 0 reconnects per request")
    parser.add_argument("--cache-url", default="",
                        help="CACHE_URL for the app: unset by default (the file cache under var/cache, shared by "
                             "the workers), rediscache://127.0.0.1:6379/3 (shared, as in production), or "
                             "dummycache:// (nothing is ever cached: the cold path). A cache kept in each worker "
                             "(locmemcache://) is refused by the app's system check.")
    parser.add_argument("--patients", type=int, default=500,
                        help="patients in the bench clinic (default 500; a scenario may need more, e.g. the "
                             "promo redeems seed 2,000 and send each request for the next one in turn)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
                        help="PostgreSQL URL of the bench database (env BENCH_DATABASE_URL); created if missing")
    parser.add_argument("--python", help="Python with the project installed (default .venv/bin/python)")
    parser.add_argument("--output", help="write the results as JSON here (default bench/results/<time>.json)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    base = baseline().name
    args.scenarios = [base] + [n for n in names if n != base]
    if args.duration <= 0 or args.rounds < 1 or args.connections < 1 or args.workers < 1 or args.rate < 0:
        parser.error("--duration, --rounds, --connections and --workers must be positive, --rate not negative")
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("the benchmark runs on PostgreSQL only")
    return args


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)  # unwinds through `finally`, which stops gunicorn


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    python = project_python(args.python)
    results_dir = BENCH_DIR / "results"
    results_dir.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    load_before = os.getloadavg()[0]
    if load_before > 0.5:
        log(f"Note: the 1-minute load average is {load_before:.2f} before starting; other work on this box "
            "will show up as lower req/s and in the CPU 'other' column.")

    env = app_env(args, secrets.token_urlsafe(50))
    context = prepare(args, env, python)
    port = free_port()
    server = start_server(args, env, python, port, results_dir / f"gunicorn-{stamp}.log")
    args.server_pid = server.pid
    runs: dict[str, list[dict]] = {name: [] for name in args.scenarios}
    # Responses per status over everything sent (the check request, warm-up and rounds), for check hooks.
    statuses: dict[str, dict[str, int]] = {name: {} for name in args.scenarios}

    def tally(name: str, counts: dict) -> None:
        for status, count in counts.items():
            statuses[name][status] = statuses[name].get(status, 0) + count

    try:
        scenarios = [SCENARIOS[name] for name in args.scenarios]
        for scenario in scenarios:
            tally(scenario.name, {str(check_endpoint(port, scenario, context)): 1})
            if args.warmup > 0:
                tally(scenario.name, run_load(args, python, port, scenario, context, args.warmup)["statuses"])
        for round_no in range(1, args.rounds + 1):
            # Alternate the order so drift (caches, autovacuum, other load) does not favour one scenario.
            ordered = scenarios if round_no % 2 else list(reversed(scenarios))
            for scenario in ordered:
                result = run_load(args, python, port, scenario, context, args.duration)
                runs[scenario.name].append(result)
                tally(scenario.name, result["statuses"])
                log(f"round {round_no}/{args.rounds} {scenario.name:<16} {result['rps']:>9,.1f} req/s  "
                    f"p95 {result['p95_ms']} ms  p99 {result['p99_ms']} ms  errors {result['errors']}")
                if args.max_p95 and scenario.name != args.scenarios[0]:
                    log_slow_seconds(result, args.max_p95)
    finally:
        stop_server(server)
    checks = {scenario.name: post_check(env, python, scenario, context, statuses[scenario.name])
              for scenario in scenarios if scenario.check is not None}

    rows = [summarise(name, runs[name]) for name in args.scenarios]
    add_ratios(rows, args.scenarios[0])
    table = format_table(rows, args.scenarios[0])
    offered = f", open loop at {args.rate:g} req/s" if args.rate else ""
    setup = (f"{args.connections} connections{offered}, {args.rounds} x {args.duration:g} s per scenario, gunicorn "
             f"{args.workers} {args.worker_class} workers, CONN_MAX_AGE={args.conn_max_age}, cache {args.cache_url or 'file (default)'}, {context['patients']} "
             f"patients, {os.cpu_count()} CPUs, load average {load_before:.2f} before")
    print(setup)
    print(table)
    print("req/s per round: " + "; ".join(f"{r['scenario']} " + " / ".join(f"{v:,.0f}" for v in r["rps_rounds"])
                                          for r in rows))
    # The bare view touches neither PostgreSQL nor Redis: CPU used by anything else while it runs
    # is other work on the box (or its host), which slows every scenario of that round as well.
    busy = [(number, r["cpu_other"]) for number, r in enumerate(runs[args.scenarios[0]], 1)
            if r.get("cpu_other") is not None and r["cpu_other"] > BUSY_BOX_CORES]
    if busy:
        print("the box was busy with other work: CPU 'other' during the baseline " + ", ".join(
            f"{cores:.2f} cores in round {number}" for number, cores in busy)
            + f" (over {BUSY_BOX_CORES:g}; it is ~0.02 on a quiet box)")
    for name in args.scenarios:
        if SCENARIOS[name].also_accept:
            print(f"responses of {name}: " + ", ".join(f"{k} x {v:,}" for k, v in sorted(statuses[name].items())))
    for name, result in checks.items():
        figures = ", ".join(f"{k} {v}" for k, v in result.items() if k != "ok")
        print(f"check {name}: {'PASS' if result.get('ok') else 'FAIL'} ({figures})")
    targets = check_targets(args, rows)
    output = Path(args.output) if args.output else results_dir / f"{stamp}.json"
    recorded = {k: v for k, v in vars(args).items() if k != "server_pid"}
    recorded["database_url"] = args.database_url.rsplit("@", 1)[-1]  # no password in the results file
    output.write_text(json.dumps({"setup": setup, "args": recorded, "rows": rows, "runs": runs,
                                  "statuses": statuses, "checks": checks}, indent=2))
    log(f"Results: {output}")
    return 0 if all(result.get("ok") for result in checks.values()) and targets else 1


def check_targets(args, rows: list[dict]) -> bool:
    """With --max-p95: each scenario (not the baseline) kept up with the offered rate in every round,
    without errors, and its p95 over every measured request of the run is under the target (or, with
    --every-round, each round's own p95 is)."""
    if args.max_p95 is None:
        return True
    met = True
    for row in rows[1:]:
        worst = max(row["p95_rounds"])
        measured = worst if args.every_round else row["p95_all_ms"]
        kept_up = not args.rate or min(row["rps_rounds"]) >= 0.98 * args.rate
        ok = measured is not None and measured < args.max_p95 and kept_up and row["errors"] == 0
        met = met and ok
        offered = (f", slowest round {min(row['rps_rounds']):,.0f} req/s of {args.rate:g} offered"
                   if args.rate else "")
        print(f"target {row['scenario']}: {'PASS' if ok else 'FAIL'} (p95 {row['p95_all_ms']} ms over all "
              f"{row['requests']:,} requests, worst round's {worst} ms; target < {args.max_p95:g} ms"
              f"{' in every round' if args.every_round else ''}{offered}, errors {row['errors']})")
    return met

if __name__ == "__main__":
    sys.exit(main())
