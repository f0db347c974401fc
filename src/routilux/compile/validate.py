"""Whole-flow validation: every problem at once, each with a stable code, location and hint.

Pure functions over the graph from :mod:`routilux.compile.graph`; nothing runs. Codes:

errors
  ``cycle``                     routines form a loop not declared with ``feedback=True``
  ``duplicate-connection``      the same event is connected to the same slot twice
  ``mapping-undeclared-param``  a ``param_mapping`` key the event does not declare
  ``mapping-collision``         a mapping sends two keys to one slot key (one would be lost)
  ``handler-param-unprovided``  a handler requires a parameter a connected event never provides
  ``param-type-mismatch``       an event declares a param's type and the handler annotates it
                                with an unrelated class
  ``no-entry``                  no routine has a ``trigger`` slot, so nothing can start the flow
  ``unknown-entry``             ``execute`` / ``validate`` named a routine the flow lacks
  ``entry-without-trigger``     the entry routine has no ``trigger`` slot, or a routine that
                                feeds others has neither a trigger slot nor any input
  ``entry-param-missing``       ``execute``'s entry_params lack a parameter the trigger handler
                                requires (checked by ``CompiledFlow.trigger``)
warnings
  ``unreachable-routine``       no path leads to it from any routine with a ``trigger`` slot
  ``unconnected-event``         an event connected to no slot (its emits go nowhere)
  ``empty-flow``                the flow has no routines
  ``data-param-gets-payload``   a handler's only parameter is ``data`` and the event sends a
                                ``data`` key: the handler gets the whole payload dict, not it
"""

from __future__ import annotations

import typing
from collections.abc import Iterator

import attrs
import networkx as nx

from routilux.binding import BindingKind, Handler, HandlerBinding
from routilux.compile.graph import (
    TRIGGER_SLOT,
    FlowGraph,
    connections_of,
    entry_candidates,
    forward_graph,
    routine_of,
    routines_of,
)
from routilux.connection import Connection
from routilux.errors import FlowValidationError, Problem


@attrs.frozen
class ValidationReport:
    """All problems of a flow, errors first, each group in a stable order."""

    flow_id: str
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    def codes(self) -> list[str]:
        return [p.code for p in self.problems]

    def raise_for_errors(self) -> None:
        """Raise :class:`FlowValidationError` listing every error, if there is any."""
        if self.errors:
            raise FlowValidationError(self.flow_id, self.errors)

    def __str__(self) -> str:
        if not self.problems:
            return f"flow {self.flow_id!r}: no problems"
        return "\n".join(str(p) for p in self.problems)


def validate_graph(flow_id: str, graph: FlowGraph) -> ValidationReport:
    """Check the whole flow graph; see the module docstring for what is checked."""
    problems = [
        *_check_connections(graph),
        *_check_cycles(graph),
        *_check_entries(graph),
        *_check_unconnected_events(graph),
    ]
    problems.sort(key=lambda p: p.severity != "error")
    return ValidationReport(flow_id, tuple(problems))


def validate_entry(flow_id: str, graph: FlowGraph, entry_id: object) -> ValidationReport:
    """Problems that make ``entry_id`` unusable as the entry of ``execute``."""
    if not isinstance(entry_id, str) or entry_id not in graph:
        known = ", ".join(repr(n) for n in graph) or "none"
        problem = Problem(
            "unknown-entry",
            "error",
            repr(entry_id),
            f"flow has no routine {entry_id!r}",
            f"routines are: {known}",
        )
        return ValidationReport(flow_id, (problem,))
    routine = routine_of(graph, entry_id)
    if TRIGGER_SLOT in routine.slots:
        return ValidationReport(flow_id, ())
    problem = Problem(
        "entry-without-trigger",
        "error",
        entry_id,
        f"entry routine {entry_id!r} ({type(routine).__name__}) has no {TRIGGER_SLOT!r} slot",
        f"define_slot({TRIGGER_SLOT!r}, handler=...) on it, or start the flow from one of: "
        + (", ".join(repr(n) for n in entry_candidates(graph)) or "no routine (none has one)"),
    )
    return ValidationReport(flow_id, (problem,))


def _check_connections(graph: FlowGraph) -> Iterator[Problem]:
    seen: set[tuple[str, str, str, str]] = set()
    for connection in connections_of(graph):
        key = (connection.source_id, connection.event, connection.target_id, connection.slot)
        if key in seen:
            yield Problem(
                "duplicate-connection",
                "error",
                connection.label,
                "this event is connected to this slot more than once; every emit would be "
                "delivered twice",
                "remove the extra flow.connect(...) call",
            )
            continue
        seen.add(key)
        yield from _check_mapping(graph, connection)


