"""Small routines and helpers shared by the tests (real routines, no mocks)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from routilux import ExecutionContext, Flow, Routine
from routilux.flow import ExecutionStrategy
from routilux.merge import MergeSpec

STRATEGIES: tuple[ExecutionStrategy, ...] = ("sequential", "concurrent")
ROOT = Path(__file__).resolve().parents[1]


def run_python(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python *args`` in a real subprocess importing this checkout's ``src``."""
    return subprocess.run(
        [sys.executable, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )


class OnTrigger(Routine):
    """trigger -> calls ``action(execution_context)`` inside the job (for re-entrancy tests)."""

    def __init__(self, action: Callable[[ExecutionContext], object]) -> None:
        super().__init__()
        self.action = action
        self.define_slot("trigger", handler=self.go)

    def go(self) -> None:
        context = self.get_execution_context()
        assert context is not None
        self.action(context)


class FlakyTrigger(Routine):
    """trigger: raises ``error`` on each of its first ``failures`` calls, then succeeds."""

    def __init__(self, failures: int, error: type[Exception] = ValueError) -> None:
        super().__init__()
        self.failures, self.error = failures, error
        self.calls = 0
        self.define_slot("trigger", handler=self.go)

    def go(self) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error(f"attempt {self.calls}")


class Blocker(Routine):
    """trigger: sets ``entered``, blocks until ``release`` is set (10 s at most), emits ``out``."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()
        self.define_slot("trigger", handler=self.block)
        self.define_event("out")

    def block(self) -> None:
        self.entered.set()
        self.release.wait(timeout=10)
        self.emit("out")


class Source(Routine):
    """trigger -> emits ``out`` with ``value=i`` for i in range(count) (count from params)."""

    def __init__(self, event_params: list[str] | None = None) -> None:
        super().__init__()
        self.define_slot("trigger", handler=self.fire)
        self.define_event("out", event_params if event_params is not None else ["value"])

    def fire(self, count: int = 1, **extra: Any) -> None:
        for i in range(count):
            self.emit("out", value=i, **extra)


class Relay(Routine):
    """in -> out, passing the payload through unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.define_slot("input", handler=self.relay)
        self.define_event("out")

    def relay(self, **payload: Any) -> None:
        self.emit("out", **payload)


class Sink(Routine):
    """Records every payload its handler receives, in call order (thread-safe)."""

    def __init__(self, merge_strategy: MergeSpec = "override") -> None:
        super().__init__()
        self.define_slot("input", handler=self.receive, merge_strategy=merge_strategy)
        self._received_lock = threading.Lock()
        self.received: list[dict[str, Any]] = []

    def receive(self, **payload: Any) -> None:
        with self._received_lock:
            self.received.append(payload)
        self.increment_stat("calls")


class Interval(Routine):
    """trigger -> records its (start, end) interval around ``work()``; emits ``done``."""

    def __init__(self, log: list[tuple[str, float, float]], name: str) -> None:
        super().__init__()
        self.log = log
        self.name = name
        self.gate: threading.Barrier | None = None
        self.define_slot("trigger", handler=self.run)
        self.define_event("done", ["name"])

    def run(self) -> None:
        start = time.monotonic()
        if self.gate is not None:
            # Raises BrokenBarrierError (failing the job) unless all parties are inside at once.
            self.gate.wait(timeout=10)
        time.sleep(0.02)
        self.log.append((self.name, start, time.monotonic()))
        self.emit("done", name=self.name)


def overlap_all(intervals: list[tuple[str, float, float]]) -> bool:
    """True when some instant lies inside every interval (all ran at the same time)."""
    return max(start for _, start, _ in intervals) < min(end for _, _, end in intervals)


def chain(strategy: ExecutionStrategy, workers: int = 4) -> tuple[Flow, Source, Sink]:
    """source.out -> relay.input, relay.out -> sink.input."""
    flow = Flow(execution_strategy=strategy, max_workers=workers)
    source, sink = Source(), Sink()
    flow.add_routine(source, "source")
    flow.add_routine(Relay(), "relay")
    flow.add_routine(sink, "sink")
    flow.connect("source", "out", "relay", "input")
    flow.connect("relay", "out", "sink", "input")
    return flow, source, sink
