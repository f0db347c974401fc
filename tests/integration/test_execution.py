"""Job semantics in both strategies: delivery, mapping, errors, history, context, merge state."""

import threading
from typing import Any

import pytest

from routilux import (
    ErrorHandler,
    EventPayloadError,
    ExecutionContext,
    Flow,
    JobState,
    Routine,
)
from routilux.flow import ExecutionStrategy
from tests.support import STRATEGIES, OnTrigger, Relay, Sink, Source, chain

pytestmark = pytest.mark.parametrize("strategy", STRATEGIES)


def run(flow: Flow, entry: str, **params: Any) -> JobState:
    job = flow.execute(entry, params)
    assert job.wait(timeout=10), f"job did not finish: {job}"
    flow.shutdown()
    return job


def test_chain_delivers_every_item_exactly_once(strategy: ExecutionStrategy) -> None:
    flow, _, sink = chain(strategy)
    job = run(flow, "source", count=50)
    assert job.status == "completed"
    assert sorted(p["value"] for p in sink.received) == list(range(50))
    if strategy == "sequential":
        assert [p["value"] for p in sink.received] == list(range(50))
    states = job.routine_states
    assert (states["source"].activations, states["relay"].activations) == (1, 50)
    assert states["sink"].activations == 50 and states["sink"].status == "completed"


def test_param_mapping_renames_exactly(strategy: ExecutionStrategy) -> None:
    flow = Flow(execution_strategy=strategy)
    sink = Sink()
    flow.add_routine(Source(["value", "keep"]), "src")
    flow.add_routine(sink, "sink")
    flow.connect("src", "out", "sink", "input", {"value": "renamed"})
    run(flow, "src", count=2, keep="k")
    assert sorted(sink.received, key=lambda p: p["renamed"]) == [
        {"renamed": 0, "keep": "k"},
        {"renamed": 1, "keep": "k"},
    ]


class Boom(Routine):
    def __init__(self, fail_on: int = 1) -> None:
        super().__init__()
        self.fail_on = fail_on
        self.seen: list[int] = []
        self.define_slot("input", handler=self.handle)

    def handle(self, value: int) -> None:
        self.seen.append(value)
        if value == self.fail_on:
            raise KeyError(f"bad value {value}")


def test_handler_error_fails_the_job_with_full_details(strategy: ExecutionStrategy) -> None:
    flow = Flow(execution_strategy=strategy, max_workers=1)
    boom = Boom()
    flow.add_routine(Source(), "src")
    flow.add_routine(boom, "boom")
    flow.connect("src", "out", "boom", "input")
    job = run(flow, "src", count=5)
    assert job.status == "failed"
    error = job.error
    assert error is not None
    assert (error.routine_id, error.slot_name, error.exception_type) == (
        "boom",
        "input",
        "KeyError",
    )
    assert "bad value 1" in error.message
    assert "in handle" in error.traceback and "KeyError" in error.traceback
    # STOP: activations queued behind the failure never ran.
    assert boom.seen == [0, 1]
    state = job.get_routine_state("boom")
    assert state is not None and state.status == "failed" and state.last_error == error
    assert job.errors == (error,)


@pytest.mark.parametrize("policy", ["continue", "skip"])
def test_continue_and_skip_record_and_go_on(strategy: ExecutionStrategy, policy: str) -> None:
    flow = Flow(execution_strategy=strategy)
    boom = Boom()
    boom.set_error_handler(ErrorHandler(policy))
    flow.add_routine(Source(), "src")
    flow.add_routine(boom, "boom")
    flow.connect("src", "out", "boom", "input")
    job = run(flow, "src", count=4)
    assert job.status == "completed"
    assert sorted(boom.seen) == [0, 1, 2, 3]
    (error,) = job.errors
    assert error.exception_type == "KeyError"
    state = job.get_routine_state("boom")
    assert state is not None
    assert (state.activations, state.errors, state.skipped) == (4, 1, int(policy == "skip"))


