"""The scheduler: turns emits into activations, runs them on an executor, and accounts per job.

* :class:`JobRun` is the runtime of one job. It implements :class:`~routilux.runtime.context.
  JobScope` (so handlers emit through it), holds the job's per-slot merge state and its count of
  outstanding activations, applies the error policy when a handler fails, and carries out
  pause / resume / cancel and the job's deadline.
* :class:`Scheduler` owns one flow's thread pool, timers and the set of its unfinished jobs.

Guarantees:

* ``JobRun._outstanding``, ``_stopped``, ``_paused``, ``_held``, ``_dropped`` and
  ``_dispatched`` are guarded by ``JobRun._lock``. ``_outstanding`` counts every activation that
  is queued, running, held by a pause or waiting for a retry. An activation is counted *before*
  it is dispatched and uncounted *after* its handler returned and every emit it made was counted,
  so the count reaches zero exactly when the job has no work left; only then (and not while
  paused) is the job marked ``completed``.
* A stopped job (failed, cancelled, timed out) dispatches nothing more: its held activations are
  dropped at once, queued ones when they reach a worker, and emits from its still-running
  handlers are dropped too; all are counted in ``dropped``.
* A paused job runs nothing new: each activation that reaches a worker is moved to the job
  state's held list (in queue order); resume re-dispatches them, then the deferred events.
* A slot's merge for a job happens under that job's per-slot lock; the handler gets the snapshot
  the merge returned. Merge state lives in the job's JobState (so a saved paused job carries
  it), never shared between jobs.
* ``Scheduler._active`` and ``_pool`` are guarded by ``Scheduler._lock``; ``_changed`` is
  notified whenever a job becomes final or paused with nothing running. No lock is held while a
  handler, an output handler or a timer callback runs; JobRun never calls into the Scheduler
  while holding its own lock (lock order: Scheduler, then JobRun).
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from typing import Any

from routilux.compile.plan import CompiledFlow, EventRoute, Target
from routilux.error_handler import ErrorStrategy
from routilux.errors import ActivationLimitError, JobTimeoutError
from routilux.execution_tracker import ExecutionTracker
from routilux.job_state import (
    DeferredEvent,
    ErrorRecord,
    HeldActivation,
    JobState,
    JobStatistics,
    JobStatus,
    Outcome,
    PausePoint,
)
from routilux.merge import Payload
from routilux.routine import Routine
from routilux.runtime import context
from routilux.runtime.executors import Executor, InlineExecutor, PoolExecutor
from routilux.runtime.timers import TimerHandle, Timers
from routilux.stats import StatChange, Stats

_activate = context.activate
_deactivate = context.deactivate

# What ended a unit of outstanding work (see JobRun._done).
_DELIVERED, _DROPPED, _TOKEN = 1, 2, 3


#: One delivery of a payload to a slot, within a job: ``(job, target, payload, retries,
#: merged)``. ``retries`` counts re-runs so far; ``merged`` marks a payload that is already the
#: merged snapshot (a retry re-runs the handler with the data of the failed attempt). A plain
#: immutable tuple: one is built per delivery, so it must cost next to nothing.
Activation = tuple["JobRun", Target, Payload, int, bool]


def run_activation(activation: Activation) -> None:
    """The executors' ``run`` callable."""
    activation[0].run(activation)


def discard_activation(activation: Activation) -> None:
    """The executors' ``discard`` callable: an accepted activation that will never run."""
    activation[0].discard(activation)


def _retry_copy(data: Payload) -> Payload:
    """The data a retry will get: a deep copy (so a failed attempt's mutations do not leak into
    the next), or the same dict when the payload cannot be deep-copied."""
    try:
        return copy.deepcopy(data)
    except Exception:
        return data


