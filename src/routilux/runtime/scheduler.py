"""The scheduler: turns emits into activations, runs them on an executor, and accounts per job.

* :class:`JobRun` is the runtime of one job. It implements :class:`~routilux.runtime.context.
  JobScope` (so handlers emit through it), holds the job's per-slot merge state and its count of
  outstanding activations, and applies the error policy when a handler fails.
* :class:`Scheduler` owns one flow's thread pool and the set of its unfinished jobs.

Guarantees:

* ``JobRun._outstanding``, ``_stopped`` and ``_dropped`` are guarded by ``JobRun._lock``. An
  activation is counted *before* it is dispatched and uncounted *after* its handler returned and
  every emit it made was counted, so the count reaches zero exactly when the job has no queued
  or running work; only then is the job marked ``completed``.
* A stopped job (failed or cancelled) dispatches nothing more; queued activations of it are
  dropped (counted in ``dropped``) when they reach a worker, and emits from its still-running
  handlers are dropped the same way.
* A slot's merge for a job happens under that job's per-slot lock; the handler gets the snapshot
  the merge returned. Merge state lives in the JobRun and is discarded with it.
* ``Scheduler._active`` and ``_pool`` are guarded by ``Scheduler._lock``; ``_changed`` is
  notified whenever a job becomes final. No lock is held while a handler runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from routilux.compile.plan import CompiledFlow, EventRoute, Target
from routilux.error_handler import ErrorStrategy
from routilux.errors import JobTimeoutError
from routilux.job_state import ErrorRecord, JobState, JobStatus
from routilux.merge import Payload
from routilux.routine import Routine
from routilux.runtime import context
from routilux.runtime.executors import Executor, InlineExecutor, PoolExecutor
from routilux.runtime.timers import TimerHandle, Timers


class Activation:
    """One delivery of a payload to a slot, within a job. ``retries`` counts re-runs so far."""

    __slots__ = ("job", "payload", "retries", "target")

    def __init__(self, job: JobRun, target: Target, payload: Payload, retries: int = 0) -> None:
        self.job = job
        self.target = target
        self.payload = payload
        self.retries = retries


def run_activation(activation: Activation) -> None:
    """The executors' ``run`` callable."""
    activation.job.run(activation)


class _MergeCell:
    __slots__ = ("lock", "state")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state: Payload | None = None


