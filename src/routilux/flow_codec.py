"""The ``routilux/flow`` format: a flow's structure as plain JSON, and back.

Routines are saved by registered type name with their config, stats, slots (merge strategy and
handler reference), events (declared params) and error policy; connections by source routine id,
event, target routine id, slot and mapping, so wiring is exact however many routines share the
names ``input``/``output``. Loading resolves every name through :mod:`routilux.registry` only
and builds routines by calling their registered class with no arguments.

Handlers are saved as references: ``{"method": name}`` for a method of the routine's own class,
``{"callable": name}`` for a registered function. Anything else (a lambda, a nested function, a
method of another object) is refused at save time, never silently dropped.
"""

from __future__ import annotations

import inspect
from typing import Any

import attrs

from routilux.binding import Handler
from routilux.connection import Connection
from routilux.error_handler import ErrorHandler
from routilux.errors import SerializationError
from routilux.merge import MergeSpec
from routilux.registry import (
    callable_name,
    exception_name,
    lookup_callable,
    lookup_exception,
    routine_class,
    routine_type_name,
)
from routilux.routine import Routine
from routilux.serialization import FORMAT_VERSION, Reader, check_header, check_json
from routilux.slot import Slot

FLOW_FORMAT = "routilux/flow"
STRATEGY_NAMES = ("sequential", "concurrent")


@attrs.frozen
class FlowParts:
    """Everything needed to rebuild a flow, decoded and checked."""

    flow_id: str
    execution_strategy: str
    max_workers: int
    execution_timeout: float | None
    max_activations: int | None
    history_limit: int | None
    error_handler: ErrorHandler | None
    routines: dict[str, Routine]
    connections: list[Connection]


# -- encoding --------------------------------------------------------------------------------


def encode_flow(parts: FlowParts) -> dict[str, Any]:
    document = {
        "format": FLOW_FORMAT,
        "version": FORMAT_VERSION,
        "flow_id": parts.flow_id,
        "execution_strategy": parts.execution_strategy,
        "max_workers": parts.max_workers,
        "execution_timeout": parts.execution_timeout,
        "max_activations": parts.max_activations,
        "history_limit": parts.history_limit,
        "error_handler": encode_policy(parts.error_handler),
        "routines": [encode_routine(rid, r) for rid, r in parts.routines.items()],
        "connections": [
            {
                "source": c.source_id,
                "event": c.event,
                "target": c.target_id,
                "slot": c.slot,
                "param_mapping": dict(c.param_mapping),
                "feedback": c.feedback,
            }
            for c in parts.connections
        ],
    }
    check_json(document, "flow")
    return document


def encode_routine(routine_id: str, routine: Routine) -> dict[str, Any]:
    where = f"routine {routine_id!r}"
    config = routine.config()
    for key, value in config.items():
        check_json(value, f"config of {where}, key {key!r}")
    stats = routine.stats()
    for key, value in stats.items():
        check_json(value, f"stats of {where}, key {key!r}")
    return {
        "id": routine_id,
        "type": routine_type_name(routine),
        "config": config,
        "stats": stats,
        "slots": [_encode_slot(routine, slot, where) for slot in routine.slots.values()],
        "events": [
            {"name": e.name, "params": None if e.params is None else list(e.params)}
            for e in routine.events.values()
        ],
        "error_handler": encode_policy(routine.get_error_handler()),
    }


def _encode_slot(routine: Routine, slot: Slot, where: str) -> dict[str, Any]:
    label = f"slot {slot.name!r} of {where}"
    merge: Any = slot.merge.kind
    if slot.merge.function is not None:
        merge = {"callable": callable_name(slot.merge.function, f"merge strategy of {label}")}
    return {
        "name": slot.name,
        "merge": merge,
        "handler": _encode_handler(routine, slot.handler, label),
    }


def _encode_handler(routine: Routine, handler: Handler | None, label: str) -> Any:
    if handler is None:
        return None
    function = getattr(handler, "__func__", None)
    name = getattr(handler, "__name__", "")
    if (
        getattr(handler, "__self__", None) is routine
        and function is not None
        and inspect.getattr_static(type(routine), name, None) is function
    ):
        return {"method": name}
    return {"callable": callable_name(handler, f"handler of {label}")}


def encode_policy(policy: ErrorHandler | None) -> dict[str, Any] | None:
    if policy is None:
        return None
    return {
        "strategy": policy.strategy.value,
        "max_retries": policy.max_retries,
        "retry_delay": policy.retry_delay,
        "retry_backoff": policy.retry_backoff,
        "retryable_exceptions": [exception_name(e) for e in policy.retryable_exceptions],
        "is_critical": policy.is_critical,
    }


# -- decoding --------------------------------------------------------------------------------


def decode_flow(reader: Reader) -> FlowParts:
    """Decode and check a flow document. Builds routines (registered classes only)."""
    check_header(reader, FLOW_FORMAT)
    strategy = reader.get("execution_strategy", str)
    if strategy not in STRATEGY_NAMES:
        raise SerializationError(
            f"flow.execution_strategy must be one of {', '.join(STRATEGY_NAMES)}, not {strategy!r}"
        )
    routines: dict[str, Routine] = {}
    for item in reader.items("routines"):
        routine_id, routine = decode_routine(item)
        if routine_id in routines:
            raise SerializationError(f"{item.path}: duplicate routine id {routine_id!r}")
        routines[routine_id] = routine
    parts = FlowParts(
        flow_id=reader.get("flow_id", str),
        execution_strategy=strategy,
        max_workers=reader.get("max_workers", int),
        execution_timeout=reader.optional("execution_timeout", float),
        max_activations=reader.optional("max_activations", int),
        history_limit=reader.optional("history_limit", int),
        error_handler=_decode_policy(reader, "error_handler"),
        routines=routines,
        connections=[_decode_connection(item) for item in reader.items("connections")],
    )
    reader.done()
    return parts


