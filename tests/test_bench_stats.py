"""The benchmark runner's pooled percentiles agree with the load generator's own."""

import sys
from collections import Counter
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import loadgen  # noqa: E402
import run  # noqa: E402

latencies_s = st.lists(st.floats(min_value=0.0001, max_value=30.0, allow_nan=False), min_size=1, max_size=300)


def as_round(latencies: list[float]) -> dict:
    """What loadgen reports of a round, as far as pooling reads it."""
    ordered = sorted(latencies)
    return {"histogram": dict(Counter(str(round(value * 10_000)) for value in latencies)),
            "rps": 1.0, "p95_ms": loadgen.percentile(ordered, 0.95) * 1000, "errors": 0, "requests": len(latencies),
            **{key: 0.0 for key in ("p50_ms", "p99_ms", "cpu_app", "cpu_other", "cpu_loadgen")}}


@given(st.lists(latencies_s, min_size=1, max_size=5), st.sampled_from([0.5, 0.95, 0.99]))
def test_the_pooled_percentile_is_the_percentile_of_every_request_of_the_run(rounds, fraction):
    row = run.summarise("redeem", [as_round(latencies) for latencies in rounds])
    pooled = sorted(value for latencies in rounds for value in latencies)
    expected_ms = loadgen.percentile(pooled, fraction) * 1000
    key = {0.5: "p50_all_ms", 0.95: "p95_all_ms", 0.99: "p99_all_ms"}[fraction]
    assert abs(row[key] - expected_ms) <= 0.05 + 1e-9  # the buckets are 0.1 ms wide


def test_one_slow_round_weighs_in_the_run_by_its_share_of_the_requests():
    fast, slow = [0.010] * 100, [0.200] * 10  # 10 ms and 200 ms
    row = run.summarise("redeem", [as_round(fast), as_round(fast), as_round(slow + fast[:90])])
    assert row["p95_rounds"] == [10.0, 10.0, 200.0]
    assert row["p95_all_ms"] == 10.0  # 10 slow requests of 300: under 5%
    assert row["p99_all_ms"] == 200.0
