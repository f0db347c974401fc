"""Bad input, tried systematically: every public argument with a wrong type or value gets a
clear error naming it; re-entrant calls are refused or work as documented; handlers raising
BaseException subclasses fail their job; and the engine stays usable afterwards."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

import pytest

from routilux import (
    ErrorHandler,
    ExecutionContext,
    Flow,
    JobState,
    NotInJobError,
    Routine,
    register_routine,
)
from routilux.flow import ExecutionStrategy
from tests.support import STRATEGIES, Blocker, OnTrigger, Sink, Source


def ready_flow() -> Flow:
    flow = Flow("hostile")
    flow.add_routine(Source(), "src")
    flow.add_routine(Sink(), "sink")
    flow.connect("src", "out", "sink", "input")
    return flow


def bad(value: object) -> Any:
    """A deliberately wrong argument, typed Any so the checker lets the call through."""
    return value


BAD_CALLS: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    ("Flow flow_id", lambda: Flow(flow_id=bad(5)), ValueError, "flow_id"),
    ("Flow strategy", lambda: Flow(execution_strategy=bad(None)), ValueError, "strategy"),
    ("Flow max_workers", lambda: Flow(max_workers=bad("2")), ValueError, "max_workers"),
    ("Flow timeout", lambda: Flow(execution_timeout=bad("1")), ValueError, "execution_timeout"),
    ("Flow nan timeout", lambda: Flow(execution_timeout=float("nan")), ValueError, "timeout"),
    ("Flow max_activations", lambda: Flow(max_activations=bad(1.5)), ValueError, "activations"),
    ("Flow history_limit", lambda: Flow(history_limit=bad("x")), ValueError, "history_limit"),
    ("Flow tracker", lambda: Flow(execution_tracker=bad(1)), TypeError, "ExecutionTracker"),
    ("add_routine None", lambda: Flow().add_routine(bad(None)), TypeError, "Routine instance"),
    ("add_routine id", lambda: Flow().add_routine(Source(), bad(5)), ValueError, "routine_id"),
    (
        "connect source id",
        lambda: ready_flow().connect(bad(1), "out", "sink", "input"),
        TypeError,
        "source_routine_id",
    ),
    (
        "connect event list",
        lambda: ready_flow().connect("src", bad(["out"]), "sink", "input"),
        TypeError,
        "source_event",
    ),
    (
        "connect slot None",
        lambda: ready_flow().connect("src", "out", "sink", bad(None)),
        TypeError,
        "target_slot",
    ),
    (
        "connect mapping",
        lambda: ready_flow().connect("src", "out", "sink", "input", bad("x")),
        TypeError,
        "param_mapping",
    ),
    ("execute entry None", lambda: ready_flow().execute(bad(None)), ValueError, "unknown-entry"),
    ("execute params", lambda: ready_flow().execute("src", bad(5)), TypeError, "entry_params"),
    ("params keys", lambda: ready_flow().execute("src", bad({1: 2})), TypeError, "entry_params"),
    (
        "execute timeout",
        lambda: ready_flow().execute("src", timeout=bad("1")),
        ValueError,
        "timeout",
    ),
    (
        "execute strategy",
        lambda: ready_flow().execute("src", execution_strategy=bad(1)),
        ValueError,
        "execution_strategy",
    ),
    ("wait timeout", lambda: ready_flow().wait_for_completion(bad("x")), ValueError, "timeout"),
    ("shutdown timeout", lambda: ready_flow().shutdown(timeout=-1), ValueError, "timeout"),
    ("pause job", lambda: ready_flow().pause(bad("job")), TypeError, "JobState"),
    ("resume job", lambda: ready_flow().resume(bad(None)), TypeError, "JobState"),
    ("cancel job", lambda: ready_flow().cancel(bad(1)), TypeError, "JobState"),
    (
        "flow error handler",
        lambda: Flow().set_error_handler(bad("stop")),
        TypeError,
        "ErrorHandler",
    ),
    ("output handler", lambda: Flow().set_output_handler(bad(5)), TypeError, "handle"),
    (
        "set_execution_strategy",
        lambda: Flow().set_execution_strategy(bad("fast")),
        ValueError,
        "execution_strategy",
    ),
    (
        "max_workers later",
        lambda: Flow().set_execution_strategy("concurrent", 0),
        ValueError,
        "max_workers",
    ),
    ("define_slot name", lambda: Source().define_slot(bad(5)), ValueError, "slot name"),
    ("slot handler", lambda: Source().define_slot("x", handler=bad(5)), TypeError, "callable"),
    ("slot merge", lambda: Source().define_slot("x", merge_strategy=bad(5)), TypeError, "merge"),
    ("define_event name", lambda: Source().define_event(bad(None)), ValueError, "event name"),
    ("define_event params", lambda: Source().define_event("e", bad(5)), TypeError, "output_params"),
    ("event param names", lambda: Source().define_event("e", bad([1])), ValueError, "parameter"),
    ("emit unknown", lambda: Source().emit(bad(5)), ValueError, "no event named 5"),
    ("increment amount", lambda: Source().increment_stat("n", bad("1")), TypeError, "amount"),
    ("stat key", lambda: Source().set_stat(bad(5), 1), TypeError, "stat key"),
    ("reset_stats string", lambda: Source().reset_stats(bad("n")), TypeError, "reset_stats"),
    (
        "routine error handler",
        lambda: Source().set_error_handler(bad(1)),
        TypeError,
        "ErrorHandler",
    ),
    ("optional strategy", lambda: Source().set_as_optional("later"), ValueError, "error strategy"),
    ("ErrorHandler strategy", lambda: ErrorHandler("explode"), ValueError, "error strategy"),
    ("ErrorHandler retries", lambda: ErrorHandler(max_retries=-1), ValueError, "max_retries"),
    ("ErrorHandler delay", lambda: ErrorHandler(retry_delay=bad("1")), ValueError, "retry_delay"),
    ("ErrorHandler inf", lambda: ErrorHandler(retry_delay=math.inf), ValueError, "finite"),
    ("ErrorHandler nan", lambda: ErrorHandler(retry_delay=math.nan), ValueError, "finite"),
    ("ErrorHandler backoff", lambda: ErrorHandler(retry_backoff=math.inf), ValueError, "backoff"),
    ("ErrorHandler float retries", lambda: ErrorHandler(max_retries=bad(1.5)), ValueError, "int"),
    (
        "ErrorHandler exceptions",
        lambda: ErrorHandler(retryable_exceptions=bad([int])),
        TypeError,
        "exception",
    ),
    ("job wait timeout", lambda: JobState("f").wait(timeout=-2), ValueError, "timeout"),
    (
        "wait_for_completion flow",
        lambda: JobState.wait_for_completion(bad(None), JobState("f")),
        TypeError,
        "flow",
    ),
    (
        "wait_for_completion job",
        lambda: JobState.wait_for_completion(Flow(), bad("job")),
        TypeError,
        "JobState",
    ),
    ("register non-routine", lambda: register_routine(bad(int)), TypeError, "Routine subclass"),
]


@pytest.mark.parametrize(
    ("call", "error", "fragment"),
    [case[1:] for case in BAD_CALLS],
    ids=[case[0] for case in BAD_CALLS],
)
def test_wrong_arguments_get_clear_errors(
    call: Callable[[], object], error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error, match=fragment):
        call()


def test_the_engine_stays_usable_after_bad_calls() -> None:
    flow = ready_flow()
    for _, call, error, _ in BAD_CALLS[:12]:
        with pytest.raises(error):
            call()
    job = flow.execute("src", {"count": 3})
    assert job.status == "completed"


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_execute_from_inside_a_handler_runs_the_inner_job(strategy: ExecutionStrategy) -> None:
    inner_jobs: list[JobState] = []
    flow = Flow(execution_strategy=strategy, max_workers=2)
    sink = Sink()
    flow.add_routine(
        OnTrigger(lambda context: inner_jobs.append(context.flow.execute("src", {"count": 2}))),
        "spawner",
    )
    flow.add_routine(Source(), "src")
    flow.add_routine(sink, "sink")
    flow.connect("src", "out", "sink", "input")
    outer = flow.execute("spawner")
    assert flow.wait_for_completion(timeout=10)
    flow.shutdown()
    (inner,) = inner_jobs
    assert outer.status == inner.status == "completed"
    assert len(sink.received) == 2


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_shutdown_and_waits_from_inside_a_handler(strategy: ExecutionStrategy) -> None:
    refused: list[str] = []

    def reenter(context: ExecutionContext) -> None:
        for call in (
            lambda: context.flow.shutdown(wait=True),
            context.flow.wait_for_completion,
            context.job_state.wait,
            lambda: JobState.wait_for_completion(context.flow, context.job_state, 1),
        ):
            try:
                call()
            except RuntimeError as error:
                refused.append(str(error))
        context.flow.shutdown(wait=False)  # allowed: cancels this very job

    flow = Flow(execution_strategy=strategy)
    flow.add_routine(OnTrigger(reenter), "r")
    flow.add_routine(Source(), "src")
    job = flow.execute("r")
    assert job.wait(timeout=10)
    assert len(refused) == 4
    assert job.status == "cancelled"
    again = flow.execute("src", {"count": 1})
    assert again.wait(timeout=10) and again.status == "completed"
    flow.shutdown()


def test_emit_after_shutdown_is_dropped_or_refused() -> None:
    flow = Flow(execution_strategy="concurrent")
    blocker, sink = Blocker(), Sink()
    flow.add_routine(blocker, "b")
    flow.add_routine(sink, "sink")
    flow.connect("b", "out", "sink", "input")
    job = flow.execute("b")
    assert blocker.entered.wait(timeout=10)
    assert flow.shutdown(wait=False) is False
    blocker.release.set()  # its handler now emits into a cancelled job
    assert job.status == "cancelled"
    deadline = threading.Event()
    for _ in range(200):
        if job.statistics().dropped == 1:
            break
        deadline.wait(0.01)
    assert job.statistics().dropped == 1 and sink.received == []
    with pytest.raises(NotInJobError):
        blocker.emit("out")


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("raised", [SystemExit, KeyboardInterrupt, GeneratorExit])
def test_base_exceptions_fail_the_job_and_the_engine_goes_on(
    strategy: ExecutionStrategy, raised: type[BaseException]
) -> None:
    class Dies(Routine):
        def __init__(self) -> None:
            super().__init__()
            self.define_slot("trigger", handler=self.go)
            self.set_as_optional()

        def go(self) -> None:
            raise raised("from a handler")

    flow = Flow(execution_strategy=strategy)
    flow.add_routine(Dies(), "dies")
    flow.add_routine(Source(), "src")
    if strategy == "sequential":
        with pytest.raises(raised):
            flow.execute("dies")
        assert flow.active_jobs == []
    else:
        job = flow.execute("dies")
        assert job.wait(timeout=10)
        assert job.status == "failed"
        assert job.error is not None and job.error.exception_type == raised.__name__
    again = flow.execute("src", {"count": 2})
    assert again.wait(timeout=10) and again.status == "completed"
    flow.shutdown()


@pytest.mark.filterwarnings("ignore:cancel\\(\\) ignored:RuntimeWarning")
def test_many_threads_hammering_one_flow_keep_jobs_apart() -> None:
    flow = Flow(execution_strategy="concurrent", max_workers=4)
    sink = Sink("append")
    flow.add_routine(Source(["value", "who"]), "src")
    flow.add_routine(sink, "sink")
    flow.connect("src", "out", "sink", "input")
    errors: list[BaseException] = []
    jobs: list[JobState] = []
    lock = threading.Lock()

    def client(index: int) -> None:
        try:
            for _ in range(5):
                job = flow.execute("src", {"count": 5, "who": index})
                with lock:
                    jobs.append(job)
                if index % 2:
                    flow.cancel(job)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert flow.wait_for_completion(timeout=30)
    flow.shutdown()
    assert errors == []
    for call in sink.received:
        assert len(set(call["who"])) == 1  # one job's merge state never mixes clients
    for job in jobs:
        stats = job.statistics()
        assert job.is_final and stats.balanced and stats.pending == 0
        if job.status == "completed":
            assert stats.dropped == 0 and stats.delivered == stats.emitted
