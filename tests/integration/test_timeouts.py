"""Job timeouts in both strategies: the job fails with a timeout error, queued work is dropped,
waiters wake, and a handler still running is not waited for."""

import threading

import pytest

from routilux import ErrorHandler, Flow, JobState, JobTimeoutError, Routine
from routilux.flow import ExecutionStrategy
from tests.support import STRATEGIES, FlakyTrigger


class SlowChain(Routine):
    """trigger: blocks until released, then emits one item."""

    def __init__(self, release: threading.Event, entered: threading.Event) -> None:
        super().__init__()
        self.release, self.entered = release, entered
        self.job: JobState | None = None
        self.define_slot("trigger", handler=self.go)
        self.define_event("out", ["i"])

    def go(self) -> None:
        context = self.get_execution_context()
        assert context is not None
        self.job = context.job_state
        self.entered.set()
        self.release.wait(timeout=10)
        self.emit("out", i=1)


class Counter(Routine):
    def __init__(self) -> None:
        super().__init__()
        self.define_slot("input", handler=lambda: self.increment_stat("n"))


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("where", ["execute", "flow"])
def test_timeout_fails_the_job_while_a_handler_still_sleeps(
    strategy: ExecutionStrategy, where: str
) -> None:
    release, entered = threading.Event(), threading.Event()
    flow = Flow(execution_strategy=strategy, execution_timeout=0.05 if where == "flow" else None)
    counter = Counter()
    slow = SlowChain(release, entered)
    flow.add_routine(slow, "slow")
    flow.add_routine(counter, "counter")
    flow.connect("slow", "out", "counter", "input")
    waiter_woke = threading.Event()

    if strategy == "sequential":
        # The handler blocks the calling thread; release it only after the job has failed.
        def release_after_failure() -> None:
            assert entered.wait(timeout=10)
            assert slow.job is not None
            if slow.job.wait(timeout=10):
                waiter_woke.set()
            release.set()

        threading.Thread(target=release_after_failure).start()
        job = flow.execute("slow", timeout=0.05 if where == "execute" else None)
    else:
        job = flow.execute("slow", timeout=0.05 if where == "execute" else None)
        assert job.wait(timeout=10)
        waiter_woke.set()
        assert not release.is_set()  # the handler is still inside its wait
        release.set()
    assert waiter_woke.wait(timeout=10)
    assert job.status == "failed"
    assert job.error is not None
    assert job.error.exception_type == JobTimeoutError.__qualname__
    assert "timeout of 0.05s" in job.error.message
    flow.shutdown()
    # The emit made after the timeout was dropped: the counter never ran.
    assert counter.get_stat("n") is None


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_job_finishing_in_time_is_not_failed_later(strategy: ExecutionStrategy) -> None:
    flow = Flow(execution_strategy=strategy, execution_timeout=0.5)
    counter = Counter()
    release, entered = threading.Event(), threading.Event()
    release.set()
    flow.add_routine(SlowChain(release, entered), "slow")
    flow.add_routine(counter, "counter")
    flow.connect("slow", "out", "counter", "input")
    job = flow.execute("slow")
    assert job.wait(timeout=10)
    assert job.status == "completed"
    done = threading.Event()
    # Wait past the deadline on a real timer, then check nothing changed.
    threading.Timer(0.6, done.set).start()
    assert done.wait(timeout=10)
    assert job.status == "completed" and job.error is None
    flow.shutdown()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_infinite_and_huge_timeouts_mean_no_timeout(strategy: ExecutionStrategy) -> None:
    # A timeout no lock can wait for (inf, or beyond threading.TIMEOUT_MAX) is no timeout: the
    # timer thread must not die on it, so the job's retries (also timers) still run.
    flow = Flow(execution_strategy=strategy, execution_timeout=float("inf"))
    assert flow.execution_timeout is None
    routine = FlakyTrigger(failures=2)
    routine.set_error_handler(ErrorHandler("retry", max_retries=3, retry_delay=0.001))
    flow.add_routine(routine, "r")
    with flow:
        job = flow.execute("r", timeout=1e300)
        assert job.wait(timeout=1e300)
        assert flow.wait_for_completion(timeout=float("inf"))
    assert (job.status, routine.calls) == ("completed", 3)


def test_an_overflowing_back_off_waits_the_longest_wait_instead_of_raising() -> None:
    handler = ErrorHandler("retry", max_retries=50, retry_delay=1e300, retry_backoff=1e300)
    assert handler.delay_before(1) == threading.TIMEOUT_MAX  # 1e300 s is beyond it too
    assert handler.delay_before(40) == threading.TIMEOUT_MAX  # 1e300 ** 40 overflows
    assert ErrorHandler("retry", retry_delay=0.5, retry_backoff=3).delay_before(3) == 4.5


def test_a_job_waiting_out_a_huge_back_off_can_still_be_cancelled() -> None:
    flow = Flow(execution_strategy="concurrent")
    routine = FlakyTrigger(failures=2)
    routine.set_error_handler(ErrorHandler("retry", max_retries=3, retry_delay=1e12))
    flow.add_routine(routine, "r")
    with flow:
        job = flow.execute("r")
        assert not job.wait(timeout=0.05)  # waiting out a retry delay of 1e12 s
        assert flow.cancel(job, "no patience")
        assert job.wait(timeout=10)
    assert (job.status, routine.calls) == ("cancelled", 1)
