"""The seam between handlers and the engine: the activation running in this thread.

A handler reaches the engine only through :func:`current`: ``Routine.emit``,
``emit_deferred_event``, ``send_output``, the stat writes (``set_stat``, ``increment_stat``,
``reset_stats``) and ``get_execution_context`` look up the :class:`JobScope` of the activation
running now and call it. In-process the scope enqueues straight into the scheduler and applies
stat writes at once; an out-of-process executor can provide a scope that records emits and
:class:`~routilux.stats.StatChange` values and ships them back with the activation's result.

This module is a leaf: it imports nothing from routilux at run time (``JobState`` and the stats
types only for annotations), so builder modules (``routine.py``, ``job_state.py``) may import it
without importing the scheduler.

Guarantees: the current activation is held in a ``ContextVar``, so it is per thread (and per
asyncio task); :func:`activate` / :func:`deactivate` nest correctly (a sequential job started from
inside a handler restores the outer activation when it returns).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from routilux.job_state import JobState
    from routilux.stats import StatChange, Stats


class ExecutionContext(NamedTuple):
    """What a handler may know about where it runs: the flow, the job and its routine id."""

    flow: Any
    job_state: JobState
    routine_id: str


class JobScope(Protocol):
    """What the engine offers the handlers of one job."""

    @property
    def flow(self) -> Any: ...

    @property
    def job_state(self) -> JobState: ...

    def emit(self, routine: object, event_name: str, payload: dict[str, Any]) -> None:
        """Route ``payload`` from ``routine``'s event ``event_name`` within this job."""
        ...

    def defer(self, routine: object, event_name: str, payload: dict[str, Any]) -> None:
        """Store an emit to be made inside this job when it is resumed."""
        ...

    def send_output(self, routine: object, output_type: str, data: dict[str, Any]) -> None:
        """Record an output of ``routine`` and pass it to the job's output handler."""
        ...

    def change_stats(self, stats: Stats, change: StatChange) -> Any:
        """Apply a handler's write ``change`` to a routine's ``stats``; return its result."""
        ...


Active = tuple[JobScope, str]

_current: ContextVar[Active | None] = ContextVar("routilux_activation", default=None)


#: ``current() -> (scope, routine_id) | None``: the activation running in this context.
current: Callable[[], Active | None] = _current.get

#: ``activate((scope, routine_id)) -> token``: enter an activation (the runtime's hot path).
activate: Callable[[Active], Token[Active | None]] = _current.set

#: ``deactivate(token)``: leave the activation entered with ``token``.
deactivate: Callable[[Token[Active | None]], None] = _current.reset


def execution_context() -> ExecutionContext | None:
    active = _current.get()
    if active is None:
        return None
    scope, routine_id = active
    return ExecutionContext(scope.flow, scope.job_state, routine_id)
