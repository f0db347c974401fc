"""A Hypothesis state machine drives one concurrent flow with many jobs.

Rules start jobs (random sizes, fault rates and timeouts), pause, resume and cancel them, and
let the flow settle. Four workers fail injected items under STOP, CONTINUE, RETRY and SKIP.
After every step:

* every job's accounting balances: emitted + retried + restored ==
  delivered + dropped + held + pending (JobStatistics), and nothing is negative;
* no job is ``completed`` while work is outstanding, held or was dropped;
* final statuses agree with what happened (a STOP failure or timeout never ends ``completed``);
* a job's merge state and its handlers' inputs never contain another job's data.

When the flow is settled, every job's delivered count equals the handler calls the routines
themselves observed for it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, precondition, rule

from routilux import ErrorHandler, Flow, JobState, JobTimeoutError, Routine

POLICIES = {
    "w_stop": ErrorHandler("stop"),
    "w_continue": ErrorHandler("continue"),
    "w_retry": ErrorHandler("retry", max_retries=2, retry_delay=0.001, retry_backoff=1.0),
    "w_skip": ErrorHandler("skip"),
}


class Observed:
    """What the routines themselves saw, per job id (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.foreign: list[str] = []

    def call(self, job_id: str) -> None:
        with self.lock:
            self.calls[job_id] += 1

    def contamination(self, message: str) -> None:
        with self.lock:
            self.foreign.append(message)


def job_id_of(routine: Routine) -> str:
    context = routine.get_execution_context()
    assert context is not None
    return context.job_state.job_id


class Source(Routine):
    def __init__(self, seen: Observed) -> None:
        super().__init__()
        self.seen = seen
        self.define_slot("trigger", handler=self.fire)
        self.define_event("out", ["item", "fail", "tag"])

    def fire(self, count: int, fail_every: int) -> None:
        tag = job_id_of(self)
        self.seen.call(tag)
        for item in range(count):
            self.emit("out", item=item, fail=fail_every > 0 and item % fail_every == 0, tag=tag)


class Worker(Routine):
    def __init__(self, seen: Observed, name: str) -> None:
        super().__init__()
        self.seen, self.name, self.retry = seen, name, name == "w_retry"
        self.attempts: Counter[tuple[str, int]] = Counter()
        self._lock = threading.Lock()
        self.define_slot("input", handler=self.work)
        self.define_event("out", ["item", "tag", "via"])

    def work(self, item: int, fail: bool, tag: str) -> None:
        job_id = job_id_of(self)
        self.seen.call(job_id)
        if tag != job_id:
            self.seen.contamination(f"worker got {tag} in {job_id}")
        if item % 3 == 0:
            time.sleep(0.001)
        with self._lock:
            self.attempts[(job_id, item)] += 1
            attempt = self.attempts[(job_id, item)]
        if fail and (not self.retry or attempt == 1):
            raise ConnectionError(f"injected failure of item {item}")
        self.emit("out", item=item, tag=tag, via=self.name)


class Sink(Routine):
    def __init__(self, seen: Observed) -> None:
        super().__init__()
        self.seen = seen
        self.define_slot("input", handler=self.take, merge_strategy="append")

    def take(self, item: list[int], tag: list[str], via: list[str]) -> None:
        job_id = job_id_of(self)
        self.seen.call(job_id)
        if set(tag) != {job_id}:
            self.seen.contamination(f"sink of {job_id} holds tags {set(tag)}")
        pairs = list(zip(item, via, strict=True))
        if len(pairs) != len(set(pairs)):
            self.seen.contamination(f"sink of {job_id} got a duplicate: {pairs}")


class EngineMachine(RuleBasedStateMachine):
    jobs = Bundle("jobs")

    def __init__(self) -> None:
        super().__init__()
        self.seen = Observed()
        self.flow = Flow(execution_strategy="concurrent", max_workers=3)
        self.flow.add_routine(Source(self.seen), "source")
        self.flow.add_routine(Sink(self.seen), "sink")
        for name, policy in POLICIES.items():
            worker = Worker(self.seen, name)
            worker.set_error_handler(policy)
            self.flow.add_routine(worker, name)
            self.flow.connect("source", "out", name, "input")
            self.flow.connect(name, "out", "sink", "input")
        self.all_jobs: list[JobState] = []

    @rule(
        target=jobs,
        count=st.integers(0, 12),
        fail_every=st.integers(0, 4),
        timeout=st.none() | st.sampled_from([0.005, 0.05, 0.5]),
    )
    def start(self, count: int, fail_every: int, timeout: float | None) -> JobState:
        job = self.flow.execute(
            "source", {"count": count, "fail_every": fail_every}, timeout=timeout
        )
        self.all_jobs.append(job)
        return job

    @rule(job=jobs)
    def pause(self, job: JobState) -> None:
        if not job.is_final:
            self.flow.pause(job, reason="machine")

    @rule(job=jobs)
    def resume(self, job: JobState) -> None:
        if job.status == "paused":
            self.flow.resume(job)

    @rule(job=jobs)
    def cancel(self, job: JobState) -> None:
        if not job.is_final:
            self.flow.cancel(job, reason="machine")

    @precondition(lambda self: bool(self.all_jobs))
    @rule()
    def settle(self) -> None:
        assert self.flow.wait_for_completion(timeout=20), "flow did not settle: a hang"
        for job in self.all_jobs:
            stats = job.statistics()
            if job.status != "paused" and stats.pending == 0:
                assert self.seen.calls[job.job_id] == stats.delivered, (job, stats)

    @invariant()
    def accounting_balances(self) -> None:
        for job in self.all_jobs:
            stats = job.statistics()
            assert stats.balanced, (job, stats)
            assert min(stats.emitted, stats.delivered, stats.held, stats.dropped) >= 0, stats

    @invariant()
    def statuses_are_consistent(self) -> None:
        for job in self.all_jobs:
            status = job.status  # read first: the job may finish while we look
            stats = job.statistics()
            if status == "completed":
                assert stats.dropped == 0 and stats.held == 0 and stats.pending == 0, stats
                assert not any(e.routine_id == "w_stop" for e in job.errors), job.errors
                assert job.error is None
            error = job.error
            if error is not None and error.exception_type == JobTimeoutError.__qualname__:
                assert status == "failed"

    @invariant()
    def no_cross_job_data(self) -> None:
        assert self.seen.foreign == []
        for job in self.all_jobs:
            state: Any = job.merge_state.get("sink.input")
            if state:
                assert set(state["tag"]) == {job.job_id}

    def teardown(self) -> None:
        for job in self.all_jobs:
            if job.status == "paused":
                self.flow.resume(job)
        assert self.flow.shutdown(wait=True, timeout=30), "jobs still running at teardown"
        for job in self.all_jobs:
            assert job.is_final or job.status == "paused", job
            stats = job.statistics()
            assert stats.balanced and stats.pending == 0, (job, stats)


# Example counts come from the loaded profile (tests/conftest.py): fast in CI, many in nox.
EngineMachine.TestCase.settings = settings(stateful_step_count=12, deadline=None)
TestEngineMachine = EngineMachine.TestCase
