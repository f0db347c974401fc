"""Routine: the unit users write. Slots in, events out, config and stats alongside.

A subclass calls ``super().__init__()`` with no arguments, then defines its slots and events.
The base class keeps its own state under name-mangled attributes so a subclass may freely use
``self._lock`` and similar names; ``self._config`` is the configuration dict (older code writes
to it directly, which keeps working).

Guarantees: ``define_slot`` / ``define_event`` are builder calls (not meant to race with
``execute``); stats are atomic under one lock per instance and shared by every job of every
flow the routine is in; configuration is read-mostly (``set_config`` replaces keys, readers get
copies of the whole dict).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from routilux.binding import BindingKind, Handler, HandlerBinding, analyse
from routilux.checks import check_str
from routilux.error_handler import ErrorHandler, ErrorStrategy
from routilux.errors import NotInJobError
from routilux.event import Event
from routilux.merge import MergeSpec, resolve
from routilux.runtime import context
from routilux.slot import Slot
from routilux.stats import StatChange, Stats

_NO_HANDLER = HandlerBinding(BindingKind.NONE)


class Routine:
    """Base class of every routine. See the module docstring for thread-safety."""

    def __init__(self) -> None:
        self._config: dict[str, Any] = {}
        self.__stats = Stats()
        self.__slots: dict[str, Slot] = {}
        self.__events: dict[str, Event] = {}
        self.__error_handler: ErrorHandler | None = None
        self.__revision = 0

    # -- structure -------------------------------------------------------------------------

    def define_slot(
        self,
        name: str,
        handler: Handler | None = None,
        merge_strategy: MergeSpec = "override",
    ) -> Slot:
        """Declare an input slot. The handler's signature is analysed here, once.

        Raises ``ValueError`` for a duplicate or empty name or an unknown merge strategy, and
        ``TypeError`` for a handler that is not callable.
        """
        _check_name(name, "slot", type(self).__name__)
        if name in self.__slots:
            raise ValueError(f"{type(self).__name__} already has a slot named {name!r}")
        where = f"slot {name!r} of {type(self).__name__}"
        merge = resolve(merge_strategy, where=where)
        binding = _NO_HANDLER if handler is None else analyse(handler, where=where)
        slot = Slot(name, self, handler, binding, merge)
        self.__slots[name] = slot
        self.__revision += 1
        return slot

    def define_event(
        self, name: str, output_params: Iterable[str] | Mapping[str, object] | None = None
    ) -> Event:
        """Declare an output event with its parameter names (a list, or a name -> type mapping).

        With declared params, emitting an undeclared key is an error; ``None`` declares nothing.
        """
        _check_name(name, "event", type(self).__name__)
        if name in self.__events:
            raise ValueError(f"{type(self).__name__} already has an event named {name!r}")
        params: tuple[str, ...] | None
        types: dict[str, object] = {}
        if output_params is None:
            params = None
        elif isinstance(output_params, str):
            raise TypeError(
                f"output_params of event {name!r} must be a list of names, not the string "
                f"{output_params!r}; write [{output_params!r}]"
            )
        elif isinstance(output_params, Mapping):
            types = dict(output_params)
            params = tuple(types)
        elif isinstance(output_params, Iterable):
            params = tuple(output_params)
        else:
            raise TypeError(
                f"output_params of event {name!r} must be a list of names or a name -> type "
                f"mapping, not {type(output_params).__name__}"
            )
        for param in params or ():
            _check_name(param, f"parameter of event {name!r}", type(self).__name__)
        if params is not None and len(set(params)) != len(params):
            raise ValueError(f"event {name!r} declares a parameter twice: {list(params)}")
        event = Event(name, self, params, types)
        self.__events[name] = event
        self.__revision += 1
        return event

    @property
    def slots(self) -> Mapping[str, Slot]:
        """Read-only view of the slots by name."""
        return MappingProxyType(self.__slots)

    @property
    def events(self) -> Mapping[str, Event]:
        """Read-only view of the events by name."""
        return MappingProxyType(self.__events)

    def get_slot(self, name: str) -> Slot | None:
        return self.__slots.get(name)

    def get_event(self, name: str) -> Event | None:
        return self.__events.get(name)

    @property
    def revision(self) -> int:
        """Increases whenever a slot, event or error handler is defined (flows then recompile;
        jobs already running keep the plan they started with)."""
        return self.__revision

    # -- running ---------------------------------------------------------------------------

    def emit(self, event_name: str, flow: object = None, **payload: Any) -> None:
        """Emit ``event_name`` with ``payload`` inside the running job.

        One activation per connected slot is queued and the call returns without waiting.
        ``flow`` is accepted and ignored (older code passes it). Raises ``ValueError`` for an
        unknown event, :class:`~routilux.errors.EventPayloadError` for an undeclared key and
        :class:`~routilux.errors.NotInJobError` outside any job.
        """
        active = context.current()
        if active is None:
            if event_name not in self.__events:
                raise ValueError(self._unknown_event_message(event_name))
            raise NotInJobError(
                f"{type(self).__name__}.emit({event_name!r}) was called outside a running job; "
                "add the routine to a Flow and start it with flow.execute(routine_id), "
                "then emit from one of its slot handlers"
            )
        active[0].emit(self, event_name, payload)

    def emit_deferred_event(self, event_name: str, **payload: Any) -> None:
        """Store an emit on the running job; it is made, inside that job, when the job is
        resumed after a pause (never if the job is not paused and resumed)."""
        self._scope(f"emit_deferred_event({event_name!r})").defer(self, event_name, payload)

    def send_output(self, output_type: str, **data: Any) -> None:
        """Send ``data`` to the running job's output handler and ``output_log``."""
        self._scope(f"send_output({output_type!r})").send_output(self, output_type, data)

    def _scope(self, call: str) -> context.JobScope:
        active = context.current()
        if active is None:
            raise NotInJobError(
                f"{type(self).__name__}.{call} was called outside a running job; call it from "
                "one of the routine's slot handlers while the flow executes"
            )
        return active[0]

    def _unknown_event_message(self, event_name: str) -> str:
        known = ", ".join(repr(n) for n in self.__events) or "none"
        return (
            f"{type(self).__name__} has no event named {event_name!r}; "
            f"defined events: {known} (declare it with define_event)"
        )

    def get_execution_context(self) -> context.ExecutionContext | None:
        """``(flow, job_state, routine_id)`` of the activation running now, else ``None``."""
        return context.execution_context()

    # -- configuration ---------------------------------------------------------------------

    def set_config(self, **config: Any) -> None:
        self._config.update(config)

    def get_config(self, key: str, default: Any = None) -> Any:
        return self._config.get(key, default)

    def config(self) -> dict[str, Any]:
        """A copy of the configuration."""
        return dict(self._config)

    # -- statistics ------------------------------------------------------------------------

    def set_stat(self, key: str, value: Any) -> None:
        self._change_stats(StatChange("set", check_str(key, "stat key"), value))

    def get_stat(self, key: str, default: Any = None) -> Any:
        return self.__stats.get(key, default)

    def increment_stat(self, key: str, amount: int | float = 1) -> int | float:
        """Atomically add ``amount`` to stat ``key`` and return the new value."""
        if isinstance(amount, bool) or not isinstance(amount, (int, float)):
            raise TypeError(f"increment_stat amount must be an int or float, got {amount!r}")
        new_value: int | float = self._change_stats(
            StatChange("increment", check_str(key, "stat key"), amount)
        )
        return new_value

    def reset_stats(self, keys: Iterable[str] | None = None) -> None:
        """Remove ``keys`` (every stat when None)."""
        if isinstance(keys, str):
            raise TypeError(
                f"reset_stats expects stat keys, not the string {keys!r}; write [{keys!r}]"
            )
        self._change_stats(StatChange("reset", "", None if keys is None else tuple(keys)))

    def _change_stats(self, change: StatChange) -> Any:
        # Inside a handler, writes go through the job's scope (the engine seam); outside any
        # job they apply here at once.
        active = context.current()
        if active is None:
            return change.apply(self.__stats)
        return active[0].change_stats(self.__stats, change)

    def stats(self) -> dict[str, Any]:
        """A deep snapshot of all stats."""
        return self.__stats.snapshot()

    # -- error policy ----------------------------------------------------------------------

    def set_error_handler(self, handler: ErrorHandler | None) -> None:
        if handler is not None and not isinstance(handler, ErrorHandler):
            raise TypeError(f"expected an ErrorHandler or None, got {type(handler).__name__}")
        self.__error_handler = handler
        self.__revision += 1  # compiled plans resolve policies; jobs started later use this one

    def get_error_handler(self) -> ErrorHandler | None:
        return self.__error_handler

    def set_as_optional(self, strategy: ErrorStrategy | str = ErrorStrategy.CONTINUE) -> None:
        """Failures of this routine are recorded and the job goes on (CONTINUE or SKIP)."""
        self.set_error_handler(ErrorHandler(strategy=strategy))

    def set_as_critical(
        self, max_retries: int = 3, retry_delay: float = 1.0, retry_backoff: float = 2.0
    ) -> None:
        """Failures are retried; when retries are exhausted the job fails."""
        self.set_error_handler(
            ErrorHandler(
                strategy=ErrorStrategy.RETRY,
                max_retries=max_retries,
                retry_delay=retry_delay,
                retry_backoff=retry_backoff,
                is_critical=True,
            )
        )


def _check_name(name: object, what: str, owner: str) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"{what} name on {owner} must be a non-empty string, got {name!r}")