def _decode_connection(reader: Reader) -> Connection:
    mapping = reader.get("param_mapping", dict)
    for key, value in mapping.items():
        if not isinstance(value, str):
            raise SerializationError(f"{reader.path}.param_mapping.{key} must be a string")
    connection = Connection(
        reader.get("source", str),
        reader.get("event", str),
        reader.get("target", str),
        reader.get("slot", str),
        mapping,
        reader.get("feedback", bool),
    )
    reader.done()
    return connection


def _decode_policy(reader: Reader, key: str) -> ErrorHandler | None:
    data = reader.optional(key, dict)
    if data is None:
        return None
    policy = Reader(data, f"{reader.path}.{key}")
    try:
        handler = ErrorHandler(
            strategy=policy.get("strategy", str),
            max_retries=policy.get("max_retries", int),
            retry_delay=policy.get("retry_delay", float),
            retry_backoff=policy.get("retry_backoff", float),
            retryable_exceptions=tuple(
                lookup_exception(_string(name, policy.path))
                for name in policy.get("retryable_exceptions", list)
            ),
            is_critical=policy.get("is_critical", bool),
        )
    except (TypeError, ValueError) as error:
        if isinstance(error, SerializationError):
            raise
        raise SerializationError(f"{policy.path}: {error}") from None
    policy.done()
    return handler


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise SerializationError(f"{path}: expected a string, got {type(value).__name__}")
    return value


def decode_routine(reader: Reader) -> tuple[str, Routine]:
    routine_id = reader.get("id", str)
    cls = routine_class(reader.get("type", str))
    routine = cls()
    where = f"routine {routine_id!r} ({cls.__qualname__})"
    for item in reader.items("slots"):
        _restore_slot(routine, item, where)
    for item in reader.items("events"):
        _restore_event(routine, item, where)
    config = reader.get("config", dict)
    routine.set_config(**config)
    routine.reset_stats()
    for key, value in reader.get("stats", dict).items():
        routine.set_stat(key, value)
    routine.set_error_handler(_decode_policy(reader, "error_handler"))
    reader.done()
    return routine_id, routine


def _restore_slot(routine: Routine, reader: Reader, where: str) -> None:
    name = reader.get("name", str)
    label = f"slot {name!r} of {where}"
    merge = _decode_merge(reader.get("merge", (str, dict)), f"{reader.path}.merge")
    handler_ref = reader.optional("handler", dict)
    reader.done()
    existing = routine.get_slot(name)
    if existing is None:
        handler = (
            None
            if handler_ref is None
            else _decode_handler(routine, Reader(handler_ref, f"{reader.path}.handler"), label)
        )
        routine.define_slot(name, handler=handler, merge_strategy=merge)
        return
    expected = (
        existing.merge.function if existing.merge.function is not None else existing.merge.kind
    )
    if expected != merge:
        raise SerializationError(
            f"{label}: saved merge strategy differs from the one the class defines now "
            "(the class changed since the flow was saved)"
        )
    saved_handler = (
        None
        if handler_ref is None
        else _decode_handler(routine, Reader(handler_ref, f"{reader.path}.handler"), label)
    )
    if saved_handler != existing.handler:
        raise SerializationError(
            f"{label}: saved handler differs from the one the class defines now "
            "(the class changed since the flow was saved)"
        )


def _decode_merge(value: Any, path: str) -> MergeSpec:
    if value in ("override", "append"):
        return value  # type: ignore[no-any-return]
    if isinstance(value, dict):
        ref = Reader(value, path)
        fn = lookup_callable(ref.get("callable", str), path)
        ref.done()
        return fn
    raise SerializationError(f"{path} must be 'override', 'append' or {{'callable': name}}")


def _decode_handler(routine: Routine, reader: Reader, label: str) -> Handler:
    method = reader.optional("method", str)
    registered = reader.optional("callable", str)
    reader.done()
    if (method is None) == (registered is None):
        raise SerializationError(f"{reader.path} must name exactly one of 'method' or 'callable'")
    if registered is not None:
        return lookup_callable(registered, f"handler of {label}")
    assert method is not None
    if not inspect.isfunction(inspect.getattr_static(type(routine), method, None)):
        raise SerializationError(
            f"handler of {label} names method {method!r}, which {type(routine).__qualname__} "
            "does not define"
        )
    handler: Handler = getattr(routine, method)
    return handler


def _restore_event(routine: Routine, reader: Reader, where: str) -> None:
    name = reader.get("name", str)
    params = reader.optional("params", list)
    reader.done()
    if params is not None and not all(isinstance(p, str) for p in params):
        raise SerializationError(f"{reader.path}.params must be a list of strings")
    existing = routine.get_event(name)
    if existing is None:
        routine.define_event(name, params)
    elif existing.params != (None if params is None else tuple(params)):
        raise SerializationError(
            f"event {name!r} of {where}: saved params differ from the ones the class declares "
            "now (the class changed since the flow was saved)"
        )