def test_flow_level_policy_applies_to_the_entry_routine(strategy: ExecutionStrategy) -> None:
    class FailingEntry(Routine):
        def __init__(self) -> None:
            super().__init__()
            self.define_slot("trigger", handler=self.go)

        def go(self) -> None:
            raise RuntimeError("entry broke")

    flow = Flow(execution_strategy=strategy)
    flow.add_routine(FailingEntry(), "entry")
    flow.set_error_handler(ErrorHandler("continue"))
    job = run(flow, "entry")
    assert job.status == "completed"
    assert [e.message for e in job.errors] == ["entry broke"]


def test_undeclared_emit_key_fails_the_emitting_activation(strategy: ExecutionStrategy) -> None:
    class Sloppy(Routine):
        def __init__(self) -> None:
            super().__init__()
            self.define_slot("trigger", handler=self.go)
            self.define_event("out", ["a"])

        def go(self) -> None:
            self.emit("out", a=1, typo=2)

    flow = Flow(execution_strategy=strategy)
    flow.add_routine(Sloppy(), "s")
    job = run(flow, "s")
    assert job.status == "failed"
    assert job.error is not None and job.error.exception_type == EventPayloadError.__qualname__
    assert "typo" in job.error.message and "declared params: a" in job.error.message


def test_emit_accepts_and_ignores_flow_keyword(strategy: ExecutionStrategy) -> None:
    class Old(Routine):
        def __init__(self) -> None:
            super().__init__()
            self.define_slot("trigger", handler=self.go)
            self.define_event("out", ["a"])

        def go(self) -> None:
            context = self.get_execution_context()
            assert context is not None
            self.emit("out", flow=context.flow, a=1)

    flow = Flow(execution_strategy=strategy)
    sink = Sink()
    flow.add_routine(Old(), "old")
    flow.add_routine(sink, "sink")
    flow.connect("old", "out", "sink", "input")
    assert run(flow, "old").status == "completed"
    assert sink.received == [{"a": 1}]


def test_execution_context_inside_and_outside(strategy: ExecutionStrategy) -> None:
    seen: list[ExecutionContext | None] = []

    class Peek(Routine):
        def __init__(self) -> None:
            super().__init__()
            self.define_slot("trigger", handler=lambda: seen.append(self.get_execution_context()))

    flow = Flow(execution_strategy=strategy)
    peek = Peek()
    flow.add_routine(peek, "peek")
    job = run(flow, "peek")
    assert seen == [ExecutionContext(flow, job, "peek")]
    assert peek.get_execution_context() is None


def test_history_records_start_emits_and_end(strategy: ExecutionStrategy) -> None:
    flow, _, _ = chain(strategy)
    job = run(flow, "source", count=2)
    kinds = [(r.kind, r.routine_id, r.event_name) for r in job.execution_history]
    assert kinds[0] == ("start", "source", "start")
    assert kinds[-1] == ("end", "", "completed")
    emits = [k for k in kinds if k[0] == "emit"]
    assert sorted(emits) == sorted([("emit", "source", "out")] * 2 + [("emit", "relay", "out")] * 2)
    assert [r.data for r in job.get_execution_history("source") if r.kind == "emit"] == [
        {"value": 0},
        {"value": 1},
    ]


def test_append_state_is_per_job(strategy: ExecutionStrategy) -> None:
    flow = Flow(execution_strategy=strategy, max_workers=4)
    sink = Sink("append")
    flow.add_routine(Source(), "src")
    flow.add_routine(sink, "sink")
    flow.connect("src", "out", "sink", "input")
    jobs = [flow.execute("src", {"count": 3}) for _ in range(4)]
    assert flow.wait_for_completion(timeout=10)
    flow.shutdown()
    assert all(job.status == "completed" for job in jobs)
    # Each job's three calls see 1, 2 and 3 accumulated items of its own: never another job's.
    lists = [p["value"] for p in sink.received]
    assert sorted(len(values) for values in lists) == [1] * 4 + [2] * 4 + [3] * 4
    assert all(len(set(values)) == len(values) <= 3 for values in lists)
    assert all(sorted(values) == [0, 1, 2] for values in lists if len(values) == 3)