class JobRun:
    """The runtime of one job. Thread-safe; see the module docstring."""

    def __init__(
        self,
        flow: Any,
        plan: CompiledFlow,
        job_state: JobState,
        executor: Executor[Activation],
        on_final: Callable[[JobRun], None],
    ) -> None:
        self._flow = flow
        self._plan = plan
        self._job_state = job_state
        self._executor = executor
        self._on_final = on_final
        self._lock = threading.Lock()
        self._outstanding = 0
        self._dropped = 0
        self._stopped = False
        self._cells: dict[str, _MergeCell] = {}
        self._deadline: TimerHandle | None = None

    # -- JobScope --------------------------------------------------------------------------

    @property
    def flow(self) -> Any:
        return self._flow

    @property
    def job_state(self) -> JobState:
        return self._job_state

    @property
    def dropped(self) -> int:
        """Activations discarded because the job had stopped (failed or cancelled)."""
        with self._lock:
            return self._dropped

    def emit(self, routine: object, event_name: str, payload: Payload) -> None:
        if not isinstance(routine, Routine):
            raise TypeError(f"only a Routine can emit, not {type(routine).__name__}")
        route: EventRoute = self._plan.route(routine, event_name)
        route.check_payload(payload)
        self._job_state.record(route.source_id, event_name, payload)
        if route.targets:
            self._deliver(route.targets, payload)

    # -- lifecycle -------------------------------------------------------------------------

    def start(
        self,
        target: Target,
        params: Payload,
        timeout: float | None = None,
        timers: Timers | None = None,
    ) -> None:
        """Mark the job running and deliver ``params`` to the entry's trigger slot.

        With ``timeout``, the job is failed with a :class:`JobTimeoutError` record if it is not
        final ``timeout`` seconds from now (handlers already running are not interrupted).
        """
        if timeout is not None and timers is not None:
            self._deadline = timers.call_later(timeout, lambda: self._expire(timeout))
        self._job_state.mark_running()
        self._job_state.record(target.routine_id, "start", params, kind="start")
        self._deliver((target,), params)

    def stop(self, status: JobStatus, error: ErrorRecord | None = None, reason: str = "") -> bool:
        """End the job now as ``status`` (failed/cancelled); queued work will be dropped.

        Returns False if the job had already ended.
        """
        with self._lock:
            if self._stopped:
                return False
            self._stopped = True
        if reason:
            self._job_state.record("", status.value, reason, kind="end")
        if self._job_state.finish(status, error):
            self._finished()
            return True
        return False

    def _expire(self, timeout: float) -> None:
        error = JobTimeoutError(
            f"job {self._job_state.job_id} of flow {self._job_state.flow_id!r} did not finish "
            f"within its timeout of {timeout:g}s; its queued activations were dropped"
        )
        self.stop(JobStatus.FAILED, ErrorRecord.from_exception("", "", error))

    def _finished(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._on_final(self)

    def _deliver(self, targets: tuple[Target, ...], payload: Payload) -> None:
        activations = [Activation(self, target, target.map(payload)) for target in targets]
        with self._lock:
            if self._stopped:
                self._dropped += len(activations)
                return
            self._outstanding += len(activations)
        dispatch = self._executor.dispatch
        for activation in activations:
            if not dispatch(activation):
                self._done(dropped=True)

    def discard(self, activation: Activation) -> None:
        """Account for a queued activation of this job that will never run."""
        del activation
        self._done(dropped=True)

    def _done(self, dropped: bool = False) -> None:
        with self._lock:
            self._outstanding -= 1
            if dropped:
                self._dropped += 1
            if self._outstanding or self._stopped:
                return
            self._stopped = True
        if self._job_state.finish(JobStatus.COMPLETED):
            self._finished()

    # -- running one activation ------------------------------------------------------------

    def run(self, activation: Activation) -> None:
        """Run one activation: merge, call the handler, apply the error policy, account."""
        if self._stopped:
            self._done(dropped=True)
            return
        target = activation.target
        token = context.activate(self, target.routine_id)
        try:
            data = self._merge(target, activation.payload)
            if target.invoke is not None:
                target.invoke(data)
        except Exception as error:
            self._on_failure(activation, error)
        except BaseException as error:
            # KeyboardInterrupt, SystemExit...: the job fails whatever its policy; re-raised.
            self._on_failure(activation, error, fatal=True)
            raise
        else:
            self._job_state.record_activation(target.routine_id, "completed")
        finally:
            context.deactivate(token)
            self._done()

    def _merge(self, target: Target, payload: Payload) -> Payload:
        merge = target.merge
        if not merge.stateful:
            return payload
        cell = self._cells.get(target.label)
        if cell is None:
            cell = self._cells.setdefault(target.label, _MergeCell())
        with cell.lock:
            cell.state, data = merge.merge(cell.state, payload)
        return data

    def _on_failure(
        self, activation: Activation, error: BaseException, fatal: bool = False
    ) -> None:
        target = activation.target
        record = ErrorRecord.from_exception(target.routine_id, target.slot_name, error)
        policy = self._plan.policy_for(target.routine)
        strategy = ErrorStrategy.STOP if fatal else policy.strategy
        if strategy is ErrorStrategy.SKIP:
            self._job_state.record_activation(target.routine_id, "skipped", record)
            return
        self._job_state.record_activation(target.routine_id, "failed", record)
        if strategy is ErrorStrategy.CONTINUE:
            return
        if strategy is ErrorStrategy.RETRY and not policy.is_critical:
            return
        self.stop(JobStatus.FAILED, record)


class Scheduler:
    """Runs the jobs of one flow. Thread-safe; see the module docstring."""

    def __init__(self, name: str, max_workers: int) -> None:
        self._name = name
        self._max_workers = max_workers
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._active: dict[str, JobRun] = {}
        self._pool: PoolExecutor[Activation] | None = None
        self._timers = Timers(f"routilux-{name}-timers")

    @property
    def max_workers(self) -> int:
        return self._max_workers

    def set_max_workers(self, max_workers: int) -> None:
        """Change the pool size; the pool is rebuilt on next use. Not while jobs run."""
        with self._lock:
            if max_workers == self._max_workers:
                return
            if self._active:
                raise RuntimeError(
                    f"cannot change max_workers of flow {self._name!r} while "
                    f"{len(self._active)} job(s) run; wait_for_completion() first"
                )
            self._max_workers = max_workers
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def active_jobs(self) -> list[JobState]:
        with self._lock:
            return [job.job_state for job in self._active.values()]

    def start(
        self,
        flow: Any,
        plan: CompiledFlow,
        job_state: JobState,
        entry: tuple[Target, Payload],
        *,
        inline: bool,
        timeout: float | None = None,
    ) -> JobState:
        """Start a job: deliver ``entry`` (trigger target, params) and run it.

        ``inline``: run the whole job in the calling thread, FIFO, and return it final.
        Otherwise queue it on the flow's pool and return at once (status ``running``).
        """
        executor: Executor[Activation]
        if inline:
            executor = inline_executor = InlineExecutor[Activation](run_activation)
        else:
            with self._lock:
                if self._pool is None:
                    self._pool = PoolExecutor(
                        self._max_workers, run_activation, name=f"routilux-{self._name}"
                    )
                executor = self._pool
        job = JobRun(flow, plan, job_state, executor, self._job_final)
        with self._lock:
            self._active[job_state.job_id] = job
        job.start(*entry, timeout, self._timers)
        if inline:
            inline_executor.drain()
        return job_state

    def _job_final(self, job: JobRun) -> None:
        with self._lock:
            self._active.pop(job.job_state.job_id, None)
            self._changed.notify_all()

    def wait_all(self, timeout: float | None = None) -> bool:
        """Wait until every job of the flow is final; False if ``timeout`` elapsed first."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._active, timeout)

    def cancel_all(self, reason: str) -> int:
        """Cancel every unfinished job; returns how many were cancelled."""
        with self._lock:
            jobs = list(self._active.values())
        return sum(job.stop(JobStatus.CANCELLED, reason=reason) for job in jobs)

    def shutdown(self, wait: bool = True, timeout: float | None = None) -> bool:
        """Drain (``wait``) or abandon the flow's jobs and release the pool.

        Jobs still unfinished when ``timeout`` passes (or at once with ``wait=False``) are
        cancelled. Returns True when every job had finished on its own.
        """
        finished = self.wait_all(timeout) if wait else self.wait_all(0)
        if not finished:
            self.cancel_all("flow shut down before the job finished")
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            for activation in pool.shutdown(wait=wait and finished, cancel_pending=True):
                activation.job.discard(activation)
        return finished
