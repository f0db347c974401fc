"""The six workloads. Each returns :class:`Row` results: the engine's figure, its baseline's
figure from the same run, their ratio, and the target the ratio is held to."""

from __future__ import annotations

import functools
import gc
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import attrs

from benchmarks.chains import (
    End,
    Fan,
    Gather,
    Sleeper,
    chain_flow,
    plain_chain,
    pool_chain,
    run_chain,
)
from routilux import Flow, Routine
from routilux.flow import ExecutionStrategy


@attrs.frozen
class Row:
    """One measured figure. ``ratio`` is engine/baseline in the unit the target states."""

    workload: str
    case: str
    value: float
    unit: str
    baseline: float | None = None
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None


def best_of(repeats: int, measure: Callable[[], float]) -> float:
    """The fastest of ``repeats`` runs: the least disturbed by the rest of the machine."""
    return min(measure() for _ in range(repeats))


def paired(
    repeats: int, engine: Callable[[], float], baseline: Callable[[], float]
) -> tuple[float, float]:
    """Best-of-``repeats`` seconds for ``engine`` and ``baseline``, run alternately after one
    warm-up each, so both see the same machine (a burst of noise hits both, not one)."""
    engine(), baseline()
    engine_times, baseline_times = [], []
    for _ in range(repeats):
        baseline_times.append(baseline())
        engine_times.append(engine())
    return min(engine_times), min(baseline_times)


def throughput(items: int, repeats: int) -> list[Row]:
    """Workload 1: N items through a 2-hop chain, beside plain calls and a raw pool.

    Each engine case runs twice: as configured by default (no tracker) and with an
    :class:`ExecutionTracker` attached, each against its own baseline runs."""
    cases: list[tuple[str, ExecutionStrategy, Callable[[], float], str, float]] = [
        (
            "sequential",
            "sequential",
            functools.partial(plain_chain, items),
            ">= 3% of plain calls",
            0.03,
        ),
        (
            "concurrent x4",
            "concurrent",
            functools.partial(pool_chain, items, workers=4),
            ">= 1.0x raw ThreadPoolExecutor",
            1.0,
        ),
    ]
    rows = []
    for tracked in (False, True):
        for name, strategy, baseline, target, floor in cases:
            flow, end = chain_flow(strategy, workers=4, tracked=tracked)
            with flow:
                engine, base = paired(
                    repeats, functools.partial(run_chain, flow, end, items), baseline
                )
            ratio = base / engine  # the engine's throughput as a share of the baseline's
            rows.append(
                Row(
                    "throughput",
                    f"{name}, {items:,} items" + (", tracker on" if tracked else ""),
                    items / engine,
                    "items/s",
                    items / base,
                    ratio,
                    "(reported)" if tracked else target,
                    None if tracked else ratio >= floor,
                )
            )
    return rows


