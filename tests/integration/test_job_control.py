"""pause / resume / cancel, the runaway guard, and what a final job refuses."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from routilux import (
    ActivationLimitError,
    Flow,
    JobState,
    PausePoint,
    Routine,
)
from routilux.flow import ExecutionStrategy
from tests.support import STRATEGIES, Blocker, Relay, Sink, Source


class PausingSink(Routine):
    """Counts items; on item ``pause_at`` it pauses its own job from inside the handler."""

    def __init__(self, pause_at: int) -> None:
        super().__init__()
        self.pause_at = pause_at
        self._lock = threading.Lock()
        self.items: list[int] = []
        self.define_slot("input", handler=self.handle)

    def handle(self, value: int) -> None:
        with self._lock:
            self.items.append(value)
        if value == self.pause_at:
            context = self.get_execution_context()
            assert context is not None
            assert context.flow.pause(
                context.job_state, reason="half way", checkpoint={"at": value}
            )


def pausing_flow(strategy: ExecutionStrategy, pause_at: int) -> tuple[Flow, PausingSink]:
    flow = Flow(execution_strategy=strategy, max_workers=1)
    sink = PausingSink(pause_at)
    flow.add_routine(Source(), "src")
    flow.add_routine(sink, "sink")
    flow.connect("src", "out", "sink", "input")
    return flow, sink


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_pause_from_a_handler_holds_the_rest_and_resume_delivers_each_once(
    strategy: ExecutionStrategy,
) -> None:
    flow, sink = pausing_flow(strategy, pause_at=3)
    job = flow.execute("src", {"count": 10})
    assert flow.wait_for_completion(timeout=10)  # paused with nothing running counts as settled
    assert job.status == "paused"
    assert sink.items == [0, 1, 2, 3]
    held = job.held_activations
    assert [h.payload for h in held] == [{"value": i} for i in range(4, 10)]
    assert {(h.routine_id, h.slot_name) for h in held} == {("sink", "input")}
    (point,) = job.pause_points
    assert isinstance(point, PausePoint)
    assert (point.reason, point.checkpoint) == ("half way", {"at": 3})

    assert flow.resume(job) is job
    assert job.wait(timeout=10)
    flow.shutdown()
    assert job.status == "completed"
    assert Counter(sink.items) == Counter(range(10))
    assert job.held_activations == []
    kinds = [r.kind for r in job.execution_history]
    assert kinds.count("pause") == 1 and kinds.count("resume") == 1


def test_sequential_execute_returns_the_paused_job_and_resume_runs_in_the_caller() -> None:
    flow, sink = pausing_flow("sequential", pause_at=1)
    job = flow.execute("src", {"count": 3})
    assert job.status == "paused"
    assert sink.items == [0, 1]
    flow.resume(job)
    assert job.status == "completed"  # resume ran the rest right here
    assert sink.items == [0, 1, 2]


def test_pause_of_one_job_does_not_delay_another() -> None:
    flow = Flow(execution_strategy="concurrent", max_workers=2)
    blocker, sink = Blocker(), Sink()
    flow.add_routine(blocker, "blocker")
    flow.add_routine(Relay(), "relay")
    flow.add_routine(Source(), "src")
    flow.add_routine(sink, "sink")
    flow.connect("blocker", "out", "relay", "input")
    flow.connect("src", "out", "sink", "input")
    job_a = flow.execute("blocker")
    assert blocker.entered.wait(timeout=10)
    assert flow.pause(job_a, reason="operator")
    assert job_a.status == "paused"
    job_b = flow.execute("src", {"count": 5})
    assert job_b.wait(timeout=10) and job_b.status == "completed"
    assert len(sink.received) == 5
    assert job_a.status == "paused"
    blocker.release.set()
    assert flow.wait_for_completion(timeout=10)
    # A's emit after the pause was held, not run.
    assert [h.routine_id for h in job_a.held_activations] == ["relay"]
    flow.resume(job_a)
    assert job_a.wait(timeout=10) and job_a.status == "completed"
    flow.shutdown()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_cancel_with_a_deep_queue_returns_without_waiting(strategy: ExecutionStrategy) -> None:
    """The handler blocks until cancel() has returned: a cancel that waited would deadlock."""
    cancelled = threading.Event()
    ran: list[int] = []

    class Fanout(Routine):
        def __init__(self) -> None:
            super().__init__()
            self.define_slot("trigger", handler=self.go)
            self.define_event("out", ["value"])

        def go(self) -> None:
            context = self.get_execution_context()
            assert context is not None
            for i in range(20_000):
                self.emit("out", value=i)
            if strategy == "sequential":
                # Sequential: the caller's thread is busy here, so cancel from this handler.
                assert context.flow.cancel(context.job_state, reason="enough")
                cancelled.set()

    class Waits(Routine):
        def __init__(self) -> None:
            super().__init__()
            self.define_slot("input", handler=self.handle)

        def handle(self, value: int) -> None:
            ran.append(value)
            assert cancelled.wait(timeout=10)

    flow = Flow(execution_strategy=strategy, max_workers=1)
    flow.add_routine(Fanout(), "fan")
    flow.add_routine(Waits(), "waits")
    flow.connect("fan", "out", "waits", "input")
    job = flow.execute("fan")
    if strategy == "concurrent":
        assert flow.cancel(job, reason="enough")
        cancelled.set()
    assert job.wait(timeout=10)
    assert flow.wait_for_completion(timeout=10)
    flow.shutdown()
    assert job.status == "cancelled"
    assert len(ran) <= 1  # at most the activation already running when cancel came
    assert ("cancelled", "enough") in [(r.event_name, r.data) for r in job.execution_history]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_cancel_of_a_paused_job_drops_its_held_work(strategy: ExecutionStrategy) -> None:
    flow, sink = pausing_flow(strategy, pause_at=0)
    job = flow.execute("src", {"count": 5})
    assert flow.wait_for_completion(timeout=10)
    assert len(job.held_activations) == 4
    assert flow.cancel(job)
    assert job.status == "cancelled" and job.held_activations == []
    flow.shutdown()
    assert sink.items == [0]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_final_jobs_are_not_reopened(strategy: ExecutionStrategy) -> None:
    flow = Flow(execution_strategy=strategy)
    flow.add_routine(Source(), "src")
    job = flow.execute("src")
    assert job.wait(timeout=10) and job.status == "completed"
    with pytest.warns(RuntimeWarning, match="already completed"):
        assert flow.pause(job) is False
    with pytest.warns(RuntimeWarning, match="already completed"):
        assert flow.cancel(job) is False
    with pytest.raises(ValueError, match="cannot resume"), pytest.warns(RuntimeWarning):
        flow.resume(job)
    assert job.status == "completed" and job.pause_points == []
    flow.shutdown()


def test_resume_of_a_running_job_is_refused() -> None:
    flow = Flow(execution_strategy="concurrent")
    blocker = Blocker()
    flow.add_routine(blocker, "b")
    job = flow.execute("b")
    assert blocker.entered.wait(timeout=10)
    with pytest.raises(ValueError, match="only a paused job can be resumed"):
        flow.resume(job)
    assert flow.pause(job) and not flow.pause(job)  # a second pause is not a new pause point
    assert len(job.pause_points) == 1
    blocker.release.set()
    assert flow.wait_for_completion(timeout=10)
    flow.resume(job)
    assert job.wait(timeout=10) and job.status == "completed"
    flow.shutdown()


def test_control_calls_check_their_argument() -> None:
    flow, other = Flow("mine"), Flow("other")
    other.add_routine(Source(), "src")
    foreign = other.execute("src")
    with pytest.raises(ValueError, match="belongs to flow 'other'"):
        flow.pause(foreign)
    with pytest.raises(TypeError, match="expects a JobState"):
        flow.cancel("job-1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not running on flow"):
        flow.resume(JobState("mine"))


def test_paused_job_survives_shutdown_and_resumes_on_a_new_pool() -> None:
    flow, sink = pausing_flow("concurrent", pause_at=1)
    job = flow.execute("src", {"count": 4})
    assert flow.shutdown(wait=True, timeout=10) is True
    assert job.status == "paused"
    flow.resume(job)
    assert job.wait(timeout=10) and job.status == "completed"
    assert sorted(sink.items) == [0, 1, 2, 3]
    flow.shutdown()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_deferred_events_are_emitted_inside_the_job_on_resume(strategy: ExecutionStrategy) -> None:
    seen: list[tuple[Any, str]] = []

    class Defers(Routine):
        def __init__(self) -> None:
            super().__init__()
            self.define_slot("trigger", handler=self.go)
            self.define_event("later", ["note"])

        def go(self) -> None:
            context = self.get_execution_context()
            assert context is not None
            self.emit_deferred_event("later", note="after resume")
            context.flow.pause(context.job_state, reason="wait for approval")

    class Reader(Routine):
        def __init__(self) -> None:
            super().__init__()
            self.define_slot("input", handler=self.read)

        def read(self, note: str) -> None:
            context = self.get_execution_context()
            assert context is not None
            seen.append((context.job_state, note))

    flow = Flow(execution_strategy=strategy)
    flow.add_routine(Defers(), "defers")
    flow.add_routine(Reader(), "reader")
    flow.connect("defers", "later", "reader", "input")
    job = flow.execute("defers")
    assert flow.wait_for_completion(timeout=10)
    assert job.status == "paused" and seen == []
    assert [(d.routine_id, d.event_name) for d in job.deferred_events] == [("defers", "later")]
    flow.resume(job)
    assert job.wait(timeout=10) and job.status == "completed"
    flow.shutdown()
    assert seen == [(job, "after resume")]
    assert job.deferred_events == []


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_runaway_feedback_loop_is_stopped_by_the_activation_limit(
    strategy: ExecutionStrategy,
) -> None:
    flow = Flow(execution_strategy=strategy, max_activations=200)
    flow.add_routine(Source(), "src")
    flow.add_routine(Relay(), "a")
    flow.add_routine(Relay(), "b")
    flow.connect("src", "out", "a", "input")
    flow.connect("a", "out", "b", "input")
    flow.connect("b", "out", "a", "input", feedback=True)
    assert flow.validate().ok
    job = flow.execute("src")
    assert job.wait(timeout=10)
    flow.shutdown()
    assert job.status == "failed"
    assert job.error is not None
    assert job.error.exception_type == ActivationLimitError.__qualname__
    assert "limit of 200 activations" in job.error.message
    states = job.routine_states
    assert states["a"].activations + states["b"].activations < 200


def test_activation_limit_validation() -> None:
    with pytest.raises(ValueError, match="max_activations must be"):
        Flow(max_activations=0)
    flow = Flow()
    flow.max_activations = None
    assert flow.max_activations is None
