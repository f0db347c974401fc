"""Flow: the builder users wire, and the facade that compiles and runs it.

``Flow`` is the only module that knows the builder, the compiler and the runtime. It holds the
routines and connections, compiles them into a frozen plan (cached until the flow or one of its
routines changes) and hands jobs to its :class:`~routilux.runtime.scheduler.Scheduler`.

Guarantees: builder calls (``add_routine``, ``connect``, ``set_*``) and plan compilation are
serialised by one lock, so ``execute`` from several threads compiles once and each job runs on
the plan that was current when it started; jobs already running are unaffected by later changes.
All run-time calls (``execute``, ``wait_for_completion``, ``shutdown``) are thread-safe.
"""

from __future__ import annotations

import threading
import uuid
import warnings
from collections.abc import Mapping
from types import MappingProxyType, TracebackType
from typing import Any, Final, Literal, TypeAlias

from routilux.checks import check_str, check_timeout
from routilux.compile.graph import build_graph
from routilux.compile.plan import CompiledFlow, compile_flow
from routilux.compile.render import to_dot, to_mermaid
from routilux.compile.validate import ValidationReport, validate_entry, validate_graph
from routilux.connection import Connection
from routilux.error_handler import ErrorHandler
from routilux.errors import Problem
from routilux.execution_tracker import ExecutionTracker
from routilux.flow_codec import FlowParts, decode_flow, encode_flow
from routilux.job_state import JobState, JobStatus
from routilux.output import OutputHandler
from routilux.routine import Routine
from routilux.runtime import context
from routilux.runtime.scheduler import JobRun, Scheduler
from routilux.serialization import Reader, dumps, guarded, loads, read_text, write_atomic

ExecutionStrategy: TypeAlias = Literal["sequential", "concurrent"]
STRATEGIES: Final = ("sequential", "concurrent")
DEFAULT_MAX_ACTIVATIONS: Final = 1_000_000
DEFAULT_HISTORY_LIMIT: Final = 10_000


def _check_strategy(strategy: object) -> ExecutionStrategy:
    if strategy == "sequential":
        return "sequential"
    if strategy == "concurrent":
        return "concurrent"
    raise ValueError(
        f"unknown execution_strategy {strategy!r}; valid values are 'sequential', 'concurrent'"
    )


def _check_workers(max_workers: object) -> int:
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        raise ValueError(f"max_workers must be an int >= 1, got {max_workers!r}")
    return max_workers


def _check_limit(limit: object, name: str, minimum: int = 1) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < minimum:
        raise ValueError(f"{name} must be an int >= {minimum} or None, got {limit!r}")
    return limit


