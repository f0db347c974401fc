"""send_output and its handlers, shared data, and the ExecutionTracker, in both strategies."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from routilux import (
    CallbackOutputHandler,
    ExecutionTracker,
    Flow,
    NotInJobError,
    OutputRecord,
    QueueOutputHandler,
    Routine,
)
from routilux.flow import ExecutionStrategy
from tests.support import STRATEGIES, Sink, Source, chain

pytestmark = pytest.mark.parametrize("strategy", STRATEGIES)


class Reporter(Routine):
    def __init__(self) -> None:
        super().__init__()
        self.define_slot("input", handler=self.report)

    def report(self, value: int) -> None:
        self.send_output("progress", value=value)
        context = self.get_execution_context()
        assert context is not None
        context.job_state.append_to_shared_log(value)
        context.job_state.update_shared_data(f"seen-{value}", True)


def reporting_flow(strategy: ExecutionStrategy) -> Flow:
    flow = Flow(execution_strategy=strategy, max_workers=4)
    flow.add_routine(Source(), "src")
    flow.add_routine(Reporter(), "reporter")
    flow.connect("src", "out", "reporter", "input")
    return flow


def test_queue_output_handler_and_output_log(strategy: ExecutionStrategy) -> None:
    flow = reporting_flow(strategy)
    outputs = QueueOutputHandler()
    flow.set_output_handler(outputs)
    job = flow.execute("src", {"count": 30})
    assert job.wait(timeout=10)
    flow.shutdown()
    records = outputs.drain()
    assert sorted(r.data["value"] for r in records) == list(range(30))
    assert all(
        (r.job_id, r.routine_id, r.output_type) == (job.job_id, "reporter", "progress")
        for r in records
    )
    assert sorted(r.data["value"] for r in job.output_log) == list(range(30))
    assert sorted(job.shared_log) == list(range(30))
    assert job.shared_data == {f"seen-{i}": True for i in range(30)}
    assert job.get_shared_data("seen-3") is True and job.get_shared_data("x", 0) == 0


def test_callback_and_null_output_handlers(strategy: ExecutionStrategy) -> None:
    got: list[OutputRecord] = []
    lock = threading.Lock()

    def collect(record: OutputRecord) -> None:
        with lock:
            got.append(record)

    flow = reporting_flow(strategy)
    flow.set_output_handler(CallbackOutputHandler(collect))
    job = flow.execute("src", {"count": 5})
    assert job.wait(timeout=10)
    assert sorted(r.data["value"] for r in got) == list(range(5))

    flow.set_output_handler(None)
    quiet = flow.execute("src", {"count": 2})
    assert quiet.wait(timeout=10)
    flow.shutdown()
    assert len(got) == 5 and len(quiet.output_log) == 2


def test_output_outside_a_job_and_bad_handlers(strategy: ExecutionStrategy) -> None:
    del strategy
    with pytest.raises(NotInJobError, match="send_output"):
        Reporter().send_output("x", a=1)
    with pytest.raises(NotInJobError, match="emit_deferred_event"):
        Reporter().emit_deferred_event("x")
    with pytest.raises(TypeError, match="handle"):
        Flow().set_output_handler(print)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callable"):
        CallbackOutputHandler("nope")  # type: ignore[arg-type]


def test_tracker_records_every_activation_and_delivery(strategy: ExecutionStrategy) -> None:
    tracker = ExecutionTracker()
    flow, _, _ = chain(strategy, workers=3)
    flow.execution_tracker = tracker  # attaching after building works like the constructor
    jobs = [flow.execute("source", {"count": 10}) for _ in range(2)]
    for job in jobs:
        assert job.wait(timeout=10)
    flow.shutdown()

    activations = tracker.activations
    assert len(activations) == 2 * (1 + 10 + 10)
    assert all(a.end >= a.start and a.outcome == "completed" for a in activations)
    assert {a.job_id for a in activations} == {job.job_id for job in jobs}
    deliveries = tracker.deliveries
    assert len(deliveries) == 2 * 20
    assert {(d.source_id, d.event_name, d.target_id, d.slot_name) for d in deliveries} == {
        ("source", "out", "relay", "input"),
        ("relay", "out", "sink", "input"),
    }

    relay = tracker.get_routine_performance("relay")
    assert (relay.activations, relay.completed, relay.failed) == (20, 20, 0)
    assert (relay.deliveries_received, relay.deliveries_sent) == (20, 20)
    assert 0 <= relay.min_time <= relay.mean_time <= relay.max_time
    assert relay.total_time == pytest.approx(
        sum(a.duration for a in activations if a.routine_id == "relay")
    )
    flow_perf = tracker.get_flow_performance()
    assert (flow_perf.jobs, flow_perf.activations, flow_perf.deliveries) == (2, 42, 40)
    assert set(flow_perf.routines) == {"source", "relay", "sink"}
    assert flow_perf.wall_time >= max(a.duration for a in activations)

    unknown = tracker.get_routine_performance("nobody")
    assert (unknown.activations, unknown.mean_time) == (0, 0.0)
    tracker.clear()
    assert tracker.get_flow_performance().activations == 0


def test_tracker_records_failures_and_can_be_detached(strategy: ExecutionStrategy) -> None:
    class Fails(Routine):
        def __init__(self) -> None:
            super().__init__()
            self.define_slot("input", handler=self.handle)
            self.set_as_optional()

        def handle(self, **payload: Any) -> None:
            raise ValueError("no")

    tracker = ExecutionTracker()
    flow = Flow(execution_strategy=strategy)
    flow.execution_tracker = tracker
    flow.add_routine(Source(), "src")
    flow.add_routine(Fails(), "fails")
    flow.connect("src", "out", "fails", "input")
    assert flow.execute("src", {"count": 3}).wait(timeout=10)
    perf = tracker.get_routine_performance("fails")
    assert (perf.activations, perf.failed, perf.completed) == (3, 3, 0)
    flow.execution_tracker = None
    assert flow.execute("src", {"count": 3}).wait(timeout=10)
    flow.shutdown()
    assert tracker.get_routine_performance("fails").activations == 3
    with pytest.raises(TypeError, match="ExecutionTracker"):
        flow.execution_tracker = object()  # type: ignore[assignment]


def test_tracker_records_one_delivery_per_target_of_a_fan_out(strategy: ExecutionStrategy) -> None:
    tracker = ExecutionTracker()
    flow = Flow(execution_strategy=strategy, max_workers=3, execution_tracker=tracker)
    sinks = [Sink(), Sink(), Sink()]
    flow.add_routine(Source(), "src")
    for i, sink in enumerate(sinks):
        flow.add_routine(sink, f"sink{i}")
        flow.connect("src", "out", f"sink{i}", "input")
    job = flow.execute("src", {"count": 4})
    assert job.wait(timeout=10)
    flow.shutdown()

    deliveries = tracker.deliveries
    assert len(deliveries) == 3 * 4
    assert sorted(d.target_id for d in deliveries) == sorted([f"sink{i}" for i in range(3)] * 4)
    assert all(d.job_id == job.job_id and d.source_id == "src" for d in deliveries)
    received = [tracker.get_routine_performance(f"sink{i}").deliveries_received for i in range(3)]
    assert received == [4, 4, 4]
    assert tracker.get_routine_performance("src").deliveries_sent == 12