def fan_out(workers: int, delay: float, repeats: int) -> list[Row]:
    """Workload 2: K = max_workers routines each sleeping ``delay``, one aggregator."""
    rows = []
    for k in sorted({1, workers // 2 or 1, workers}):
        flow = Flow(execution_strategy="concurrent", max_workers=workers)
        flow.add_routine(Fan(), "fan")
        gather = Gather()
        flow.add_routine(gather, "gather")
        for i in range(k):
            flow.add_routine(Sleeper(delay), f"io{i}")
            flow.connect("fan", "go", f"io{i}", "go")
            flow.connect(f"io{i}", "done", "gather", "input")

        def once(flow: Flow = flow) -> float:
            start = time.perf_counter()
            job = flow.execute("fan")
            if not job.wait(timeout=60) or job.status != "completed":
                raise RuntimeError(f"fan-out job ended {job.status}")
            return time.perf_counter() - start

        with flow:
            once()  # warm-up: the pool starts its threads on first use
            makespan = best_of(repeats, once)
        ratio = makespan / delay
        rows.append(
            Row(
                "fan-out",
                f"K={k} x {delay * 1000:.0f} ms, {workers} workers",
                makespan * 1000,
                "ms",
                delay * 1000,
                ratio,
                "<= 1.1x ideal",
                ratio <= 1.1,
            )
        )
    return rows


class _Stamp(Routine):
    """A last handler that stamps the moment it returns."""

    def __init__(self) -> None:
        super().__init__()
        self.define_slot("trigger", handler=self.work)
        self.returned = 0.0

    def work(self) -> None:
        time.sleep(0.001)
        self.returned = time.perf_counter()


def completion_latency(samples: int) -> list[Row]:
    """Workload 3: last handler returning -> wait_for_completion returning."""
    rows = []
    for strategy_wait in ("job.wait", "JobState.wait_for_completion", "flow.wait_for_completion"):
        flow = Flow(execution_strategy="concurrent", max_workers=2)
        stamp = _Stamp()
        flow.add_routine(stamp, "stamp")
        latencies = []
        with flow:
            for _ in range(samples):
                job = flow.execute("stamp")
                if strategy_wait == "job.wait":
                    job.wait(timeout=10)
                elif strategy_wait == "JobState.wait_for_completion":
                    type(job).wait_for_completion(flow, job, timeout=10)
                else:
                    flow.wait_for_completion(timeout=10)
                latencies.append(time.perf_counter() - stamp.returned)
        p50 = statistics.median(latencies) * 1000
        p95 = statistics.quantiles(latencies, n=20)[-1] * 1000
        rows.append(
            Row(
                "latency",
                f"{strategy_wait}, median of {samples}",
                p50,
                "ms",
                target="<= 5 ms",
                passed=p50 <= 5.0,
            )
        )
        rows.append(
            Row("latency", f"{strategy_wait}, p95 of {samples}", p95, "ms", target="(reported)")
        )
    return rows


def scaling(sizes: list[int], repeats: int) -> list[Row]:
    """Workload 4: cost per activation as the job grows (it must stay flat)."""
    rows = []
    per_activation: dict[int, float] = {}
    for size in sizes:
        items = size // 2  # two activations (mid, end) per item
        flow, end = chain_flow("sequential", max_activations=None)

        def once(flow: Flow = flow, end: End = end, items: int = items) -> float:
            return run_chain(flow, end, items)

        seconds = best_of(repeats if size <= 100_000 else 1, once)
        per_activation[size] = seconds / size
    smallest = per_activation[sizes[0]]
    for size in sizes:
        ratio = per_activation[size] / smallest
        last = size == sizes[-1]
        rows.append(
            Row(
                "scaling",
                f"{size:,} activations",
                per_activation[size] * 1e6,
                "us/activation",
                smallest * 1e6,
                ratio,
                f"<= 1.5x the {sizes[0]:,} case" if last else "",
                ratio <= 1.5 if last else None,
            )
        )
    return rows


def _peak_rss_of_job(activations: int) -> float:
    """Peak RSS growth (MiB) of a fresh interpreter running one job of ``activations``.

    Reads the process's own high-water mark (``VmHWM`` on Linux; ``ru_maxrss`` elsewhere,
    which on Linux would include the parent's peak inherited across ``exec``).
    """
    code = (
        "import resource\n"
        "from benchmarks.chains import chain_flow, run_chain\n"
        "def peak_kib():\n"
        "    try:\n"
        "        with open('/proc/self/status') as status:\n"
        "            for line in status:\n"
        "                if line.startswith('VmHWM:'):\n"
        "                    return int(line.split()[1])\n"
        "    except OSError:\n"
        "        pass\n"
        "    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "before = peak_kib()\n"
        "flow, end = chain_flow('sequential', max_activations=None)\n"
        f"run_chain(flow, end, {activations // 2})\n"
        "print(before, peak_kib())\n"
    )
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=root
    ).stdout.split()
    before, after = (int(x) / 1024 for x in out)
    return after - before


def memory(activations: int, jobs: int) -> list[Row]:
    """Workload 5: peak RSS of one big job; retained memory across many finished jobs."""
    rows = [
        Row(
            "memory",
            f"peak RSS growth, one {activations:,}-activation job",
            _peak_rss_of_job(activations),
            "MiB",
            target="(reported)",
        )
    ]
    flow, end = chain_flow("concurrent", workers=4)
    with flow:
        for _ in range(100):  # warm up caches, pools and interned strings
            run_chain(flow, end, 10)
        gc.collect()
        tracemalloc.start()
        base, _ = tracemalloc.get_traced_memory()
        for _ in range(jobs):
            run_chain(flow, end, 10)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    growth_kib = (after - base) / 1024
    per_job = (after - base) / jobs
    rows.append(
        Row(
            "memory",
            f"retained after {jobs:,} finished jobs",
            growth_kib,
            "KiB",
            target="no growth (< 64 B/job)",
            passed=per_job < 64,
        )
    )
    rows.append(
        Row(
            "memory",
            "ExecutionTracker, per tracked activation",
            _tracker_bytes_per_activation(activations // 10),
            "bytes",
            target="(reported)",
        )
    )
    return rows


def _tracker_bytes_per_activation(items: int) -> float:
    """Memory an attached tracker keeps per activation (its emits' delivery records included)."""
    flow, end = chain_flow("sequential", tracked=True)
    run_chain(flow, end, 10)  # warm up: the plan, interned places
    gc.collect()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    run_chain(flow, end, items)
    gc.collect()
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    tracked = 2 * items  # mid and end run once per item
    return (after - base) / tracked


def compile_time(sizes: list[int], repeats: int) -> list[Row]:
    """Workload 6: validate + compile a chain-with-branches flow of N routines."""
    rows = []
    for size in sizes:

        def build_and_compile(size: int = size) -> float:
            flow = Flow()
            flow.add_routine(Fan(), "r0")
            previous = "r0"
            for i in range(1, size):
                flow.add_routine(Sleeper(0.0), f"r{i}")
                flow.connect(previous, "go" if previous == "r0" else "done", f"r{i}", "go")
                previous = f"r{i}" if i % 3 else previous
            start = time.perf_counter()
            flow.compile()
            return time.perf_counter() - start

        seconds = best_of(repeats, build_and_compile)
        rows.append(Row("compile", f"{size:,} routines", seconds * 1000, "ms", target="(reported)"))
    return rows