class Flow:
    """A workflow of routines connected event -> slot. See the module docstring."""

    def __init__(
        self,
        flow_id: str | None = None,
        execution_strategy: ExecutionStrategy = "sequential",
        max_workers: int = 5,
        execution_timeout: float | None = None,
        *,
        max_activations: int | None = DEFAULT_MAX_ACTIVATIONS,
        history_limit: int | None = DEFAULT_HISTORY_LIMIT,
        execution_tracker: ExecutionTracker | None = None,
    ) -> None:
        """``max_activations`` caps the activations one job may dispatch (a runaway feedback
        loop fails with :class:`~routilux.errors.ActivationLimitError`; ``None`` disables it);
        ``history_limit`` caps the emit records each job keeps in its history (the rest are
        counted in ``JobState.history_omitted``; ``None`` keeps all);
        ``execution_tracker`` records metrics of every job (off when ``None``)."""
        if flow_id is not None and (not isinstance(flow_id, str) or not flow_id):
            raise ValueError(f"flow_id must be a non-empty string or None, got {flow_id!r}")
        self.flow_id: str = flow_id or uuid.uuid4().hex
        self._strategy = _check_strategy(execution_strategy)
        self.execution_timeout = check_timeout(
            execution_timeout, "execution_timeout", allow_zero=False
        )
        self._max_activations = _check_limit(max_activations, "max_activations")
        self.history_limit = _check_limit(history_limit, "history_limit", minimum=0)
        self.execution_tracker = execution_tracker
        self._output_handler: OutputHandler | None = None
        self._scheduler = Scheduler(self.flow_id, _check_workers(max_workers))
        self._lock = threading.RLock()
        self._routines: dict[str, Routine] = {}
        self._connections: list[Connection] = []
        self._error_handler: ErrorHandler | None = None
        self._version = 0
        self._plan: tuple[tuple[int, ...], CompiledFlow] | None = None

    def __repr__(self) -> str:
        return (
            f"Flow(flow_id={self.flow_id!r}, execution_strategy={self._strategy!r}, "
            f"routines={len(self._routines)}, connections={len(self._connections)})"
        )

    # -- building --------------------------------------------------------------------------

    @property
    def execution_strategy(self) -> ExecutionStrategy:
        return self._strategy

    @property
    def max_workers(self) -> int:
        return self._scheduler.max_workers

    def set_execution_strategy(
        self, strategy: ExecutionStrategy, max_workers: int | None = None
    ) -> None:
        """Change the default strategy (and pool size; not while jobs are running)."""
        checked = _check_strategy(strategy)
        if max_workers is not None:
            self._scheduler.set_max_workers(_check_workers(max_workers))
        self._strategy = checked

    @property
    def routines(self) -> Mapping[str, Routine]:
        """Read-only view of the routines by id."""
        return MappingProxyType(self._routines)

    @property
    def connections(self) -> tuple[Connection, ...]:
        with self._lock:
            return tuple(self._connections)

    def get_routine(self, routine_id: str) -> Routine | None:
        return self._routines.get(routine_id)

    def add_routine(self, routine: Routine, routine_id: str | None = None) -> str:
        """Add ``routine`` under ``routine_id`` (default: class name + number); return the id."""
        if not isinstance(routine, Routine):
            raise TypeError(f"add_routine expects a Routine instance, got {type(routine).__name__}")
        try:
            routine.slots  # noqa: B018 - fails when the subclass skipped Routine.__init__
        except AttributeError:
            raise TypeError(
                f"{type(routine).__name__}.__init__ must call super().__init__() before "
                "the routine is added to a flow"
            ) from None
        with self._lock:
            for existing_id, existing in self._routines.items():
                if existing is routine:
                    raise ValueError(
                        f"this {type(routine).__name__} instance is already in flow "
                        f"{self.flow_id!r} as {existing_id!r}; create another instance"
                    )
            if routine_id is None:
                routine_id = self._fresh_id(type(routine).__name__)
            elif not isinstance(routine_id, str) or not routine_id:
                raise ValueError(f"routine_id must be a non-empty string, got {routine_id!r}")
            elif routine_id in self._routines:
                raise ValueError(
                    f"flow {self.flow_id!r} already has a routine with id {routine_id!r}"
                )
            self._routines[routine_id] = routine
            self._version += 1
        return routine_id

    def _fresh_id(self, base: str) -> str:
        number = len(self._routines) + 1
        while f"{base}_{number}" in self._routines:
            number += 1
        return f"{base}_{number}"

    def connect(
        self,
        source_routine_id: str,
        source_event: str,
        target_routine_id: str,
        target_slot: str,
        param_mapping: Mapping[str, str] | None = None,
        *,
        feedback: bool = False,
    ) -> Connection:
        """Wire ``source.event`` to ``target.slot``; ``param_mapping`` is {event_key: slot_key}.

        Unknown routines, events or slots raise ``ValueError`` at once, naming what exists.
        ``feedback=True`` declares that this connection deliberately closes a loop.
        """
        if param_mapping is not None and not (
            isinstance(param_mapping, Mapping)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in param_mapping.items())
        ):
            raise TypeError(f"param_mapping must map str to str, got {param_mapping!r}")
        for value, name in (
            (source_routine_id, "source_routine_id"),
            (source_event, "source_event"),
            (target_routine_id, "target_routine_id"),
            (target_slot, "target_slot"),
        ):
            check_str(value, name)
        with self._lock:
            source = self._require_routine(source_routine_id, "source")
            target = self._require_routine(target_routine_id, "target")
            if source_event not in source.events:
                raise ValueError(
                    f"routine {source_routine_id!r} has no event {source_event!r}; "
                    f"its events are: {', '.join(map(repr, source.events)) or 'none'}"
                )
            if target_slot not in target.slots:
                raise ValueError(
                    f"routine {target_routine_id!r} has no slot {target_slot!r}; "
                    f"its slots are: {', '.join(map(repr, target.slots)) or 'none'}"
                )
            connection = Connection(
                source_routine_id,
                source_event,
                target_routine_id,
                target_slot,
                param_mapping or {},
                bool(feedback),
            )
            self._connections.append(connection)
            self._version += 1
        return connection

    def _require_routine(self, routine_id: object, role: str) -> Routine:
        routine = self._routines.get(routine_id) if isinstance(routine_id, str) else None
        if routine is None:
            raise ValueError(
                f"{role} routine {routine_id!r} is not in flow {self.flow_id!r}; "
                f"routines are: {', '.join(map(repr, self._routines)) or 'none'}"
            )
        return routine

    def set_error_handler(self, handler: ErrorHandler | None) -> None:
        """The flow-level error policy, used by routines that have none of their own."""
        if handler is not None and not isinstance(handler, ErrorHandler):
            raise TypeError(f"expected an ErrorHandler or None, got {type(handler).__name__}")
        with self._lock:
            self._error_handler = handler
            self._version += 1

    def get_error_handler(self) -> ErrorHandler | None:
        return self._error_handler

    @property
    def max_activations(self) -> int | None:
        return self._max_activations

    @max_activations.setter
    def max_activations(self, limit: int | None) -> None:
        checked = _check_limit(limit, "max_activations")
        with self._lock:
            self._max_activations = checked
            self._version += 1

    @property
    def execution_tracker(self) -> ExecutionTracker | None:
        """The tracker every new job reports to (``None``: no tracking, no cost)."""
        return self._tracker

    @execution_tracker.setter
    def execution_tracker(self, tracker: ExecutionTracker | None) -> None:
        if tracker is not None and not isinstance(tracker, ExecutionTracker):
            raise TypeError(f"expected an ExecutionTracker or None, got {type(tracker).__name__}")
        self._tracker = tracker

    def set_output_handler(self, handler: OutputHandler | None) -> None:
        """The output handler given to every job started from now on."""
        if handler is not None and not callable(getattr(handler, "handle", None)):
            raise TypeError(
                f"output handler must have a handle(record) method, got {type(handler).__name__}"
            )
        self._output_handler = handler

    # -- compiling -------------------------------------------------------------------------

    def validate(self, entry_routine_id: str | None = None) -> ValidationReport:
        """Every problem of the flow at once (errors and warnings), without running anything.

        With ``entry_routine_id``, also checks that it can start a job.
        """
        with self._lock:
            graph = build_graph(self._routines, self._connections)
        report = validate_graph(self.flow_id, graph)
        if entry_routine_id is None:
            return report
        entry = validate_entry(self.flow_id, graph, entry_routine_id)
        problems: tuple[Problem, ...] = (*entry.problems, *report.problems)
        return ValidationReport(self.flow_id, problems)

    def compile(self) -> CompiledFlow:
        """The frozen plan, compiled now or reused from cache if nothing changed.

        Raises :class:`~routilux.errors.FlowValidationError` listing every error.
        """
        with self._lock:
            key = (self._version, *(r.revision for r in self._routines.values()))
            if self._plan is not None and self._plan[0] == key:
                return self._plan[1]
            plan = compile_flow(
                self.flow_id,
                self._routines,
                self._connections,
                self._error_handler,
                self._max_activations,
            )
            self._plan = (key, plan)
            return plan

    def to_mermaid(self) -> str:
        with self._lock:
            return to_mermaid(build_graph(self._routines, self._connections))

    def to_dot(self) -> str:
        with self._lock:
            return to_dot(build_graph(self._routines, self._connections), self.flow_id)

    # -- persistence -----------------------------------------------------------------------

    def serialize(self) -> dict[str, Any]:
        """The flow's structure as plain JSON data (format ``routilux/flow``, versioned).

        Raises :class:`~routilux.errors.SerializationError` naming what cannot be saved: an
        unregistered routine class, a handler or merge function that is not a method of its
        routine's class nor a registered callable, a config or stat value that is not JSON.
        Jobs, trackers and output handlers are not part of a flow's data.
        """
        with self._lock:
            parts = FlowParts(
                flow_id=self.flow_id,
                execution_strategy=self._strategy,
                max_workers=self.max_workers,
                execution_timeout=self.execution_timeout,
                max_activations=self._max_activations,
                history_limit=self.history_limit,
                error_handler=self._error_handler,
                routines=dict(self._routines),
                connections=list(self._connections),
            )
        return encode_flow(parts)

    @classmethod
    def deserialize(cls, data: Any) -> Flow:
        """Rebuild a flow from :meth:`serialize` data.

        Routine classes, merge functions, handler functions and exception classes are found
        only in the registry (``routilux.register_routine`` and friends); nothing named in the
        data is imported or evaluated. Malformed, wrong-version or hostile data raises
        :class:`~routilux.errors.SerializationError` (a ``ValueError``) and nothing is returned
        half-built.
        """
        return guarded("flow data", lambda: cls._from_parts(decode_flow(Reader(data, "flow"))))

    @classmethod
    def _from_parts(cls, parts: FlowParts) -> Flow:
        flow = cls(
            parts.flow_id,
            _check_strategy(parts.execution_strategy),
            parts.max_workers,
            parts.execution_timeout,
            max_activations=parts.max_activations,
            history_limit=parts.history_limit,
        )
        flow.set_error_handler(parts.error_handler)
        for routine_id, routine in parts.routines.items():
            flow.add_routine(routine, routine_id)
        for c in parts.connections:
            flow.connect(
                c.source_id, c.event, c.target_id, c.slot, c.param_mapping, feedback=c.feedback
            )
        return flow

    def save(self, path: str) -> None:
        """Write :meth:`serialize` to ``path`` atomically (temporary file + rename)."""
        write_atomic(path, dumps(self.serialize()))

    @classmethod
    def load(cls, path: str) -> Flow:
        """Read a flow saved with :meth:`save` (see :meth:`deserialize` for the guarantees)."""
        return cls.deserialize(loads(read_text(path, "flow file"), f"flow file {path}"))

    # -- running ---------------------------------------------------------------------------

    def execute(
        self,
        entry_routine_id: str,
        entry_params: Mapping[str, Any] | None = None,
        execution_strategy: ExecutionStrategy | None = None,
        timeout: float | None = None,
    ) -> JobState:
        """Start a job at ``entry_routine_id``'s ``trigger`` slot with ``entry_params``.

        Sequential: runs the whole job in this thread and returns it final. Concurrent: returns
        at once with the job ``running``. The flow is validated first; errors raise
        :class:`~routilux.errors.FlowValidationError` before any handler runs.

        ``timeout`` (default: the flow's ``execution_timeout``) fails the job with a
        :class:`~routilux.errors.JobTimeoutError` record if it has not finished in time; its
        queued activations are dropped and waiters wake (a running handler is not interrupted).
        """
        strategy = (
            self._strategy if execution_strategy is None else _check_strategy(execution_strategy)
        )
        timeout = check_timeout(timeout, "timeout", allow_zero=False) or self.execution_timeout
        if entry_params is None:
            params: dict[str, Any] = {}
        elif isinstance(entry_params, Mapping) and all(isinstance(k, str) for k in entry_params):
            params = dict(entry_params)
        else:
            raise TypeError(
                f"entry_params must be a mapping with str keys or None, got {entry_params!r}"
            )
        plan = self.compile()
        target = plan.trigger(entry_routine_id, params)
        job_state = JobState(self.flow_id, history_limit=self.history_limit)
        job_state.set_output_handler(self._output_handler)
        return self._scheduler.start(
            self,
            plan,
            job_state,
            (target, params),
            inline=strategy == "sequential",
            timeout=timeout,
            tracker=self._tracker,
        )

    # -- job control -----------------------------------------------------------------------

    def pause(self, job_state: JobState, reason: str = "", checkpoint: Any = None) -> bool:
        """Hold ``job_state``'s queued activations; handlers already running finish.

        Only that job is affected; it may be called from inside one of its own handlers (it
        does not wait). Records one pause point per pause. Returns False (with a
        ``RuntimeWarning``) for a final job, and False for a job already paused.
        """
        job = self._job_of(job_state, "pause")
        return job is not None and job.pause(reason, checkpoint)

    def resume(self, job_state: JobState) -> JobState:
        """Run the held activations, then the deferred events, inside the same job.

        A sequential job runs them in the calling thread and returns it final (or paused
        again); a concurrent one returns at once. Raises ``ValueError`` for a job that is not
        paused.
        """
        job = self._job_of(job_state, "resume")
        if job is None:
            raise ValueError(
                f"job {job_state.job_id} is {job_state.status.value}; it cannot resume"
            )
        self._scheduler.resume(job)
        return job_state

    def cancel(self, job_state: JobState, reason: str = "") -> bool:
        """Drop the job's queued and held work now and mark it ``cancelled``; never waits.

        Returns False (with a ``RuntimeWarning``) for a job that is already final.
        """
        job = self._job_of(job_state, "cancel")
        return job is not None and job.stop(JobStatus.CANCELLED, reason=reason or "cancelled")

    def _job_of(self, job_state: JobState, call: str) -> JobRun | None:
        if not isinstance(job_state, JobState):
            raise TypeError(f"{call}() expects a JobState, got {type(job_state).__name__}")
        if job_state.flow_id != self.flow_id:
            raise ValueError(
                f"job {job_state.job_id} belongs to flow {job_state.flow_id!r}, "
                f"not to flow {self.flow_id!r}"
            )
        job = self._scheduler.job(job_state)
        if job is None and job_state.status is JobStatus.PAUSED:
            # A paused job this process did not start (loaded from a file): take it over.
            job = self._scheduler.adopt(
                self, self.compile(), job_state, inline=self._strategy == "sequential"
            )
        if job is None:
            if not job_state.is_final:
                raise ValueError(
                    f"job {job_state.job_id} ({job_state.status.value}) is not running on flow "
                    f"{self.flow_id!r}; only a paused job can be taken over from saved data"
                )
            warnings.warn(
                f"{call}() ignored: job {job_state.job_id} is already {job_state.status.value}",
                RuntimeWarning,
                stacklevel=3,
            )
        return job

    @property
    def active_jobs(self) -> list[JobState]:
        """Jobs of this flow that have not reached a final status."""
        return self._scheduler.active_jobs()

    def wait_for_completion(self, timeout: float | None = None) -> bool:
        """Wait until every job of this flow is final (or paused with nothing running, since
        only a resume could move it on); False if ``timeout`` passed first."""
        self._refuse_inside_own_handler("wait_for_completion")
        return self._scheduler.wait_all(check_timeout(timeout, "timeout"))

    def shutdown(self, wait: bool = True, timeout: float | None = None) -> bool:
        """Drain (``wait=True``) or abandon running jobs and release the thread pool.

        Jobs still running when ``timeout`` passes (at once with ``wait=False``) are cancelled;
        paused jobs stay paused (``resume`` starts a new pool), as does a later ``execute``.
        Returns True when no job had to be cancelled.
        """
        if wait:
            self._refuse_inside_own_handler("shutdown(wait=True)")
        return self._scheduler.shutdown(wait=bool(wait), timeout=check_timeout(timeout, "timeout"))

    def _refuse_inside_own_handler(self, call: str) -> None:
        active = context.current()
        if active is not None and active[0].flow is self:
            raise RuntimeError(
                f"flow.{call} was called from a handler of flow {self.flow_id!r}; it would wait "
                "for the very job that is calling it. Call it from outside the flow's handlers"
            )

    def __enter__(self) -> Flow:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown(wait=True)