def test_emit_from_a_routine_outside_the_flow_fails_clearly(strategy: ExecutionStrategy) -> None:
    stranger = Relay()

    class Meddler(Routine):
        def __init__(self) -> None:
            super().__init__()
            self.define_slot("trigger", handler=lambda: stranger.emit("out", x=1))

    flow = Flow("mine", execution_strategy=strategy)
    flow.add_routine(Meddler(), "m")
    job = run(flow, "m")
    assert job.status == "failed" and job.error is not None
    assert "not a routine of flow 'mine'" in job.error.message


def test_wait_from_inside_a_handler_is_refused(strategy: ExecutionStrategy) -> None:
    outcome: list[str] = []

    def wait_inside(context: ExecutionContext) -> None:
        try:
            context.flow.wait_for_completion(timeout=5)
        except RuntimeError as error:
            outcome.append(str(error))

    flow = Flow(execution_strategy=strategy)
    flow.add_routine(OnTrigger(wait_inside), "w")
    assert run(flow, "w").status == "completed"
    assert len(outcome) == 1 and "would wait for the very job" in outcome[0]


def test_slot_without_handler_counts_deliveries(strategy: ExecutionStrategy) -> None:
    class Quiet(Routine):
        def __init__(self) -> None:
            super().__init__()
            self.define_slot("input")

    flow = Flow(execution_strategy=strategy)
    flow.add_routine(Source(), "src")
    flow.add_routine(Quiet(), "quiet")
    flow.connect("src", "out", "quiet", "input")
    job = run(flow, "src", count=3)
    state = job.get_routine_state("quiet")
    assert state is not None and state.activations == 3


def test_handler_arguments_are_not_shared_between_fan_out_targets(
    strategy: ExecutionStrategy,
) -> None:
    class Mutator(Routine):
        def __init__(self) -> None:
            super().__init__()
            self.define_slot("input", handler=self.handle)

        def handle(self, data: dict[str, Any]) -> None:
            data["value"] = "mutated"

    flow = Flow(execution_strategy=strategy, max_workers=1)
    sink = Sink()
    flow.add_routine(Source(), "src")
    flow.add_routine(Mutator(), "mutator")
    flow.add_routine(sink, "sink")
    flow.connect("src", "out", "mutator", "input")
    flow.connect("src", "out", "sink", "input")
    job = run(flow, "src", count=1)
    assert sink.received == [{"value": 0}]
    (emit,) = [r for r in job.execution_history if r.kind == "emit"]
    assert emit.data == {"value": 0}


def test_job_can_be_awaited_from_another_thread(strategy: ExecutionStrategy) -> None:
    flow, _, sink = chain(strategy, workers=3)
    done = threading.Event()
    job = flow.execute("source", {"count": 10})

    def waiter() -> None:
        if job.wait(10):
            done.set()

    threading.Thread(target=waiter).start()
    assert done.wait(timeout=10)
    assert job.status == "completed" and len(sink.received) == 10
    flow.shutdown()


def test_history_limit_keeps_structure_and_counts_omitted_emits(
    strategy: ExecutionStrategy,
) -> None:
    flow = Flow(execution_strategy=strategy, history_limit=5)
    flow.add_routine(Source(), "src")
    flow.add_routine(Sink(), "sink")
    flow.connect("src", "out", "sink", "input")
    job = run(flow, "src", count=12)
    kinds = [r.kind for r in job.execution_history]
    assert kinds == ["start"] + ["emit"] * 5 + ["end"]
    assert job.history_omitted == 7
    assert job.history_limit == 5

    unlimited = Flow(execution_strategy=strategy, history_limit=None)
    unlimited.add_routine(Source(), "src")
    job = run(unlimited, "src", count=12)
    assert [r.kind for r in job.execution_history].count("emit") == 12
    assert job.history_omitted == 0
    with pytest.raises(ValueError, match="history_limit must be an int >= 0"):
        Flow(history_limit=-1)
