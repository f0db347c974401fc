"""JobState: the observable record of one execution of a flow.

Guarantees: every field that changes while the job runs (status, routine states, history,
errors, shared data) is guarded by the instance's one lock; readers get snapshots. A job reaches
a *final* status (``completed``, ``failed``, ``cancelled``) exactly once and is never reopened;
``completed`` is set only when every activation the job caused has finished, while ``failed`` and
``cancelled`` are set at once (queued work is then dropped and handlers already running finish
without effect on the status). Waiters are woken through a ``Condition`` the moment the status
becomes final: nothing polls.

The engine drives the job through :meth:`mark_running`, :meth:`record`,
:meth:`record_activation`, :meth:`mark_paused` / :meth:`mark_resumed`, :meth:`hold` /
:meth:`take_held`, :meth:`defer` / :meth:`take_deferred` and :meth:`finish`; users read it.
Held activations and deferred events live here (not in the runtime), so a paused job's pending
work is part of its state.
"""

from __future__ import annotations

import enum
import sys
import threading
import time
import traceback as traceback_module
import uuid
from typing import Any, Literal, Protocol

import attrs

from routilux.output import NullOutputHandler, OutputHandler, OutputRecord

RecordKind = Literal["start", "emit", "error", "pause", "resume", "end"]
Outcome = Literal["completed", "failed", "skipped", "retrying"]


class JobStatus(enum.StrEnum):
    """Status of a job; compares equal to its string value (``status == "completed"``)."""

    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})


@attrs.frozen
class ExecutionRecord:
    """One entry of a job's history: the job's start, each emit, each error, and its end.

    ``data`` is the emitted payload (the engine never mutates it after the emit), the entry
    params for ``start``, error details for ``error`` and the final status for ``end``.
    """

    routine_id: str
    event_name: str
    data: Any
    timestamp: float
    kind: RecordKind = "emit"


@attrs.frozen
class ErrorRecord:
    """A handler failure: where it happened, what was raised, and the traceback text."""

    routine_id: str
    slot_name: str
    exception_type: str
    message: str
    traceback: str
    timestamp: float

    @classmethod
    def from_exception(cls, routine_id: str, slot_name: str, error: BaseException) -> ErrorRecord:
        return cls(
            routine_id=routine_id,
            slot_name=slot_name,
            exception_type=type(error).__qualname__,
            message=str(error),
            traceback="".join(traceback_module.format_exception(error)),
            timestamp=time.time(),
        )

    def __str__(self) -> str:
        return f"{self.exception_type} in {self.routine_id}.{self.slot_name}: {self.message}"


@attrs.frozen
class RoutineState:
    """Per-routine summary within one job (a snapshot).

    ``status`` is the outcome of the routine's most recent finished activation (``pending``
    before any); ``activations`` counts finished activations, ``errors`` failed ones.
    """

    status: str = "pending"
    activations: int = 0
    errors: int = 0
    skipped: int = 0
    last_error: ErrorRecord | None = None


@attrs.frozen
class PausePoint:
    """One pause of the job: when, why, and the checkpoint the caller attached."""

    timestamp: float
    reason: str
    checkpoint: Any = None


@attrs.frozen
class HeldActivation:
    """An activation held by a pause: the slot it goes to and its payload (already mapped).

    ``merged`` is True for a retry whose payload is the merged snapshot (not merged again);
    ``retries`` counts the re-runs already made.
    """

    routine_id: str
    slot_name: str
    payload: dict[str, Any]
    retries: int = 0
    merged: bool = False


@attrs.frozen
class DeferredEvent:
    """An event stored by ``emit_deferred_event``, emitted inside the job when it resumes."""

    routine_id: str
    event_name: str
    payload: dict[str, Any]


class _Counts:
    """Mutable per-routine counters of one job, guarded by the JobState lock."""

    __slots__ = ("activations", "errors", "last_error", "skipped", "status")

    def __init__(self) -> None:
        self.status = "pending"
        self.activations = 0
        self.errors = 0
        self.skipped = 0
        self.last_error: ErrorRecord | None = None

    def snapshot(self) -> RoutineState:
        return RoutineState(
            self.status, self.activations, self.errors, self.skipped, self.last_error
        )


class _HasFlowId(Protocol):
    @property
    def flow_id(self) -> str: ...


