"""Error policies on every handler failure, entry or downstream, in both strategies."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from routilux import ErrorHandler, ErrorStrategy, Flow, JobState, Routine
from routilux.flow import ExecutionStrategy
from tests.support import STRATEGIES, FlakyTrigger, Source

pytestmark = pytest.mark.parametrize("strategy", STRATEGIES)


class Flaky(Routine):
    """Fails the first ``failures`` attempts of each item (per item, not shared)."""

    def __init__(self, failures: int, exc: type[Exception] = ConnectionError) -> None:
        super().__init__()
        self.failures, self.exc = failures, exc
        self._lock = threading.Lock()
        self.attempts: list[int] = []
        self.define_slot("input", handler=self.handle)

    def handle(self, value: int) -> None:
        with self._lock:
            self.attempts.append(value)
            tries = self.attempts.count(value)
        if tries <= self.failures:
            raise self.exc(f"attempt {tries} for {value} failed")


def wire(strategy: ExecutionStrategy, worker: Routine, workers: int = 4) -> Flow:
    flow = Flow(execution_strategy=strategy, max_workers=workers)
    flow.add_routine(Source(), "src")
    flow.add_routine(worker, "worker")
    flow.connect("src", "out", "worker", "input")
    return flow


def finish(flow: Flow, count: int) -> JobState:
    job = flow.execute("src", {"count": count})
    assert job.wait(timeout=20)
    flow.shutdown()
    return job


def retry(max_retries: int, **kw: Any) -> ErrorHandler:
    return ErrorHandler(ErrorStrategy.RETRY, max_retries=max_retries, retry_delay=0.01, **kw)


def test_downstream_retry_calls_the_handler_one_plus_max_retries_times(
    strategy: ExecutionStrategy,
) -> None:
    worker = Flaky(failures=99)
    worker.set_error_handler(retry(3))
    job = finish(wire(strategy, worker), count=2)
    assert sorted(worker.attempts) == [0] * 4 + [1] * 4
    # Not critical: exhausted retries are recorded and the job goes on.
    assert job.status == "completed"
    assert len(job.errors) == 8
    state = job.get_routine_state("worker")
    assert state is not None and state.status == "failed" and state.errors == 8


def test_retry_that_succeeds_completes_the_job(strategy: ExecutionStrategy) -> None:
    worker = Flaky(failures=2)
    worker.set_error_handler(retry(3))
    job = finish(wire(strategy, worker), count=3)
    assert job.status == "completed"
    assert sorted(worker.attempts) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    state = job.get_routine_state("worker")
    assert state is not None and state.status == "completed" and state.errors == 6


def test_exhausted_retries_of_a_critical_routine_fail_the_job(strategy: ExecutionStrategy) -> None:
    worker = Flaky(failures=99)
    worker.set_as_critical(max_retries=2, retry_delay=0.01, retry_backoff=1.0)
    job = finish(wire(strategy, worker, workers=1), count=1)
    assert job.status == "failed"
    assert worker.attempts == [0, 0, 0]
    assert job.error is not None and job.error.exception_type == "ConnectionError"


def test_non_retryable_exception_is_not_retried(strategy: ExecutionStrategy) -> None:
    worker = Flaky(failures=99, exc=KeyError)
    worker.set_error_handler(retry(3, retryable_exceptions=(ConnectionError,)))
    job = finish(wire(strategy, worker), count=1)
    assert worker.attempts == [0]
    assert job.status == "completed" and len(job.errors) == 1


def test_one_shared_policy_gives_every_routine_and_job_its_full_retries(
    strategy: ExecutionStrategy,
) -> None:
    policy = retry(2)
    first, second = Flaky(failures=99), Flaky(failures=99)
    first.set_error_handler(policy)
    second.set_error_handler(policy)
    flow = Flow(execution_strategy=strategy, max_workers=4)
    flow.add_routine(Source(), "src")
    flow.add_routine(first, "first")
    flow.add_routine(second, "second")
    flow.connect("src", "out", "first", "input")
    flow.connect("src", "out", "second", "input")
    jobs = [flow.execute("src", {"count": 1}) for _ in range(3)]
    for job in jobs:
        assert job.wait(timeout=20)
    flow.shutdown()
    assert first.attempts == [0] * 9 and second.attempts == [0] * 9


def test_retry_waits_without_blocking_other_work(strategy: ExecutionStrategy) -> None:
    """One worker: item 1 runs while item 0 waits for its retry (a re-queue, not a sleep)."""
    order: list[str] = []

    class Slow(Routine):
        def __init__(self) -> None:
            super().__init__()
            self.failed = False
            self.define_slot("input", handler=self.handle)

        def handle(self, value: int) -> None:
            if value == 0 and not self.failed:
                self.failed = True
                order.append("0 failed")
                raise ConnectionError("first attempt")
            order.append(f"{value} ran")

    worker = Slow()
    worker.set_error_handler(ErrorHandler("retry", max_retries=1, retry_delay=0.5))
    job = finish(wire(strategy, worker, workers=1), count=2)
    assert job.status == "completed"
    assert order == ["0 failed", "1 ran", "0 ran"]


def test_routine_policy_overrides_flow_policy(strategy: ExecutionStrategy) -> None:
    tolerant = Flaky(failures=99)
    tolerant.set_error_handler(ErrorHandler("continue"))
    flow = wire(strategy, tolerant)
    flow.set_error_handler(ErrorHandler("stop"))
    assert finish(flow, count=2).status == "completed"

    strict = Flaky(failures=99)
    strict.set_error_handler(ErrorHandler("stop"))
    flow = wire(strategy, strict, workers=1)
    flow.set_error_handler(ErrorHandler("continue"))
    assert finish(flow, count=2).status == "failed"
    assert strict.attempts == [0]


def test_skip_marks_the_routine_skipped(strategy: ExecutionStrategy) -> None:
    worker = Flaky(failures=99)
    worker.set_as_optional(ErrorStrategy.SKIP)
    job = finish(wire(strategy, worker), count=2)
    state = job.get_routine_state("worker")
    assert job.status == "completed"
    assert state is not None and state.status == "skipped" and state.skipped == 2
    assert all(e.routine_id == "worker" and e.slot_name == "input" for e in job.errors)
    assert all("Traceback" in e.traceback for e in job.errors)


def test_entry_failure_uses_the_same_policy(strategy: ExecutionStrategy) -> None:
    entry = FlakyTrigger(failures=99, error=ConnectionError)
    entry.set_error_handler(retry(2))
    flow = Flow(execution_strategy=strategy)
    flow.add_routine(entry, "entry")
    job = flow.execute("entry")
    assert job.wait(timeout=20)
    flow.shutdown()
    assert entry.calls == 3
    assert job.status == "completed" and len(job.errors) == 3


class AppendOnce(Routine):
    """An ``append`` slot whose handler fails its first call after mutating what it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[list[int]] = []
        self.define_slot("input", handler=self.handle, merge_strategy="append")

    def handle(self, value: list[int]) -> None:
        self.seen.append(list(value))
        if len(self.seen) == 1:
            value.append(-1)  # a failed attempt's mutation must not reach the retry
            raise ConnectionError("first attempt fails")


def test_a_retry_gets_the_failed_attempts_merged_snapshot_once(strategy: ExecutionStrategy) -> None:
    worker = AppendOnce()
    worker.set_error_handler(retry(2))
    job = finish(wire(strategy, worker, workers=1), count=1)
    assert job.status == "completed"
    # The retry sees the same accumulated list: not merged a second time, not mutated.
    assert worker.seen == [[0], [0]]
