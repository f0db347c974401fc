"""Hypothesis strategies shared by the property tests: random flows and how to build them.

A random flow is a DAG: one source (fan-out of ``count`` items), then relays that each take a
non-empty subset of earlier nodes as inputs (fan-in, chains), then leaves with a random merge
strategy. Every payload carries a unique ``item`` id, so deliveries can be counted exactly.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import attrs
from hypothesis import strategies as st

from routilux import Flow, Routine
from routilux.flow import ExecutionStrategy
from routilux.merge import MergeSpec

MERGES = ("override", "append", "custom")
STRATEGIES: tuple[ExecutionStrategy, ...] = ("sequential", "concurrent")


@attrs.frozen
class FlowSpec:
    """``inputs[name]`` lists the nodes feeding ``name``; ``merge`` gives each leaf's strategy."""

    count: int
    relays: tuple[str, ...]
    leaves: tuple[str, ...]
    inputs: dict[str, tuple[str, ...]]
    merge: dict[str, str]
    workers: int
    strategy: ExecutionStrategy

    def expected_items(self) -> dict[str, Counter[int]]:
        """For every node, the multiset of item ids it must receive (one per path)."""
        received: dict[str, Counter[int]] = {"source": Counter(range(self.count))}
        for name in (*self.relays, *self.leaves):
            total: Counter[int] = Counter()
            for upstream in self.inputs[name]:
                total += received[upstream]
            received[name] = total
        return received


@st.composite
def flow_specs(draw: st.DrawFn, strategy: ExecutionStrategy | None = None) -> FlowSpec:
    relays = tuple(f"relay{i}" for i in range(draw(st.integers(0, 5))))
    leaves = tuple(f"leaf{i}" for i in range(draw(st.integers(1, 3))))
    inputs: dict[str, tuple[str, ...]] = {}
    upstream = ["source"]
    for name in relays:
        inputs[name] = tuple(draw(st.lists(st.sampled_from(upstream), min_size=1, unique=True)))
        upstream.append(name)
    for name in leaves:
        inputs[name] = tuple(draw(st.lists(st.sampled_from(upstream), min_size=1, unique=True)))
    return FlowSpec(
        count=draw(st.integers(0, 25)),
        relays=relays,
        leaves=leaves,
        inputs=inputs,
        merge={name: draw(st.sampled_from(MERGES)) for name in leaves},
        workers=draw(st.integers(1, 6)),
        strategy=draw(st.sampled_from(STRATEGIES)) if strategy is None else strategy,
    )


class CallLog:
    """Thread-safe log of (routine, item) handler calls in call order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[tuple[str, Any]] = []

    def add(self, name: str, item: Any) -> None:
        with self._lock:
            self.calls.append((name, item))


class PSource(Routine):
    def __init__(self) -> None:
        super().__init__()
        self.define_slot("trigger", handler=self.fire)
        self.define_event("out", ["item"])

    def fire(self, count: int) -> None:
        for item in range(count):
            self.emit("out", item=item)


class PRelay(Routine):
    def __init__(self, name: str, log: CallLog) -> None:
        super().__init__()
        self.name, self.log = name, log
        self.define_slot("input", handler=self.relay)
        self.define_event("out", ["item"])

    def relay(self, item: int) -> None:
        self.log.add(self.name, item)
        self.increment_stat("calls")
        self.emit("out", item=item)


def collect(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A custom merge: the list of every item delivered so far."""
    return {"item": [*old.get("item", []), new["item"]]}


def merge_spec(name: str) -> MergeSpec:
    if name == "custom":
        return collect
    return "append" if name == "append" else "override"


class PLeaf(Routine):
    def __init__(self, name: str, log: CallLog, merge: str) -> None:
        super().__init__()
        self.name, self.log = name, log
        self.define_slot("input", handler=self.receive, merge_strategy=merge_spec(merge))

    def receive(self, item: Any) -> None:
        self.log.add(self.name, item)
        self.increment_stat("calls")


def build(spec: FlowSpec) -> tuple[Flow, CallLog]:
    log = CallLog()
    flow = Flow(execution_strategy=spec.strategy, max_workers=spec.workers)
    flow.add_routine(PSource(), "source")
    for name in spec.relays:
        flow.add_routine(PRelay(name, log), name)
    for name in spec.leaves:
        flow.add_routine(PLeaf(name, log, spec.merge[name]), name)
    for name, upstream in spec.inputs.items():
        for source in upstream:
            flow.connect(source, "out", name, "input")
    return flow, log
