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

import copy
import enum
import sys
import threading
import time
import traceback as traceback_module
import uuid
from collections.abc import Callable
from typing import Any, Literal, Protocol

import attrs

from routilux.checks import check_timeout
from routilux.errors import SerializationError
from routilux.output import NullOutputHandler, OutputHandler, OutputRecord
from routilux.runtime import context
from routilux.serialization import (
    FORMAT_VERSION,
    Reader,
    check_header,
    check_json,
    dumps,
    guarded,
    loads,
    read_text,
    write_atomic,
)

JOB_FORMAT = "routilux/job"

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


@attrs.frozen
class JobStatistics:
    """A job's activation accounting (a consistent snapshot).

    ``emitted``: activations created by emits and the trigger; ``retried``: re-runs scheduled by
    RETRY; ``restored``: held activations taken over from saved data. Each of them ends as
    ``delivered`` (its slot received it: merged and handler called), ``dropped`` (the job had
    stopped, or the activation limit was hit), ``held`` (by a pause) or is still ``pending``
    (queued, running or waiting for its retry). Invariant::

        emitted + retried + restored == delivered + dropped + held + pending
    """

    emitted: int = 0
    retried: int = 0
    restored: int = 0
    delivered: int = 0
    held: int = 0
    dropped: int = 0
    pending: int = 0

    @property
    def balanced(self) -> bool:
        """Whether the invariant holds."""
        inflow = self.emitted + self.retried + self.restored
        return inflow == self.delivered + self.dropped + self.held + self.pending


