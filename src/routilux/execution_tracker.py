"""ExecutionTracker: opt-in metrics of every activation and every delivery.

Attach one to a flow (``Flow(execution_tracker=ExecutionTracker())`` or
``flow.execution_tracker = tracker``); every job started afterwards reports to it. With no
tracker attached the runtime does no tracking work at all. Records are kept in memory until
:meth:`ExecutionTracker.clear`, so a tracker on a flow that runs millions of activations grows
with them: attach it for the runs you want to measure.

Guarantees: thread-safe; records are appended under one lock and read as copies; the report
methods compute from a consistent snapshot. Times are ``time.perf_counter()`` seconds.

Cost: the runtime hands the tracker plain values, stored as one tuple per activation and one
per emit (covering all of that emit's targets); the record objects are built only when read.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

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
DeliveryValues = tuple[str, str, str, Sequence[tuple[str, str]], float]


class ExecutionTracker:
    """Collects activation and delivery records. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._activations: list[ActivationValues] = []
        self._deliveries: list[DeliveryValues] = []

    def record_activation(self, values: ActivationValues) -> None:
        """One handler run ended: ``(job_id, routine_id, slot_name, start, end, outcome)``."""
        with self._lock:
            self._activations.append(values)

    def record_deliveries(self, values: DeliveryValues) -> None:
        """One emit, delivered to each target:
        ``(job_id, source_id, event_name, ((target_id, slot_name), ...), timestamp)``."""
        with self._lock:
            self._deliveries.append(values)

    @property
    def activations(self) -> list[ActivationRecord]:
        return self._snapshot()[0]

    @property
    def deliveries(self) -> list[DeliveryRecord]:
        return self._snapshot()[1]

    def clear(self) -> None:
        with self._lock:
            self._activations.clear()
            self._deliveries.clear()

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
            activations, deliveries = list(self._activations), list(self._deliveries)
        return (
            [ActivationRecord(*a) for a in activations],
            [
                DeliveryRecord(job_id, source_id, event_name, target_id, slot_name, timestamp)
                for job_id, source_id, event_name, targets, timestamp in deliveries
                for target_id, slot_name in targets
            ],
        )


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
