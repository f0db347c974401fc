"""ExecutionTracker: opt-in metrics of every activation and every delivery.

Attach one to a flow (``Flow(execution_tracker=ExecutionTracker())`` or
``flow.execution_tracker = tracker``); every job started afterwards reports to it. With no
tracker attached the runtime does no tracking work at all. Records are kept in memory until
:meth:`ExecutionTracker.clear`, so a tracker on a flow that runs millions of activations grows
with them: attach it for the runs you want to measure.

Guarantees: thread-safe; records are appended under one lock and read as copies; the report
methods compute from a consistent snapshot. Times are ``time.perf_counter()`` seconds.

Cost: the runtime hands the tracker plain values; they are stored in columns (an interned
place number and the times as doubles: about 25 bytes per activation and 16 per emit) and the
record objects are built only when read.
"""

from __future__ import annotations

import threading
from array import array
from typing import Any

import attrs


@attrs.frozen
class ActivationRecord:
    """One run of a slot handler. ``outcome`` is completed, failed, skipped or retrying."""

    job_id: str
    routine_id: str
    slot_name: str
    start: float
    end: float
    outcome: str

    @property
    def duration(self) -> float:
        return self.end - self.start


@attrs.frozen
class DeliveryRecord:
    """One payload routed from ``source_id.event_name`` to ``target_id.slot_name``."""

    job_id: str
    source_id: str
    event_name: str
    target_id: str
    slot_name: str
    timestamp: float


@attrs.frozen
class RoutinePerformance:
    """Aggregates for one routine id across every tracked job."""

    routine_id: str
    activations: int
    completed: int
    failed: int
    skipped: int
    total_time: float
    mean_time: float
    min_time: float
    max_time: float
    deliveries_received: int
    deliveries_sent: int


@attrs.frozen
class FlowPerformance:
    """Aggregates over every tracked activation. ``wall_time`` spans first start to last end."""

    jobs: int
    activations: int
    deliveries: int
    total_handler_time: float
    wall_time: float
    routines: dict[str, RoutinePerformance]


# The plain values the runtime reports; records are built from them when read.
ActivationValues = tuple[str, str, str, float, float, str]
DeliveryValues = tuple[str, str, str, tuple[tuple[str, str], ...], float]


class _Interned:
    """Distinct keys numbered in order of first sight (a job has few distinct places)."""

    __slots__ = ("index", "keys")

    def __init__(self) -> None:
        self.index: dict[tuple[Any, ...], int] = {}
        self.keys: list[tuple[Any, ...]] = []

    def number(self, key: tuple[Any, ...]) -> int:
        number = self.index.get(key)
        if number is None:
            number = self.index[key] = len(self.keys)
            self.keys.append(key)
        return number


class ExecutionTracker:
    """Collects activation and delivery records. Thread-safe.

    Storage is columnar: each activation costs one interned-place number and two doubles, each
    emit one number and one double, whatever the ids' lengths."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        # (job_id, routine_id, slot_name, outcome) and (job_id, source_id, event, targets)
        self._activation_places = _Interned()
        self._activation_place = array("q")
        self._starts = array("d")
        self._ends = array("d")
        self._delivery_places = _Interned()
        self._delivery_place = array("q")
        self._delivery_times = array("d")

    def record_activation(self, values: ActivationValues) -> None:
        """One handler run ended: ``(job_id, routine_id, slot_name, start, end, outcome)``."""
        job_id, routine_id, slot_name, start, end, outcome = values
        place = (job_id, routine_id, slot_name, outcome)
        with self._lock:
            self._activation_place.append(self._activation_places.number(place))
            self._starts.append(start)
            self._ends.append(end)

    def record_deliveries(self, values: DeliveryValues) -> None:
        """One emit, delivered to each target:
        ``(job_id, source_id, event_name, ((target_id, slot_name), ...), timestamp)``."""
        job_id, source_id, event_name, targets, timestamp = values
        place = (job_id, source_id, event_name, targets)
        with self._lock:
            self._delivery_place.append(self._delivery_places.number(place))
            self._delivery_times.append(timestamp)

    @property
    def activations(self) -> list[ActivationRecord]:
        return self._snapshot()[0]

    @property
    def deliveries(self) -> list[DeliveryRecord]:
        return self._snapshot()[1]

    def clear(self) -> None:
        with self._lock:
            self._reset()

    def get_routine_performance(self, routine_id: str) -> RoutinePerformance:
        """Aggregates for ``routine_id`` (all zero if it never ran)."""
        activations, deliveries = self._snapshot()
        return _routine_performance(routine_id, activations, deliveries)

    def get_flow_performance(self) -> FlowPerformance:
        activations, deliveries = self._snapshot()
        routine_ids = sorted(
            {a.routine_id for a in activations}
            | {d.target_id for d in deliveries}
            | {d.source_id for d in deliveries}
        )
        return FlowPerformance(
            jobs=len({a.job_id for a in activations} | {d.job_id for d in deliveries}),
            activations=len(activations),
            deliveries=len(deliveries),
            total_handler_time=sum(a.duration for a in activations),
            wall_time=(
                max(a.end for a in activations) - min(a.start for a in activations)
                if activations
                else 0.0
            ),
            routines={
                rid: _routine_performance(rid, activations, deliveries) for rid in routine_ids
            },
        )

    def _snapshot(self) -> tuple[list[ActivationRecord], list[DeliveryRecord]]:
        with self._lock:
            places, numbers = list(self._activation_places.keys), self._activation_place[:]
            starts, ends = self._starts[:], self._ends[:]
            targets, emits = list(self._delivery_places.keys), self._delivery_place[:]
            times = self._delivery_times[:]
        activations: list[ActivationRecord] = []
        for number, start, end in zip(numbers, starts, ends, strict=True):
            job_id, routine_id, slot_name, outcome = places[number]
            activations.append(ActivationRecord(job_id, routine_id, slot_name, start, end, outcome))
        deliveries: list[DeliveryRecord] = []
        for number, timestamp in zip(emits, times, strict=True):
            job_id, source_id, event_name, labels = targets[number]
            deliveries.extend(
                DeliveryRecord(job_id, source_id, event_name, target_id, slot_name, timestamp)
                for target_id, slot_name in labels
            )
        return activations, deliveries


def _routine_performance(
    routine_id: str, activations: list[ActivationRecord], deliveries: list[DeliveryRecord]
) -> RoutinePerformance:
    mine = [a for a in activations if a.routine_id == routine_id]
    durations = [a.duration for a in mine]
    outcomes = [a.outcome for a in mine]
    total = sum(durations)
    return RoutinePerformance(
        routine_id=routine_id,
        activations=len(mine),
        completed=outcomes.count("completed"),
        failed=outcomes.count("failed") + outcomes.count("retrying"),
        skipped=outcomes.count("skipped"),
        total_time=total,
        mean_time=total / len(mine) if mine else 0.0,
        min_time=min(durations, default=0.0),
        max_time=max(durations, default=0.0),
        deliveries_received=sum(d.target_id == routine_id for d in deliveries),
        deliveries_sent=sum(d.source_id == routine_id for d in deliveries),
    )