def _check_mapping(graph: FlowGraph, connection: Connection) -> Iterator[Problem]:
    source = routine_of(graph, connection.source_id)
    event = source.events[connection.event]
    mapping = connection.param_mapping
    declared = event.params
    if declared is not None:
        for key in mapping:
            if key not in declared:
                yield Problem(
                    "mapping-undeclared-param",
                    "error",
                    connection.label,
                    f"param_mapping renames {key!r}, which event {connection.event!r} does not "
                    f"declare (declared: {', '.join(declared) or 'none'})",
                    "map one of the declared params, or declare it in define_event",
                )
    arriving = [mapping.get(k, k) for k in (declared if declared is not None else mapping)]
    for name in sorted({n for n in arriving if arriving.count(n) > 1}):
        yield Problem(
            "mapping-collision",
            "error",
            connection.label,
            f"two params would arrive in slot {connection.slot!r} as {name!r}; one value would "
            "overwrite the other",
            "map each param to a distinct slot key",
        )
    if declared is None:
        return
    target = routine_of(graph, connection.target_id)
    slot = target.slots[connection.slot]
    if slot.merge.kind == "custom" or slot.binding.kind is BindingKind.NONE:
        return
    provided = set(arriving)
    if slot.binding.kind is BindingKind.DATA and "data" in provided:
        yield Problem(
            "data-param-gets-payload",
            "warning",
            connection.label,
            f"the handler of slot {connection.slot!r} has the single parameter 'data', so it "
            "receives the whole payload dict, e.g. {'data': ...}, not the value of 'data'",
            "rename the parameter (it then gets the value of the key of that name) or accept "
            "**kwargs",
        )
    for param in sorted(slot.binding.required - provided):
        yield Problem(
            "handler-param-unprovided",
            "error",
            connection.label,
            f"handler of slot {connection.slot!r} on {connection.target_id!r} requires "
            f"{param!r}, which event {connection.event!r} never provides "
            f"(it provides: {', '.join(sorted(provided)) or 'nothing'})",
            f"give {param!r} a default, declare it on the event, or map a param to it",
        )
    if event.types and slot.merge.kind == "override" and slot.handler is not None:
        yield from _check_types(connection, event.types, slot.handler, slot.binding)


def _check_types(
    connection: Connection, types: dict[str, object], handler: Handler, binding: HandlerBinding
) -> Iterator[Problem]:
    """Declared event param types against the handler's annotations, where both are plain
    classes (generics, unions and unresolvable annotations are not judged)."""
    if binding.kind not in (BindingKind.NAMED, BindingKind.SINGLE, BindingKind.KWARGS):
        return
    try:
        hints = typing.get_type_hints(handler)
    except Exception:  # annotations that do not evaluate are the handler author's business
        return
    for name, sent in types.items():
        received = hints.get(connection.param_mapping.get(name, name))
        if not (isinstance(sent, type) and isinstance(received, type)) or received is object:
            continue
        if not (issubclass(sent, received) or issubclass(received, sent)):
            arrives = connection.param_mapping.get(name, name)
            yield Problem(
                "param-type-mismatch",
                "error",
                connection.label,
                f"event {connection.event!r} declares {name!r} as {sent.__qualname__}, but the "
                f"handler of slot {connection.slot!r} on {connection.target_id!r} annotates "
                f"{arrives!r} as {received.__qualname__}",
                "make the declared type and the annotation agree, or map the param elsewhere",
            )


def _check_cycles(graph: FlowGraph) -> Iterator[Problem]:
    forward = forward_graph(graph)
    components = [
        sorted(c)
        for c in nx.strongly_connected_components(forward)
        if len(c) > 1 or forward.has_edge(next(iter(c)), next(iter(c)))
    ]
    for component in sorted(components):
        cycle = nx.find_cycle(forward.subgraph(component))
        path = " -> ".join([*(u for u, _ in cycle), cycle[0][0]])
        yield Problem(
            "cycle",
            "error",
            path,
            f"routines {', '.join(component)} form a loop; a job could run forever",
            "if the loop is intended, connect its closing edge with feedback=True "
            "(a per-job activation limit then stops a runaway loop)",
        )


def _check_entries(graph: FlowGraph) -> Iterator[Problem]:
    entries = entry_candidates(graph)
    # A routine that feeds others but that nothing feeds is where work would start: without
    # a trigger slot it never can, and neither can what depends only on it.
    stranded = [
        node
        for node, routine in routines_of(graph)
        if graph.in_degree(node) == 0
        and graph.out_degree(node) > 0
        and TRIGGER_SLOT not in routine.slots
    ]
    for node in stranded:
        yield Problem(
            "entry-without-trigger",
            "error",
            node,
            f"routine {node!r} sends to other routines but nothing connects to it and it has no "
            f"{TRIGGER_SLOT!r} slot, so it can never run",
            f"define_slot({TRIGGER_SLOT!r}, handler=...) on it, or connect an event to it",
        )
    if not len(graph):
        yield Problem(
            "empty-flow",
            "warning",
            "flow",
            "the flow has no routines, so there is nothing to execute",
            "add routines with flow.add_routine(routine, routine_id) and connect them",
        )
        return
    if not entries:
        yield Problem(
            "no-entry",
            "error",
            "flow",
            f"no routine has a {TRIGGER_SLOT!r} slot, so execute() cannot start the flow",
            f"define_slot({TRIGGER_SLOT!r}, handler=...) on the routine that starts the work",
        )
        return
    # One traversal from all entries at once (linear, however many routines can start a job).
    reachable: set[str] = set(entries)
    frontier = list(entries)
    while frontier:
        for successor in graph.successors(frontier.pop()):
            if successor not in reachable:
                reachable.add(successor)
                frontier.append(successor)
    for node in graph:
        if node not in reachable and node not in stranded:
            yield Problem(
                "unreachable-routine",
                "warning",
                node,
                f"routine {node!r} has no {TRIGGER_SLOT!r} slot and no path leads to it from "
                "one that has; it will never run",
                "connect an event to one of its slots, or remove it",
            )


def _check_unconnected_events(graph: FlowGraph) -> Iterator[Problem]:
    used = {(c.source_id, c.event) for c in connections_of(graph)}
    for node, routine in routines_of(graph):
        for name in routine.events:
            if (node, name) not in used:
                yield Problem(
                    "unconnected-event",
                    "warning",
                    f"{node}.{name}",
                    f"event {name!r} of {node!r} is connected to no slot; its emits go nowhere",
                    "connect it with flow.connect(...) if its data is needed",
                )


__all__ = ["FlowValidationError", "ValidationReport", "validate_entry", "validate_graph"]
