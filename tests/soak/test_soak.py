"""Soak: >= 1M activations through concurrent flows with random fan-in/out and random faults.

Marked ``slow``: excluded from the default test command; run with ``nox -s soak`` (or
``pytest -m slow tests/soak -s``). ``SOAK_ACTIVATIONS`` sets the scale (default 1,000,000).

Asserts exact counts (every job's accounting balances with nothing dropped, held or pending;
each routine saw exactly the deliveries its topology implies, retries included), no deadlock
(a watchdog dumps every thread's stack and fails the test if no handler ran for 10 s), and no
leak (no thread left after shutdown; no engine object - job runtime or activation - left
alive once the jobs are dropped; a second, equal round does not grow RSS).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import math
import os
import random
import sys
import threading
import time
import traceback
from collections import Counter

import pytest

from routilux import ErrorHandler, Flow, JobState, Routine
from routilux.runtime.scheduler import JobRun

pytestmark = pytest.mark.slow

TARGET = int(os.environ.get("SOAK_ACTIVATIONS", "1000000"))
STALL_SECONDS = 10.0


class Progress:
    """Counts handler calls; the watchdog fails the run if the count stops moving."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.total = 0
        self.stalled: str | None = None

    def tick(self, routine: str) -> None:
        with self.lock:
            self.calls[routine] += 1
            self.total += 1


class Source(Routine):
    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress
        self.define_slot("trigger", handler=self.fire)
        self.define_event("out", ["n"])

    def fire(self, count: int) -> None:
        self.progress.tick("source")
        for n in range(count):
            self.emit("out", n=n)


class Relay(Routine):
    """Fails a random first attempt (RETRY then succeeds), so downstream counts stay exact."""

    def __init__(self, progress: Progress, name: str, fault_rate: float, seed: int) -> None:
        super().__init__()
        self.progress, self.name, self.fault_rate = progress, name, fault_rate
        self.random = random.Random(seed)
        self._lock = threading.Lock()
        self.failed: set[tuple[str, int]] = set()
        self.define_slot("input", handler=self.relay)
        self.define_event("out", ["n"])

    def relay(self, n: int) -> None:
        self.progress.tick(self.name)
        context = self.get_execution_context()
        assert context is not None
        key = (context.job_state.job_id, n)
        with self._lock:
            fail = key not in self.failed and self.random.random() < self.fault_rate
            if fail:
                self.failed.add(key)  # only the first attempt fails: the retry passes
        if fail:
            raise ConnectionError("injected")
        self.emit("out", n=n)


class Leaf(Routine):
    """Fails a random share of deliveries under CONTINUE (recorded; the job goes on)."""

    def __init__(self, progress: Progress, name: str, fault_rate: float, seed: int) -> None:
        super().__init__()
        self.progress, self.name, self.fault_rate = progress, name, fault_rate
        self.random = random.Random(seed)
        self._lock = threading.Lock()
        self.define_slot("input", handler=self.take, merge_strategy="append")

    def take(self, n: list[int]) -> None:
        self.progress.tick(self.name)
        with self._lock:
            fail = self.random.random() < self.fault_rate
        if fail:
            raise ValueError("injected")


def random_flow(rng: random.Random, progress: Progress, index: int) -> tuple[Flow, dict[str, int]]:
    """A random DAG; returns the flow and, per routine, deliveries per source item."""
    flow = Flow(
        f"soak{index}",
        execution_strategy="concurrent",
        max_workers=rng.randint(2, 6),
        max_activations=None,
    )
    flow.add_routine(Source(progress), "source")
    per_item = {"source": 1}
    names = ["source"]
    for r in range(rng.randint(1, 4)):
        name = f"f{index}r{r}"
        relay = Relay(progress, name, fault_rate=0.05, seed=rng.randint(0, 10**6))
        relay.set_error_handler(ErrorHandler("retry", max_retries=3, retry_delay=0.0))
        flow.add_routine(relay, name)
        inputs = rng.sample(names, rng.randint(1, min(2, len(names))))
        for upstream in inputs:
            flow.connect(upstream, "out", name, "input")
        per_item[name] = sum(per_item[u] for u in inputs)
        names.append(name)
    for leaf_index in range(rng.randint(1, 3)):
        name = f"f{index}l{leaf_index}"
        leaf = Leaf(progress, name, fault_rate=0.02, seed=rng.randint(0, 10**6))
        leaf.set_error_handler(ErrorHandler("continue"))
        flow.add_routine(leaf, name)
        inputs = rng.sample(names, rng.randint(1, min(3, len(names))))
        for upstream in inputs:
            flow.connect(upstream, "out", name, "input")
        per_item[name] = sum(per_item[u] for u in inputs)
    return flow, {k: v for k, v in per_item.items() if k != "source"}


