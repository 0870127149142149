"""A small HTTP/1.1 load generator: N concurrent clients for a fixed time, one JSON line out.

Standard library only, one asyncio process. Each client keeps its connection open for as long as
the server allows (gunicorn's sync workers close after every response, so those clients reconnect,
and the connect time is part of the measured latency, as it is for a real client of that server).

    python bench/loadgen.py --url http://127.0.0.1:8000/healthz --connections 32 --duration 10

Only 127.0.0.1 is accepted as a target.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import secrets
import sys
import time
from collections import Counter
from urllib.parse import urlsplit

ALLOWED_HOSTS = {"127.0.0.1"}


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class Request:
    """The bytes of one request; `{n}` in a header or the body becomes a token unique to this run.

    The token starts with a random run id, so a second run never repeats an earlier run's
    Idempotency-Key or order reference (those are kept server-side for days). `{i}` becomes the
    request's number modulo `cycle` (0 … cycle-1), so requests take turns over a bounded set of
    seeded rows (e.g. patients `bench-0` … `bench-1999`), starting at a random offset.
    """

    def __init__(self, *, method: str, host: str, port: int, target: str, headers: list[str], body: str | None,
                 cycle: int = 1):
        self._counter = itertools.count(1)
        self._run_id = secrets.token_hex(4)
        self._cycle = max(1, cycle)
        self._offset = secrets.randbelow(self._cycle)
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}:{port}", "User-Agent: clinic-crm-bench",
                 "Accept: application/json"]
        lines += headers
        payload = body.encode() if body is not None else b""
        if body is not None:
            lines.append("Content-Length: {length}")
        self._template = "\r\n".join(lines) + "\r\n\r\n"
        self._body = payload
        self._varies = any(t in self._template or t.encode() in payload for t in ("{n}", "{i}"))
        self._fixed = None if self._varies else self._render(0)

    def _render(self, n: int) -> bytes:
        token = f"{self._run_id}-{n}"
        index = str((self._offset + n) % self._cycle)
        body = self._body.replace(b"{n}", token.encode()).replace(b"{i}", index.encode()) if self._varies \
            else self._body
        head = self._template.replace("{length}", str(len(body))).replace("{n}", token).replace("{i}", index)
        return head.encode("latin-1") + body

    def next_bytes(self) -> bytes:
        return self._fixed if self._fixed is not None else self._render(next(self._counter))


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; return (status, whether the server will close the connection)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    version, status_text = lines[0].split(" ", 2)[:2]
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
    if "chunked" in headers.get("transfer-encoding", ""):
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    else:
        await reader.read()  # delimited by the server closing the connection
        return int(status_text), True
    closes = headers.get("connection") == "close" or version == "HTTP/1.0"
    return int(status_text), closes


class Schedule:
    """Open loop: request k is due at start + k / rate, whichever client is free to send it."""

    def __init__(self, *, start: float, rate: float):
        self.start, self.rate, self.issued = start, rate, 0

    def next_due(self) -> float:
        due = self.start + self.issued / self.rate
        self.issued += 1
        return due


async def client(*, host: str, port: int, request: Request, deadline: float, timeout: float, expect: set[int],
                 latencies: list[float], errors: Counter, counts: Counter, statuses: Counter,
                 seconds: dict[int, list[float]], round_start: float,
                 schedule: Schedule | None = None) -> None:
    reader = writer = None
    while time.monotonic() < deadline:
        started = time.perf_counter()
        if schedule is not None:
            due = schedule.next_due()
            if due >= deadline:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            # Latency counts from when the request was due, so a late start (every client busy)
            # is part of it: no coordinated omission.
            started = time.perf_counter() - max(0.0, time.monotonic() - due)
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
                counts["connections"] += 1
            writer.write(request.next_bytes())
            status, closes = await asyncio.wait_for(read_response(reader), timeout)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError,
                ValueError) as exc:
            errors[type(exc).__name__] += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            continue
        latency = time.perf_counter() - started
        latencies.append(latency)
        seconds.setdefault(int(time.monotonic() - latency - round_start), []).append(latency)
        statuses[str(status)] += 1
        if status not in expect:
            errors[f"HTTP {status}"] += 1
        if closes:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def run(args) -> dict:
    url = urlsplit(args.url)
    if url.scheme != "http" or url.hostname not in ALLOWED_HOSTS or not url.port:
        raise SystemExit(f"refusing {args.url}: only http://127.0.0.1:<port>/… targets are allowed")
    target = url.path or "/"
    if url.query:
        target += "?" + url.query
    request = Request(method=args.method, host=url.hostname, port=url.port, target=target,
                      headers=args.header, body=args.body, cycle=args.cycle)
    expect = {args.expect_status, *args.also_accept}
    latencies: list[float] = []
    errors: Counter = Counter()
    counts: Counter = Counter()
    statuses: Counter = Counter()
    seconds: dict[int, list[float]] = {}
    wall_started = time.time()
    cpu_started = time.process_time()
    started = time.monotonic()
    deadline = started + args.duration
    schedule = Schedule(start=started, rate=args.rate) if args.rate else None
    await asyncio.gather(*(
        client(host=url.hostname, port=url.port, request=request, deadline=deadline, timeout=args.timeout,
               expect=expect, latencies=latencies, errors=errors, counts=counts, statuses=statuses,
               seconds=seconds, round_start=started, schedule=schedule)
        for _ in range(args.connections)
    ))
    elapsed = time.monotonic() - started
    latencies.sort()

    def ms(value):
        return None if value is None else round(value * 1000, 2)

    ok = len(latencies) - sum(v for k, v in errors.items() if k.startswith("HTTP "))
    return {
        "url": args.url,
        "method": args.method,
        "connections": args.connections,
        "rate": args.rate,
        "duration_s": round(elapsed, 3),
        "requests": len(latencies),
        "ok": ok,
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "statuses": dict(statuses),
        "rps": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": ms(percentile(latencies, 0.50)),
        "p95_ms": ms(percentile(latencies, 0.95)),
        "p99_ms": ms(percentile(latencies, 0.99)),
        "max_ms": ms(latencies[-1] if latencies else None),
        "tcp_connections": counts["connections"],
        "started_at": wall_started,
        # Per second of the run (by when each request was sent or due): requests, p95 and max ms,
        # to tell a stall of a second or two from a slowdown across the whole round.
        # Every latency in 0.1 ms buckets ({bucket: count}), so that a run's rounds can be pooled
        # into one distribution (the percentiles of a run, not a median of its rounds').
        "histogram": dict(Counter(str(round(value * 10_000)) for value in latencies)),
        "timeline": [[second, len(values), ms(percentile(sorted(values), 0.95)), ms(max(values))]
                     for second, values in sorted(seconds.items())],
        "cpu_s": round(time.process_time() - cpu_started, 3),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="http://127.0.0.1:<port>/path?query")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--header", action="append", default=[], metavar="'Name: value'",
                        help="extra request header; repeat for more")
    parser.add_argument("--body", help="request body (a Content-Length is added); "
                                       "{n} becomes a token unique to the run")
    parser.add_argument("--connections", "-c", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--duration", "-d", type=float, default=10.0, help="seconds to send for (default 10)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before one request counts as failed")
    parser.add_argument("--expect-status", type=int, default=200, help="any other status is an error")
    parser.add_argument("--also-accept", type=int, action="append", default=[], metavar="STATUS",
                        help="another status that is not an error (e.g. 409 once a capped promo runs out); repeat")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="open loop: offer this many requests a second in all (default 0: closed loop, "
                             "each client sends again as soon as it has an answer)")
    parser.add_argument("--cycle", type=int, default=1,
                        help="{i} in a header or the body becomes the request number modulo this (default 1)")
    args = parser.parse_args(argv)
    if args.connections < 1 or args.duration <= 0 or args.cycle < 1 or args.rate < 0:
        parser.error("--connections, --duration and --cycle must be positive, --rate not negative")
    result = asyncio.run(run(args))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