class MergeCell:
    """One slot's merge state within one job, with the lock its merges run under."""

    __slots__ = ("lock", "state")

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        self.lock = threading.Lock()
        self.state = state


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
        self._merge: dict[str, MergeCell] = {}
        self._statistics: Callable[[], JobStatistics] | None = None

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

    def statistics(self) -> JobStatistics:
        """This job's activation accounting, live while it runs in this process (a loaded
        job reports only its held activations until a flow takes it over)."""
        provider = self._statistics
        if provider is None:
            return JobStatistics(held=len(self.held_activations))
        return provider()

    def attach_statistics(self, provider: Callable[[], JobStatistics]) -> None:
        """Engine use: the runtime of this job reports its accounting through ``provider``."""
        self._statistics = provider

    def merge_cell(self, slot_label: str) -> MergeCell:
        """The merge state of slot ``routine_id.slot`` in this job, created empty on first use
        (engine use; ``dict.setdefault`` makes creation race-free)."""
        cell = self._merge.get(slot_label)
        if cell is None:
            cell = self._merge.setdefault(slot_label, MergeCell())
        return cell

    @property
    def merge_state(self) -> dict[str, Any]:
        """A snapshot of every slot's merge state in this job, by ``routine_id.slot``."""
        snapshot = {}
        for label, cell in list(self._merge.items()):
            with cell.lock:
                snapshot[label] = copy.deepcopy(cell.state)
        return snapshot

    # -- waiting ---------------------------------------------------------------------------

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job's status is final; False if ``timeout`` seconds passed first.

        Raises ``RuntimeError`` when called from one of this job's own handlers (the job cannot
        finish while that handler waits), and ``ValueError`` for a negative or non-numeric
        ``timeout``.
        """
        timeout = check_timeout(timeout, "timeout")
        active = context.current()
        if active is not None and active[0].job_state is self:
            raise RuntimeError(
                f"job {self.job_id} was awaited from one of its own handlers; it cannot finish "
                "while that handler waits. Wait from outside the job's handlers"
            )
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
        if not isinstance(job_state, JobState):
            raise TypeError(f"job_state must be a JobState, got {type(job_state).__name__}")
        flow_id = getattr(flow, "flow_id", None)
        if not isinstance(flow_id, str):
            raise TypeError(f"flow must be the job's Flow, got {type(flow).__name__}")
        if job_state.flow_id != flow_id:
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
        if kind == "emit":
            self.record_emit(routine_id, event_name, data)
        else:
            self._history.append((routine_id, event_name, data, time.time(), kind))

    def record_emit(self, routine_id: str, event_name: str, data: Any) -> None:
        """:meth:`record` of an emit (engine use; the hot path)."""
        if self._emit_room > 0:
            self._emit_room -= 1
            self._history.append((routine_id, event_name, data, time.time(), "emit"))
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

    # -- persistence -----------------------------------------------------------------------

    def serialize(self) -> dict[str, Any]:
        """The job as plain JSON data (format ``routilux/job``, versioned).

        Includes status, errors, routine states, history, pause points, held activations,
        deferred events, per-slot merge state, shared data and the output log, so a paused job
        can be resumed in another process. The output handler is not saved (it is a live
        object). Raises SerializationError naming the routine and key of any value that is not
        JSON-representable.
        """
        with self._lock:
            document: dict[str, Any] = {
                "format": JOB_FORMAT,
                "version": FORMAT_VERSION,
                "job_id": self.job_id,
                "flow_id": self.flow_id,
                "status": self._status.value,
                "created_at": self.created_at,
                "updated_at": self._updated_at,
                "history_limit": self.history_limit,
                "history_omitted": self._omitted,
                "error": None if self._error is None else _encode_error(self._error),
                "errors": [_encode_error(e) for e in self._errors],
                "routine_states": {
                    rid: _encode_counts(counts) for rid, counts in self._routines.items()
                },
                "history": [_encode_entry(entry) for entry in list(self._history)],
                "pause_points": [_encode_pause(p) for p in self._pause_points],
                "held": [attrs.asdict(h) for h in self._held],
                "deferred": [attrs.asdict(d) for d in self._deferred],
                "shared_data": dict(self._shared),
                "shared_log": list(self._shared_log),
                "output_log": [
                    {k: v for k, v in attrs.asdict(r).items() if k != "job_id"}
                    for r in self._outputs
                ],
            }
        document["merge_state"] = self.merge_state
        _check_document(document)
        return document

    @classmethod
    def deserialize(cls, data: Any) -> JobState:
        """Rebuild a job from :meth:`serialize` data. Raises SerializationError (a ValueError)
        for malformed, wrong-version or hostile data; nothing is half-built."""
        return guarded("job data", lambda: _decode_job(cls, Reader(data, "job")))

    def save(self, path: str) -> None:
        """Write :meth:`serialize` as JSON to ``path`` atomically (temporary file + rename)."""
        write_atomic(path, dumps(self.serialize()))

    @classmethod
    def load(cls, path: str) -> JobState:
        """Read a job saved with :meth:`save`. Raises SerializationError on any bad file."""
        return cls.deserialize(loads(read_text(path, "job file"), f"job file {path}"))

    def _restore(self, reader: Reader) -> None:
        # Called once on a fresh instance by _decode_job, before anyone else can see it.
        self.created_at = reader.get("created_at", float)
        self._updated_at = reader.get("updated_at", float)
        self._omitted = reader.get("history_omitted", int)
        error = reader.optional("error", dict)
        self._error = None if error is None else _decode_error(Reader(error, "job.error"))
        self._errors = [_decode_error(r) for r in reader.items("errors")]
        self._routines = {
            rid: _decode_counts(Reader(value, f"job.routine_states.{rid}"))
            for rid, value in reader.get("routine_states", dict).items()
        }
        self._history = [_decode_entry(r) for r in reader.items("history")]
        self._pause_points = [_decode_pause(r) for r in reader.items("pause_points")]
        self._held = [_decode_held(r) for r in reader.items("held")]
        self._deferred = [_decode_deferred(r) for r in reader.items("deferred")]
        self._merge = {
            label: MergeCell(_optional_dict(state, f"job.merge_state.{label}"))
            for label, state in reader.get("merge_state", dict).items()
        }
        self._shared = reader.get("shared_data", dict)
        self._shared_log = reader.get("shared_log", list)
        self._outputs = [_decode_output(self.job_id, r) for r in reader.items("output_log")]


# -- the routilux/job format ------------------------------------------------------------------


def _check_document(document: dict[str, Any]) -> None:
    """check_json with messages that name the routine and key where one is known."""
    for index, held in enumerate(document["held"]):
        check_json(
            held["payload"],
            f"held activation {index} for {held['routine_id']}.{held['slot_name']}: payload",
        )
    for deferred in document["deferred"]:
        check_json(
            deferred["payload"],
            f"deferred event {deferred['event_name']!r} of routine {deferred['routine_id']!r}: "
            "payload",
        )
    for label, state in document["merge_state"].items():
        check_json(state, f"merge state of slot {label}")
    for entry in document["history"]:
        check_json(
            entry["data"],
            f"history: {entry['kind']} {entry['event_name']!r} of routine "
            f"{entry['routine_id']!r}: data",
        )
    for record in document["output_log"]:
        check_json(
            record["data"],
            f"output {record['output_type']!r} of routine {record['routine_id']!r}: data",
        )
    check_json(document["shared_data"], "shared_data")
    check_json(document["shared_log"], "shared_log")
    check_json(document, "job")


def _encode_error(error: ErrorRecord) -> dict[str, Any]:
    return attrs.asdict(error)


def _decode_error(reader: Reader) -> ErrorRecord:
    record = ErrorRecord(
        routine_id=reader.get("routine_id", str),
        slot_name=reader.get("slot_name", str),
        exception_type=reader.get("exception_type", str),
        message=reader.get("message", str),
        traceback=reader.get("traceback", str),
        timestamp=reader.get("timestamp", float),
    )
    reader.done()
    return record


def _encode_pause(point: PausePoint) -> dict[str, Any]:
    return {"timestamp": point.timestamp, "reason": point.reason, "checkpoint": point.checkpoint}


def _decode_pause(reader: Reader) -> PausePoint:
    point = PausePoint(
        reader.get("timestamp", float),
        reader.get("reason", str),
        reader.optional("checkpoint", object),
    )
    reader.done()
    return point


def _encode_counts(counts: _Counts) -> dict[str, Any]:
    return {
        "status": counts.status,
        "activations": counts.activations,
        "errors": counts.errors,
        "skipped": counts.skipped,
        "last_error": None if counts.last_error is None else _encode_error(counts.last_error),
    }


def _decode_counts(reader: Reader) -> _Counts:
    counts = _Counts()
    counts.status = reader.get("status", str)
    counts.activations = reader.get("activations", int)
    counts.errors = reader.get("errors", int)
    counts.skipped = reader.get("skipped", int)
    last = reader.optional("last_error", dict)
    counts.last_error = (
        None if last is None else _decode_error(Reader(last, f"{reader.path}.last_error"))
    )
    reader.done()
    return counts


_KINDS: frozenset[str] = frozenset({"start", "emit", "error", "pause", "resume", "end"})


def _encode_entry(entry: tuple[str, str, Any, float, RecordKind]) -> dict[str, Any]:
    routine_id, event_name, data, timestamp, kind = entry
    if kind == "error":
        data = _encode_error(data)
    elif kind == "pause":
        data = _encode_pause(data)
    elif kind == "end":
        data = {
            "error": _encode_error(data) if isinstance(data, ErrorRecord) else None,
            "reason": data if isinstance(data, str) else None,
        }
    return {
        "routine_id": routine_id,
        "event_name": event_name,
        "kind": kind,
        "timestamp": timestamp,
        "data": data,
    }


def _decode_entry(reader: Reader) -> tuple[str, str, Any, float, RecordKind]:
    kind = reader.get("kind", str)
    if kind not in _KINDS:
        raise SerializationError(f"{reader.path}.kind: unknown record kind {kind!r}")
    data = reader.optional("data", object)
    if kind == "error":
        data = _decode_error(Reader(data, f"{reader.path}.data"))
    elif kind == "pause":
        data = _decode_pause(Reader(data, f"{reader.path}.data"))
    elif kind == "end":
        end = Reader(data, f"{reader.path}.data")
        error = end.optional("error", dict)
        reason = end.optional("reason", str)
        end.done()
        data = _decode_error(Reader(error, f"{end.path}.error")) if error is not None else reason
    entry = (
        reader.get("routine_id", str),
        reader.get("event_name", str),
        data,
        reader.get("timestamp", float),
        kind,
    )
    reader.done()
    return entry  # type: ignore[return-value]


def _decode_held(reader: Reader) -> HeldActivation:
    held = HeldActivation(
        routine_id=reader.get("routine_id", str),
        slot_name=reader.get("slot_name", str),
        payload=reader.get("payload", dict),
        retries=reader.get("retries", int),
        merged=reader.get("merged", bool),
    )
    reader.done()
    return held


def _decode_deferred(reader: Reader) -> DeferredEvent:
    deferred = DeferredEvent(
        routine_id=reader.get("routine_id", str),
        event_name=reader.get("event_name", str),
        payload=reader.get("payload", dict),
    )
    reader.done()
    return deferred


def _decode_output(job_id: str, reader: Reader) -> OutputRecord:
    record = OutputRecord(
        job_id=job_id,
        routine_id=reader.get("routine_id", str),
        output_type=reader.get("output_type", str),
        data=reader.get("data", dict),
        timestamp=reader.get("timestamp", float),
    )
    reader.done()
    return record


def _optional_dict(value: Any, path: str) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        raise SerializationError(f"{path} must be an object or null")
    return value


def _decode_job(cls: type[JobState], reader: Reader) -> JobState:
    check_header(reader, JOB_FORMAT)
    try:
        status = JobStatus(reader.get("status", str))
    except ValueError:
        valid = ", ".join(s.value for s in JobStatus)
        raise SerializationError(f"job.status must be one of {valid}") from None
    history_limit = reader.optional("history_limit", int)
    if history_limit is not None and history_limit < 0:
        raise SerializationError("job.history_limit must be >= 0 or null")
    job = cls(reader.get("flow_id", str), reader.get("job_id", str), history_limit)
    job._restore(reader)
    reader.done()
    job._status = status
    if history_limit is not None:
        emits = sum(1 for entry in job._history if entry[4] == "emit")
        job._emit_room = max(0, history_limit - emits)
    return job