class JobRun:
    """The runtime of one job. Thread-safe; see the module docstring."""

    def __init__(
        self,
        flow: Any,
        plan: CompiledFlow,
        job_state: JobState,
        executor: Executor[Activation] | None,
        on_settled: Callable[[JobRun], None],
        *,
        tracker: ExecutionTracker | None = None,
    ) -> None:
        """``executor`` None: the job runs inline (FIFO in the thread that drains it)."""
        self.inline = executor is None
        if executor is None:
            executor = InlineExecutor[Activation](self.run)
        self._flow = flow
        self._plan = plan
        self._job_state = job_state
        self._executor = executor
        self._dispatch = executor.dispatch
        self._on_settled = on_settled
        self._tracker = tracker
        self._lock = threading.Lock()
        self._outstanding = 0
        self._dropped = 0
        self._dispatched = 0
        self._held = 0
        self._emitted = 0
        self._delivered = 0
        self._retried = 0
        self._restored = 0
        self._tokens = 0
        self._delayed: dict[int, Callable[[], bool]] = {}  # retries waiting: cancel functions
        self._stopped = False
        self._paused = False
        self._deadline: TimerHandle | None = None
        job_state.attach_statistics(self.statistics)
        self._routes = plan.routes
        self._record = job_state.record_emit
        self._limit = plan.max_activations

    # -- JobScope --------------------------------------------------------------------------

    @property
    def flow(self) -> Any:
        return self._flow

    @property
    def job_state(self) -> JobState:
        return self._job_state

    @property
    def dropped(self) -> int:
        """Activations discarded because the job had stopped (failed, cancelled, timed out)."""
        with self._lock:
            return self._dropped

    def statistics(self) -> JobStatistics:
        """A consistent snapshot of this job's activation accounting."""
        with self._lock:
            return JobStatistics(
                emitted=self._emitted,
                retried=self._retried,
                restored=self._restored,
                delivered=self._delivered,
                held=self._held,
                dropped=self._dropped,
                pending=self._outstanding - self._held - self._tokens,
            )

    @property
    def settled(self) -> bool:
        """Final, or paused with nothing running or queued (only a resume can move it on)."""
        with self._lock:
            return self._stopped or (self._paused and self._outstanding == self._held)

    def emit(self, routine: object, event_name: str, payload: Payload) -> None:
        # The hot path: two dict lookups route the event; the slow path explains a miss.
        by_event = self._routes.get(id(routine))
        route = None if by_event is None else by_event.get(event_name)
        if route is None:
            route = self._route(routine, event_name)
        declared = route.declared
        if declared is not None and not declared.issuperset(payload):
            route.check_payload(payload)
        self._record(route.source_id, event_name, payload)
        if route.targets:
            self._deliver(route, payload)

    def defer(self, routine: object, event_name: str, payload: Payload) -> None:
        route = self._route(routine, event_name)
        route.check_payload(payload)
        self._job_state.defer(DeferredEvent(route.source_id, event_name, payload))

    def send_output(self, routine: object, output_type: str, data: Payload) -> None:
        if not isinstance(routine, Routine):
            raise TypeError(f"only a Routine can send output, not {type(routine).__name__}")
        routine_id = self._plan.routine_id(routine)
        self._job_state.send_output(routine_id, output_type, data)

    def change_stats(self, stats: Stats, change: StatChange) -> Any:
        # In-process the routine's stats are right here: apply at once (atomic in Stats).
        return change.apply(stats)

    def _route(self, routine: object, event_name: str) -> EventRoute:
        if not isinstance(routine, Routine):
            raise TypeError(f"only a Routine can emit, not {type(routine).__name__}")
        return self._plan.route(routine, event_name)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, target: Target, params: Payload, timeout: float | None, timers: Timers) -> None:
        """Mark the job running and deliver ``params`` to the entry's trigger slot.

        With ``timeout``, the job is failed with a :class:`JobTimeoutError` record if it is not
        final ``timeout`` seconds from now (handlers already running are not interrupted).
        """
        if timeout is not None:
            self._deadline = timers.call_later(timeout, lambda: self._expire(timeout))
        self._job_state.mark_running()
        self._job_state.record(target.routine_id, "start", params, kind="start")
        self._dispatch_all([(self, target, target.map(params), 0, False)])

    def stop(self, status: JobStatus, error: ErrorRecord | None = None, reason: str = "") -> bool:
        """End the job now as ``status`` (failed/cancelled); pending work will be dropped.

        Returns False if the job had already ended.
        """
        with self._lock:
            if self._stopped:
                return False
            self._stopped = True
            self._outstanding -= self._held
            self._dropped += self._held
            self._held = 0
            delayed = list(self._delayed.values())
            self._delayed.clear()
        withdrawn = sum(cancel() for cancel in delayed)
        if withdrawn:
            with self._lock:
                self._outstanding -= withdrawn
                self._dropped += withdrawn
        self._job_state.take_held()
        self._executor.wake()
        if self._job_state.finish(status, error, reason):
            self._finished()
        return True

    def pause(self, reason: str, checkpoint: Any) -> bool:
        """Hold this job's queued activations from now on. False if final or already paused."""
        with self._lock:
            if self._stopped or self._paused:
                return False
            self._paused = True
            idle = self._outstanding == self._held
        self._job_state.mark_paused(PausePoint(time.time(), reason, checkpoint))
        if idle:
            self._on_settled(self)
        return True

    def resume(self, executor: Executor[Activation] | None = None) -> None:
        """Re-dispatch held activations, then emit deferred events, inside this job.

        ``executor`` replaces the pool the job used (its old pool may have been shut down).
        Raises ``ValueError`` if the job is not paused.
        """
        with self._lock:
            if self._stopped or not self._paused:
                raise ValueError(
                    f"job {self._job_state.job_id} is {self._job_state.status.value}; "
                    "only a paused job can be resumed"
                )
            self._paused = False
            if executor is not None:
                self._executor = executor
                self._dispatch = executor.dispatch
            self._held = 0
            self._outstanding += 1  # the resume itself, so the job cannot finish mid-way
            self._tokens += 1
        self._job_state.mark_resumed()
        slot_target = self._plan.slot_target
        held: list[Activation] = [
            (self, slot_target(h.routine_id, h.slot_name), h.payload, h.retries, h.merged)
            for h in self._job_state.take_held()
        ]
        try:
            self._dispatch_held(held)
            for deferred in self._job_state.take_deferred():
                routine = self._plan.routines[deferred.routine_id]
                self.emit(routine, deferred.event_name, deferred.payload)
        finally:
            self._done(_TOKEN)
        self._executor.drain_here()

    def _dispatch_held(self, held: list[Activation]) -> None:
        # Already counted in _outstanding (held work stays outstanding).
        dispatch = self._dispatch
        for activation in held:
            if dispatch(activation) is False:
                self._done(_DROPPED)

    def restore_paused(self) -> None:
        """Take over a paused job restored from data: its held activations become this run's
        outstanding, held work (engine use, before the run is shared)."""
        held = len(self._job_state.held_activations)
        with self._lock:
            self._paused = True
            self._held = self._outstanding = self._restored = held

    def discard(self, activation: Activation) -> None:
        """Account for an accepted activation of this job that will never run."""
        del activation
        self._done(_DROPPED)

    def drain_here(self) -> None:
        self._executor.drain_here()

    def _expire(self, timeout: float) -> None:
        error = JobTimeoutError(
            f"job {self._job_state.job_id} of flow {self._job_state.flow_id!r} did not finish "
            f"within its timeout of {timeout:g}s; its queued activations were dropped"
        )
        self.stop(JobStatus.FAILED, ErrorRecord.from_exception("", "", error))

    def _finished(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._on_settled(self)

    def _deliver(self, route: EventRoute, payload: Payload) -> None:
        targets = route.targets
        tracker = self._tracker
        if tracker is not None:
            tracker.record_deliveries(
                (
                    self._job_state.job_id,
                    route.source_id,
                    route.event_name,
                    route.target_labels,
                    time.perf_counter(),
                )
            )
        if len(targets) == 1:  # the common case, without building a list
            target = targets[0]
            mapped = payload if target.shares_payload else target.map(payload)
            activation: Activation = (self, target, mapped, 0, False)
            if self._admit(1) and self._dispatch(activation) is False:
                self._done(_DROPPED)
            return
        self._dispatch_all([(self, t, t.map(payload), 0, False) for t in targets])

    def _dispatch_all(self, activations: list[Activation]) -> None:
        if not self._admit(len(activations)):
            return
        dispatch = self._dispatch
        for activation in activations:
            if dispatch(activation) is False:
                self._done(_DROPPED)

    def _admit(self, count: int) -> bool:
        """Count ``count`` new activations in. False (they are dropped) if the job has stopped,
        or if they take it past its activation limit (the job then fails)."""
        with self._lock:
            self._emitted += count
            if self._stopped:
                self._dropped += count
                return False
            self._dispatched += count
            if self._limit is None or self._dispatched <= self._limit:
                self._outstanding += count
                return True
            self._dropped += count
        self._runaway(self._limit)
        return False

    def _runaway(self, limit: int | None) -> None:
        error = ActivationLimitError(
            f"job {self._job_state.job_id} exceeded its limit of {limit} activations "
            f"(flow {self._job_state.flow_id!r}); a feedback loop is probably running away. "
            "Raise Flow(max_activations=...) if the job really needs more"
        )
        self.stop(JobStatus.FAILED, ErrorRecord.from_exception("", "", error))

    def _done(self, outcome: int) -> None:
        """One unit of outstanding work ended: an activation delivered (its handler ran) or
        dropped, or the token ``resume`` holds."""
        with self._lock:
            self._outstanding -= 1
            if outcome == _DELIVERED:
                self._delivered += 1
            elif outcome == _DROPPED:
                self._dropped += 1
            else:
                self._tokens -= 1
            if self._stopped:
                return
            if self._paused:
                if self._outstanding != self._held:
                    return
                complete = False
            elif self._outstanding:
                return
            else:
                self._stopped = complete = True
        if not complete:
            self._on_settled(self)  # paused with nothing running
        elif self._job_state.finish(JobStatus.COMPLETED):
            self._finished()

    def _hold(self, activation: Activation) -> bool:
        """Move ``activation`` to the held list if the job is paused; True if it was held."""
        with self._lock:
            if not self._paused or self._stopped:
                return False
            self._held += 1
            idle = self._outstanding == self._held
        _, target, payload, retries, merged = activation
        self._job_state.hold(
            HeldActivation(target.routine_id, target.slot_name, payload, retries, merged)
        )
        if idle:
            self._on_settled(self)
        return True

    # -- running one activation ------------------------------------------------------------

    def run(self, activation: Activation) -> None:
        """Run one activation: merge, call the handler, apply the error policy, account."""
        _, target, data, retries, merged = activation
        if retries:
            with self._lock:
                self._delayed.pop(id(activation), None)
        if self._stopped:
            self._done(_DROPPED)
            return
        if self._paused and self._hold(activation):
            return
        tracker = self._tracker
        started = time.perf_counter() if tracker is not None else 0.0
        outcome: Outcome = "completed"
        again = data  # what a retry of this activation would be given
        token = _activate((self, target.routine_id))
        try:
            if target.stateful and not merged:
                again = data = self._merge(target, data)
                merged = True
            invoke = target.invoke
            if invoke is not None:
                if target.retries:
                    again, merged = _retry_copy(data), True
                invoke(data)
        except Exception as error:
            outcome = self._on_failure((self, target, again, retries, merged), error)
        except BaseException as error:
            # KeyboardInterrupt, SystemExit...: the job fails whatever its policy; re-raised.
            outcome = self._on_failure((self, target, again, retries, merged), error, fatal=True)
            raise
        else:
            self._job_state.record_completed(target.routine_id)
        finally:
            _deactivate(token)
            if tracker is not None:
                tracker.record_activation(
                    (
                        self._job_state.job_id,
                        target.routine_id,
                        target.slot_name,
                        started,
                        time.perf_counter(),
                        outcome,
                    )
                )
            self._done(_DELIVERED)

    def _merge(self, target: Target, payload: Payload) -> Payload:
        cell = self._job_state.merge_cell(target.label)
        with cell.lock:
            cell.state, data = target.merge.merge(cell.state, payload)
        return data

    def _on_failure(
        self, activation: Activation, error: BaseException, fatal: bool = False
    ) -> Outcome:
        """Apply the error policy to a failed ``activation`` (as a retry of it would run)."""
        _, target, _, retries, _ = activation
        record = ErrorRecord.from_exception(target.routine_id, target.slot_name, error)
        policy = target.policy
        strategy = ErrorStrategy.STOP if fatal else policy.strategy
        if strategy is ErrorStrategy.RETRY and policy.can_retry(error, retries):
            self._job_state.record_activation(target.routine_id, "retrying", record)
            self._retry(activation, policy.delay_before(retries + 1))
            return "retrying"
        if strategy is ErrorStrategy.SKIP:
            self._job_state.record_activation(target.routine_id, "skipped", record)
            return "skipped"
        self._job_state.record_activation(target.routine_id, "failed", record)
        stop = strategy is ErrorStrategy.STOP or (
            strategy is ErrorStrategy.RETRY and policy.is_critical
        )
        if stop:
            self.stop(JobStatus.FAILED, record)
        return "failed"

    def _retry(self, activation: Activation, delay: float) -> None:
        _, target, payload, retries, merged = activation
        retry: Activation = (self, target, payload, retries + 1, merged)
        with self._lock:
            self._retried += 1
            if self._stopped:
                self._dropped += 1
                return
            self._outstanding += 1
            # Registered under the lock, so stop() either sees it or runs before it exists.
            self._delayed[id(retry)] = self._executor.dispatch_later(retry, delay)


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
                    f"{len(self._active)} job(s) are unfinished; wait_for_completion() first"
                )
            self._max_workers = max_workers
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def active_jobs(self) -> list[JobState]:
        with self._lock:
            return [job.job_state for job in self._active.values()]

    def job(self, job_state: JobState) -> JobRun | None:
        """The runtime of an unfinished job, or None if it is final or unknown."""
        with self._lock:
            return self._active.get(job_state.job_id)

    def _pool_executor(self) -> PoolExecutor[Activation]:
        with self._lock:
            if self._pool is None:
                self._pool = PoolExecutor(
                    self._max_workers,
                    run_activation,
                    discard_activation,
                    self._timers,
                    name=f"routilux-{self._name}",
                )
            return self._pool

    def start(
        self,
        flow: Any,
        plan: CompiledFlow,
        job_state: JobState,
        entry: tuple[Target, Payload],
        *,
        inline: bool,
        timeout: float | None = None,
        tracker: ExecutionTracker | None = None,
    ) -> JobState:
        """Start a job: deliver ``entry`` (trigger target, params) and run it.

        ``inline``: run the whole job in the calling thread, FIFO, and return it final (or
        paused). Otherwise queue it on the flow's pool and return at once (status ``running``).
        """
        executor = None if inline else self._pool_executor()
        job = JobRun(flow, plan, job_state, executor, self._settled, tracker=tracker)
        with self._lock:
            self._active[job_state.job_id] = job
        job.start(*entry, timeout, self._timers)
        job.drain_here()
        return job_state

    def adopt(self, flow: Any, plan: CompiledFlow, job_state: JobState, *, inline: bool) -> JobRun:
        """Take over a paused job this scheduler does not know (e.g. loaded from a file).

        Raises ``ValueError`` if its held work or deferred events name routines or slots the
        flow does not have; nothing is registered then.
        """
        for held in job_state.held_activations:
            plan.slot_target(held.routine_id, held.slot_name)
        for deferred in job_state.deferred_events:
            if deferred.routine_id not in plan.routines:
                raise ValueError(
                    f"deferred event {deferred.event_name!r} names routine "
                    f"{deferred.routine_id!r}, which flow {plan.flow_id!r} does not have"
                )
        job = JobRun(
            flow, plan, job_state, None if inline else self._pool_executor(), self._settled
        )
        job.restore_paused()
        with self._lock:
            existing = self._active.setdefault(job_state.job_id, job)
        return existing

    def resume(self, job: JobRun) -> None:
        """Resume a paused job; a pooled job moves to the current pool (made anew if needed)."""
        job.resume(None if job.inline else self._pool_executor())

    def _settled(self, job: JobRun) -> None:
        with self._lock:
            if job.job_state.is_final:
                self._active.pop(job.job_state.job_id, None)
            self._changed.notify_all()

    def wait_all(self, timeout: float | None = None) -> bool:
        """Wait until every job is final or paused with nothing running; False on timeout."""
        with self._changed:
            return self._changed.wait_for(
                lambda: all(job.settled for job in self._active.values()), timeout
            )

    def cancel_running(self, reason: str) -> int:
        """Cancel every job that is neither final nor settled in a pause; return how many."""
        with self._lock:
            jobs = [job for job in self._active.values() if not job.settled]
        return sum(job.stop(JobStatus.CANCELLED, reason=reason) for job in jobs)

    def shutdown(self, wait: bool = True, timeout: float | None = None) -> bool:
        """Drain (``wait``) or abandon the flow's running jobs and release the pool.

        Jobs still running when ``timeout`` passes (or at once with ``wait=False``) are
        cancelled; paused jobs stay paused (resume starts a new pool). Returns True when no job
        had to be cancelled.
        """
        finished = self.wait_all(timeout if wait else 0)
        if not finished:
            self.cancel_running("flow shut down before the job finished")
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait and finished)
        return finished