def watchdog(progress: Progress, done: threading.Event) -> None:
    last, since = -1, time.monotonic()
    while not done.wait(0.5):
        with progress.lock:
            total = progress.total
        if total != last:
            last, since = total, time.monotonic()
        elif time.monotonic() - since > STALL_SECONDS:
            stacks = "\n".join(
                f"--- thread {tid}\n" + "".join(traceback.format_stack(frame))
                for tid, frame in sys._current_frames().items()
            )
            progress.stalled = f"no handler ran for {STALL_SECONDS}s:\n{stacks}"
            print(progress.stalled, file=sys.stderr)
            return


def engine_objects() -> int:
    """Live job runtimes and activations (``(job, ...)`` tuples) the garbage collector tracks."""
    return sum(
        isinstance(o, JobRun) or (type(o) is tuple and bool(o) and isinstance(o[0], JobRun))
        for o in gc.get_objects()
    )


def release_free_memory() -> None:
    """Ask glibc to hand freed heap pages back to the OS, so RSS shows what is still in use."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def rss_mib() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def soak_round(rng: random.Random, progress: Progress, target: int) -> tuple[int, int, int]:
    """Run jobs on 3 random flows until ``target`` activations; check every count exactly.

    Returns (activations, jobs, retries). Shuts the flows down before returning.
    """
    flows = [random_flow(rng, progress, i) for i in range(3)]
    expected: Counter[str] = Counter()
    calls_before = sum(progress.calls.values())
    activations = 0
    jobs: list[tuple[JobState, dict[str, int], int]] = []
    while activations < target:
        flow, per_item = flows[rng.randrange(len(flows))]
        count = rng.randint(50, 400)
        jobs.append((flow.execute("source", {"count": count}), per_item, count))
        for name, deliveries in per_item.items():
            expected[name] += deliveries * count
        activations += 1 + count * sum(per_item.values())
        if len(jobs) % 50 == 0:  # keep the backlog bounded
            settle(flows, progress)
    settle(flows, progress)

    retries = 0
    for job, per_item, count in jobs:
        stats = job.statistics()
        assert job.status == "completed", (job, job.error)
        assert stats.balanced and (stats.dropped, stats.held, stats.pending) == (0, 0, 0), stats
        assert stats.emitted == 1 + count * sum(per_item.values()), stats
        retries += stats.retried
    calls = sum(progress.calls.values()) - calls_before
    assert calls == len(jobs) + sum(expected.values()) + retries
    for flow, _ in flows:
        assert flow.shutdown(wait=True, timeout=30)
    return activations, len(jobs), retries


def settle(flows: list[tuple[Flow, dict[str, int]]], progress: Progress) -> None:
    for flow, _ in flows:
        while not flow.wait_for_completion(timeout=1):
            assert progress.stalled is None, progress.stalled


def test_soak_million_activations_exact_no_deadlock_no_leak() -> None:
    """Two rounds of TARGET/2 activations: the second must not grow memory or threads."""
    rng = random.Random(20261203)
    progress = Progress()
    gc.collect()
    threads_before = threading.active_count()
    engine_before = engine_objects()
    rss_start = rss_mib()
    done = threading.Event()
    dog = threading.Thread(target=watchdog, args=(progress, done), daemon=True)
    dog.start()
    started = time.perf_counter()
    rounds = []
    rss = []
    for _ in range(2):
        rounds.append(soak_round(rng, progress, TARGET // 2))
        gc.collect()
        release_free_memory()
        rss.append(rss_mib())
    elapsed = time.perf_counter() - started
    done.set()
    dog.join(timeout=5)
    leftover_engine = engine_objects() - engine_before
    leftover_threads = threading.active_count() - threads_before
    activations = sum(r[0] for r in rounds)
    print(
        f"\nsoak: {activations:,} activations in {sum(r[1] for r in rounds):,} jobs, "
        f"{elapsed:.1f}s ({activations / elapsed:,.0f}/s), {sum(r[2] for r in rounds):,} "
        f"retries; RSS {rss_start:.0f} MiB at start, {rss[0]:.0f} after round 1, "
        f"{rss[1]:.0f} after round 2; threads left {leftover_threads}; "
        f"engine objects left {leftover_engine}"
    )
    assert activations >= TARGET
    assert leftover_threads == 0
    assert leftover_engine == 0
    if not math.isnan(rss[0]):
        # CPython keeps freed arenas, so RSS does not fall back to the start; a leak would
        # make the second, equal round grow it.
        assert rss[1] - rss[0] < 32, f"RSS grew by {rss[1] - rss[0]:.0f} MiB in round 2"
