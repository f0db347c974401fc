"""The routines and baselines the workloads share: a source -> mid -> end chain, and I/O fan-out.

The baselines do the same work as the engine's flows: the chain's two hops as plain function
calls, and as tasks on a raw ``concurrent.futures.ThreadPoolExecutor`` where each hop submits
the next (one future per item and hop, as a hand-wired pool would).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from routilux import ExecutionTracker, Flow, Routine
from routilux.flow import ExecutionStrategy


class Source(Routine):
    def __init__(self) -> None:
        super().__init__()
        self.define_slot("trigger", handler=self.fire)
        self.define_event("out", ["value"])

    def fire(self, count: int) -> None:
        emit = self.emit
        for i in range(count):
            emit("out", value=i)


class Mid(Routine):
    def __init__(self) -> None:
        super().__init__()
        self.define_slot("input", handler=self.step)
        self.define_event("out", ["value"])

    def step(self, value: int) -> None:
        self.emit("out", value=value + 1)


class End(Routine):
    def __init__(self) -> None:
        super().__init__()
        self.define_slot("input", handler=self.take)
        self._lock = threading.Lock()
        self.total = 0

    def take(self, value: int) -> None:
        with self._lock:
            self.total += 1


def chain_flow(
    strategy: ExecutionStrategy,
    workers: int = 4,
    max_activations: int | None = None,
    tracked: bool = False,
) -> tuple[Flow, End]:
    """The source -> mid -> end chain; ``tracked`` attaches an :class:`ExecutionTracker`."""
    flow = Flow(
        execution_strategy=strategy,
        max_workers=workers,
        max_activations=max_activations,
        execution_tracker=ExecutionTracker() if tracked else None,
    )
    end = End()
    flow.add_routine(Source(), "source")
    flow.add_routine(Mid(), "mid")
    flow.add_routine(end, "end")
    flow.connect("source", "out", "mid", "input")
    flow.connect("mid", "out", "end", "input")
    return flow, end


def run_chain(flow: Flow, end: End, count: int) -> float:
    """Seconds for one job pushing ``count`` items through the chain (checked exact)."""
    end.total = 0
    start = time.perf_counter()
    job = flow.execute("source", {"count": count})
    if not job.wait(timeout=600):
        raise RuntimeError("benchmark job did not finish")
    elapsed = time.perf_counter() - start
    if job.status != "completed" or end.total != count:
        raise RuntimeError(f"chain lost work: {job.status}, {end.total}/{count}, {job.error}")
    return elapsed


def plain_chain(count: int) -> float:
    """The same two hops as plain function calls."""
    lock = threading.Lock()
    total = [0]

    def end(value: int) -> None:
        with lock:
            total[0] += 1

    def mid(value: int) -> None:
        end(value + 1)

    start = time.perf_counter()
    for i in range(count):
        mid(i)
    elapsed = time.perf_counter() - start
    assert total[0] == count
    return elapsed


def pool_chain(count: int, workers: int = 4) -> float:
    """The same chain hand-wired on a raw ThreadPoolExecutor: each hop submits the next."""
    lock = threading.Lock()
    total = [0]
    done = threading.Event()
    with ThreadPoolExecutor(workers) as pool:

        def end(value: int) -> None:
            with lock:
                total[0] += 1
                if total[0] == count:
                    done.set()

        def mid(value: int) -> None:
            pool.submit(end, value + 1)

        def source() -> None:
            for i in range(count):
                pool.submit(mid, i)

        start = time.perf_counter()
        pool.submit(source)
        if not done.wait(timeout=600):
            raise RuntimeError("baseline did not finish")
        elapsed = time.perf_counter() - start
    return elapsed


class Sleeper(Routine):
    """trigger -> sleeps ``delay`` (simulated I/O) -> emits ``done``."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.define_slot("trigger", handler=self.work)
        self.define_slot("go", handler=self.work)
        self.define_event("done", ["name"])

    def work(self) -> None:
        time.sleep(self.delay)
        self.emit("done", name="x")


class Fan(Routine):
    def __init__(self) -> None:
        super().__init__()
        self.define_slot("trigger", handler=lambda: self.emit("go"))
        self.define_event("go", [])


class Gather(Routine):
    def __init__(self) -> None:
        super().__init__()
        self.define_slot("input", handler=self.take, merge_strategy="append")
        self.last_returned = 0.0

    def take(self, name: list[str]) -> None:
        self.last_returned = time.perf_counter()
