"""Concurrency is real: overlap is proven with barriers and recorded intervals, not elapsed time."""

import threading
import time
from typing import Any

import pytest

from routilux import Flow, Routine
from tests.support import Blocker, Interval, Sink, Source, overlap_all


def test_jobs_on_one_flow_overlap() -> None:
    log: list[tuple[str, float, float]] = []
    flow = Flow(execution_strategy="concurrent", max_workers=3)
    gate = threading.Barrier(3)
    for name in ("a", "b", "c"):
        routine = Interval(log, name)
        routine.gate = gate
        flow.add_routine(routine, name)
    jobs = [flow.execute(name) for name in ("a", "b", "c")]
    assert flow.wait_for_completion(timeout=15)
    flow.shutdown()
    assert [job.status for job in jobs] == ["completed"] * 3, [job.error for job in jobs]
    assert overlap_all(log)


def test_execute_returns_before_the_job_runs_its_handlers() -> None:
    blocker = Blocker()
    flow = Flow(execution_strategy="concurrent")
    flow.add_routine(blocker, "b")
    job = flow.execute("b")
    assert blocker.entered.wait(timeout=10)
    assert job.status == "running"
    assert not job.wait(timeout=0.01)
    assert not flow.wait_for_completion(timeout=0.01)
    blocker.release.set()
    assert job.wait(timeout=10) and job.status == "completed"
    flow.shutdown()


def test_independent_activations_of_one_job_run_in_parallel() -> None:
    """Fan-out inside one job: four slot activations must all be inside the barrier at once."""
    gate = threading.Barrier(4)

    class Worker(Routine):
        def __init__(self) -> None:
            super().__init__()
            self.define_slot("input", handler=self.work)

        def work(self, value: int) -> None:
            gate.wait(timeout=10)

    flow = Flow(execution_strategy="concurrent", max_workers=4)
    flow.add_routine(Source(), "src")
    flow.add_routine(Worker(), "worker")
    flow.connect("src", "out", "worker", "input")
    job = flow.execute("src", {"count": 4})
    assert job.wait(timeout=15)
    flow.shutdown()
    assert job.status == "completed", job.error


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_at_most_max_workers_run_at_once(workers: int) -> None:
    lock = threading.Lock()
    running = [0]
    peak = [0]

    class Busy(Routine):
        def __init__(self) -> None:
            super().__init__()
            self.define_slot("input", handler=self.work)

        def work(self, value: int) -> None:
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            time.sleep(0.005)
            with lock:
                running[0] -= 1

    flow = Flow(execution_strategy="concurrent", max_workers=workers)
    flow.add_routine(Source(), "src")
    flow.add_routine(Busy(), "busy")
    flow.connect("src", "out", "busy", "input")
    jobs = [flow.execute("src", {"count": 10}) for _ in range(3)]
    assert flow.wait_for_completion(timeout=15)
    flow.shutdown()
    assert all(job.status == "completed" for job in jobs)
    assert 1 <= peak[0] <= workers


def test_append_under_concurrency_loses_and_duplicates_nothing() -> None:
    flow = Flow(execution_strategy="concurrent", max_workers=5)
    sink = Sink("append")
    for i in range(5):
        flow.add_routine(Source(), f"src{i}")
    flow.add_routine(Source(), "entry")
    flow.add_routine(sink, "sink")

    class Fan(Routine):
        def __init__(self) -> None:
            super().__init__()
            self.define_slot("trigger", handler=lambda: self.emit("go", count=40))
            self.define_event("go", ["count"])

    flow.add_routine(Fan(), "fan")
    for i in range(5):
        flow.connect("fan", "go", f"src{i}", "trigger")
        flow.connect(f"src{i}", "out", "sink", "input")
    job = flow.execute("fan")
    assert job.wait(timeout=15)
    flow.shutdown()
    assert job.status == "completed"
    calls = sink.received
    assert len(calls) == 200
    final = max(calls, key=lambda p: len(p["value"]))
    assert sorted(final["value"]) == sorted(list(range(40)) * 5)
    # Every handler call saw a distinct accumulation size: snapshots never shared or lost items.
    assert sorted(len(p["value"]) for p in calls) == list(range(1, 201))


def test_stats_counted_exactly_across_concurrent_jobs() -> None:
    flow = Flow(execution_strategy="concurrent", max_workers=4)
    sink = Sink()
    flow.add_routine(Source(), "src")
    flow.add_routine(sink, "sink")
    flow.connect("src", "out", "sink", "input")
    for _ in range(20):
        flow.execute("src", {"count": 50})
    assert flow.wait_for_completion(timeout=30)
    flow.shutdown()
    assert sink.get_stat("calls") == 1000


def test_shutdown_without_wait_cancels_unfinished_jobs_and_pool_restarts() -> None:
    blocker = Blocker()
    flow = Flow(execution_strategy="concurrent", max_workers=1)
    flow.add_routine(blocker, "stuck")
    flow.add_routine(Source(), "src")
    stuck = flow.execute("stuck")
    queued = flow.execute("src", {"count": 1})
    assert flow.shutdown(wait=False) is False
    assert stuck.status == "cancelled" and queued.status == "cancelled"
    blocker.release.set()
    again = flow.execute("src", {"count": 1})
    assert again.wait(timeout=10) and again.status == "completed"
    assert flow.shutdown(wait=True) is True


def test_shutdown_with_timeout_cancels_what_is_left() -> None:
    blocker = Blocker()
    flow = Flow(execution_strategy="concurrent")
    flow.add_routine(blocker, "stuck")
    job = flow.execute("stuck")
    assert flow.shutdown(wait=True, timeout=0.05) is False
    assert job.status == "cancelled"
    blocker.release.set()


def test_context_manager_releases_every_worker_thread() -> None:
    before = {t.ident for t in threading.enumerate()}
    with Flow(execution_strategy="concurrent", max_workers=4) as flow:
        flow.add_routine(Source(), "src")
        flow.add_routine(Sink(), "sink")
        flow.connect("src", "out", "sink", "input")
        for _ in range(4):
            flow.execute("src", {"count": 20})
        assert flow.wait_for_completion(timeout=10)
    leftover = [t for t in threading.enumerate() if t.ident not in before]
    assert leftover == []


def test_changing_pool_size_while_jobs_run_is_refused() -> None:
    blocker = Blocker()
    flow = Flow(execution_strategy="concurrent", max_workers=2)
    flow.add_routine(blocker, "stuck")
    flow.execute("stuck")
    with pytest.raises(RuntimeError, match="while 1 job"):
        flow.set_execution_strategy("concurrent", max_workers=3)
    blocker.release.set()
    assert flow.wait_for_completion(timeout=10)
    flow.set_execution_strategy("concurrent", max_workers=3)
    assert flow.max_workers == 3
    flow.shutdown()


def test_sequential_jobs_started_from_threads_each_run_in_their_caller() -> None:
    callers: list[tuple[str, str]] = []

    class Where(Routine):
        def __init__(self) -> None:
            super().__init__()
            self.define_slot("trigger", handler=self.go)

        def go(self, name: Any) -> None:
            callers.append((name, threading.current_thread().name))

    flow = Flow()
    flow.add_routine(Where(), "w")
    threads = [
        threading.Thread(target=flow.execute, args=("w", {"name": f"t{i}"}), name=f"t{i}")
        for i in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert sorted(callers) == [("t0", "t0"), ("t1", "t1"), ("t2", "t2")]