class JobState:
    """State of one job (one ``execute`` call) of a flow. Thread-safe; see the module docstring."""

    def __init__(
        self, flow_id: str, job_id: str | None = None, history_limit: int | None = None
    ) -> None:
        """``history_limit`` caps the *emit* records kept (further emits are only counted in
        :attr:`history_omitted`); start, error, pause, resume and end records are always kept.
        ``None`` keeps everything."""
        self.job_id: str = job_id or uuid.uuid4().hex
        self.flow_id: str = flow_id
        self.history_limit = history_limit
        self._emit_room = sys.maxsize if history_limit is None else history_limit
        self._omitted = 0
        self.created_at: float = time.time()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._status = JobStatus.PENDING
        self._updated_at = self.created_at
        self._error: ErrorRecord | None = None
        self._errors: list[ErrorRecord] = []
        # History entries are plain tuples (the hot path appends one per emit, without the
        # lock: list.append is atomic); ExecutionRecord objects are built when read.
        self._history: list[tuple[str, str, Any, float, RecordKind]] = []
        self._routines: dict[str, _Counts] = {}
        self._shared: dict[str, Any] = {}
        self._shared_log: list[Any] = []
        self._pause_points: list[PausePoint] = []
        self._held: list[HeldActivation] = []
        self._deferred: list[DeferredEvent] = []
        self._outputs: list[OutputRecord] = []
        self._output_handler: OutputHandler = NullOutputHandler()

    def __repr__(self) -> str:
        return f"JobState(job_id={self.job_id!r}, flow_id={self.flow_id!r}, status={self.status!r})"

    # -- reading ---------------------------------------------------------------------------

    @property
    def status(self) -> JobStatus:
        return self._status

    @property
    def updated_at(self) -> float:
        return self._updated_at

    @property
    def error(self) -> ErrorRecord | None:
        """The failure that ended the job, if it failed."""
        return self._error

    @property
    def errors(self) -> tuple[ErrorRecord, ...]:
        """Every handler failure recorded in this job, in order."""
        with self._lock:
            return tuple(self._errors)

    @property
    def is_final(self) -> bool:
        return self._status.is_final

    @property
    def execution_history(self) -> list[ExecutionRecord]:
        """A copy of the history, oldest first."""
        return self.get_execution_history()

    def get_execution_history(self, routine_id: str | None = None) -> list[ExecutionRecord]:
        entries = list(self._history)
        return [
            ExecutionRecord(*entry)
            for entry in entries
            if routine_id is None or entry[0] == routine_id
        ]

    @property
    def routine_states(self) -> dict[str, RoutineState]:
        with self._lock:
            return {rid: counts.snapshot() for rid, counts in self._routines.items()}

    def get_routine_state(self, routine_id: str) -> RoutineState | None:
        """The routine's state in this job, or ``None`` if it was never activated."""
        with self._lock:
            counts = self._routines.get(routine_id)
            return None if counts is None else counts.snapshot()

    # -- shared data -----------------------------------------------------------------------

    def update_shared_data(self, key: str, value: Any) -> None:
        with self._lock:
            self._shared[key] = value

    def get_shared_data(self, key: str, default: Any = None) -> Any:
        with self._lock:
            return self._shared.get(key, default)

    @property
    def shared_data(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._shared)

    def append_to_shared_log(self, entry: Any) -> None:
        with self._lock:
            self._shared_log.append(entry)

    @property
    def shared_log(self) -> list[Any]:
        with self._lock:
            return list(self._shared_log)

    # -- pauses, held work, outputs --------------------------------------------------------

    @property
    def pause_points(self) -> list[PausePoint]:
        """One record per pause, oldest first."""
        with self._lock:
            return list(self._pause_points)

    @property
    def held_activations(self) -> list[HeldActivation]:
        """Activations held by the current pause, in the order they were queued."""
        with self._lock:
            return list(self._held)

    @property
    def deferred_events(self) -> list[DeferredEvent]:
        """Events waiting for the next resume."""
        with self._lock:
            return list(self._deferred)

    @property
    def output_log(self) -> list[OutputRecord]:
        """Every ``send_output`` of the job, oldest first."""
        with self._lock:
            return list(self._outputs)

    def set_output_handler(self, handler: OutputHandler | None) -> None:
        """Where ``send_output`` data goes (also always kept in ``output_log``)."""
        if handler is not None and not callable(getattr(handler, "handle", None)):
            raise TypeError(
                f"output handler must have a handle(record) method, got {type(handler).__name__}"
            )
        with self._lock:
            self._output_handler = NullOutputHandler() if handler is None else handler

    def send_output(self, routine_id: str, output_type: str, data: dict[str, Any]) -> None:
        """Log an output and pass it to the output handler (called without the lock held)."""
        record = OutputRecord(self.job_id, routine_id, output_type, data, time.time())
        with self._lock:
            self._outputs.append(record)
            handler = self._output_handler
        handler.handle(record)

    # -- waiting ---------------------------------------------------------------------------

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job's status is final; False if ``timeout`` seconds passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._status.is_final, timeout)

    @staticmethod
    def wait_for_completion(
        flow: _HasFlowId, job_state: JobState, timeout: float | None = None
    ) -> bool:
        """Wait for ``job_state`` (a job of ``flow``) to reach a final status.

        Returns True as soon as it does (no polling delay), False if ``timeout`` elapsed first.
        Raises ``ValueError`` if the job belongs to another flow.
        """
        if job_state.flow_id != flow.flow_id:
            raise ValueError(
                f"job {job_state.job_id} belongs to flow {job_state.flow_id!r}, "
                f"not to flow {flow.flow_id!r}"
            )
        return job_state.wait(timeout)

    # -- engine-facing ---------------------------------------------------------------------

    def mark_running(self) -> None:
        """pending -> running (engine use)."""
        with self._lock:
            if self._status is JobStatus.PENDING:
                self._set_status(JobStatus.RUNNING)

    def mark_paused(self, point: PausePoint) -> None:
        """running -> paused, recording the pause point (engine use)."""
        with self._lock:
            if self._status.is_final:
                return
            self._pause_points.append(point)
            self._history.append(("", "pause", point, point.timestamp, "pause"))
            self._set_status(JobStatus.PAUSED)

    def mark_resumed(self) -> None:
        """paused -> running (engine use)."""
        with self._lock:
            if self._status is JobStatus.PAUSED:
                self._history.append(("", "resume", None, time.time(), "resume"))
                self._set_status(JobStatus.RUNNING)

    def hold(self, activation: HeldActivation) -> None:
        with self._lock:
            self._held.append(activation)

    def take_held(self) -> list[HeldActivation]:
        """Remove and return every held activation (engine use)."""
        with self._lock:
            held, self._held = self._held, []
            return held

    def defer(self, event: DeferredEvent) -> None:
        with self._lock:
            self._deferred.append(event)

    def take_deferred(self) -> list[DeferredEvent]:
        """Remove and return every deferred event (engine use)."""
        with self._lock:
            deferred, self._deferred = self._deferred, []
            return deferred

    def record(
        self, routine_id: str, event_name: str, data: Any, kind: RecordKind = "emit"
    ) -> None:
        """Append a history record (engine use; lock-free, ``list.append`` is atomic).

        Emit records beyond ``history_limit`` are counted instead of kept (a race may keep a
        few more than the limit, never fewer).
        """
        if kind != "emit" or self._emit_room > 0:
            if kind == "emit":
                self._emit_room -= 1
            self._history.append((routine_id, event_name, data, time.time(), kind))
        else:
            with self._lock:
                self._omitted += 1

    @property
    def history_omitted(self) -> int:
        """Emit records not kept because the history reached ``history_limit``."""
        with self._lock:
            return self._omitted

    def record_completed(self, routine_id: str) -> None:
        """Count one successful activation of ``routine_id`` (engine use; the hot path)."""
        with self._lock:
            counts = self._routines.get(routine_id)
            if counts is None:
                counts = self._routines[routine_id] = _Counts()
            counts.activations += 1
            counts.status = "completed"

    def record_activation(
        self, routine_id: str, outcome: Outcome, error: ErrorRecord | None = None
    ) -> None:
        """Count one finished activation of ``routine_id`` and its outcome (engine use)."""
        with self._lock:
            counts = self._routines.get(routine_id)
            if counts is None:
                counts = self._routines[routine_id] = _Counts()
            counts.activations += 1
            counts.status = outcome
            if outcome == "skipped":
                counts.skipped += 1
            if error is not None:
                counts.errors += 1
                counts.last_error = error
                self._errors.append(error)
                self._history.append((routine_id, "error", error, error.timestamp, "error"))

    def finish(self, status: JobStatus, error: ErrorRecord | None = None, reason: str = "") -> bool:
        """Set a final status (engine use). Returns False, changing nothing, if already final.

        The ``end`` history record carries ``error`` if given, else ``reason`` (or None).
        """
        if not status.is_final:
            raise ValueError(f"finish() needs a final status, not {status.value!r}")
        with self._lock:
            if self._status.is_final:
                return False
            self._error = error
            detail = error if error is not None else (reason or None)
            self._history.append(("", status.value, detail, time.time(), "end"))
            self._set_status(status)
            return True

    def _set_status(self, status: JobStatus) -> None:
        # Caller holds the lock.
        self._status = status
        self._updated_at = time.time()
        self._changed.notify_all()
