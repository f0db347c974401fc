"""The benchmark suite imports and runs one tiny case of each workload (no timing asserted)."""

from __future__ import annotations

from benchmarks import workloads


def test_each_workload_runs_one_tiny_case() -> None:
    rows = [
        *workloads.throughput(items=200, repeats=1),
        *workloads.fan_out(workers=2, delay=0.001, repeats=1),
        *workloads.completion_latency(samples=3),
        *workloads.scaling([100, 200], repeats=1),
        *workloads.memory(activations=1_000, jobs=10),
        *workloads.compile_time([5], repeats=1),
    ]
    assert {r.workload for r in rows} == {
        "throughput",
        "fan-out",
        "latency",
        "scaling",
        "memory",
        "compile",
    }
    assert all(r.value >= 0 for r in rows)
    assert all(r.ratio is not None and r.ratio > 0 for r in rows if r.baseline is not None)
