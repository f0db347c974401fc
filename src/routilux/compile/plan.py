"""CompiledFlow: the frozen plan the runtime executes.

Built by :func:`compile_flow` after validation passed. It holds only plain dict/tuple tables for
the hot path (routes by routine and event name, trigger targets by routine id, bound handler
invokers), plus the graph and report for tools. Nothing in it changes after construction, so any
number of jobs and threads may read it without locks; a flow that changes is compiled anew.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import attrs

from routilux.binding import BindingKind, Invoker, Payload
from routilux.compile.graph import TRIGGER_SLOT, FlowGraph, build_graph
from routilux.compile.validate import ValidationReport, validate_entry, validate_graph
from routilux.connection import Connection
from routilux.error_handler import STOP_POLICY, ErrorHandler, ErrorStrategy
from routilux.errors import EventPayloadError, FlowValidationError, Problem
from routilux.merge import MergeStrategy
from routilux.routine import Routine


@attrs.frozen(eq=False)
class Target:
    """A slot that receives deliveries: where, how the payload is renamed, how it is merged."""

    routine_id: str
    slot_name: str
    routine: Routine = attrs.field(repr=False)
    mapping: Mapping[str, str] | None
    invoke: Invoker | None = attrs.field(repr=False)
    merge: MergeStrategy
    policy: ErrorHandler = attrs.field(repr=False)
    owns_payload: bool = False
    label: str = attrs.field(init=False)
    stateful: bool = attrs.field(init=False)
    retries: bool = attrs.field(init=False)
    shares_payload: bool = attrs.field(init=False)

    @label.default
    def _label(self) -> str:
        return f"{self.routine_id}.{self.slot_name}"

    @stateful.default
    def _stateful(self) -> bool:
        return self.merge.stateful

    @retries.default
    def _retries(self) -> bool:
        return self.policy.strategy is ErrorStrategy.RETRY

    @shares_payload.default
    def _shares_payload(self) -> bool:
        """True when :meth:`map` would return the emitted dict itself."""
        return self.mapping is None and not self.owns_payload

    def map(self, payload: Payload) -> Payload:
        """``payload`` as this slot receives it (mapped keys renamed).

        A new dict when there is a mapping or the target ``owns_payload`` (its handler or merge
        function receives the dict itself and may change it); otherwise the emitted dict is
        shared, since handlers bound by keywords or by name cannot change it.
        """
        mapping = self.mapping
        if mapping is None:
            return dict(payload) if self.owns_payload else payload
        mapped = {mapping.get(key, key): value for key, value in payload.items()}
        if len(mapped) != len(payload):
            raise EventPayloadError(
                f"param_mapping into {self.label} makes two payload keys arrive under one name "
                f"(payload keys: {', '.join(sorted(payload))}; mapping: {dict(mapping)}); "
                "one value would be lost"
            )
        return mapped


@attrs.frozen(eq=False)
class EventRoute:
    """Where an event of one routine goes. ``declared`` is None when the event declares none."""

    source_id: str
    event_name: str
    declared: frozenset[str] | None
    targets: tuple[Target, ...]
    target_labels: tuple[tuple[str, str], ...] = attrs.field(
        init=False,
        default=attrs.Factory(
            lambda self: tuple((t.routine_id, t.slot_name) for t in self.targets), takes_self=True
        ),
    )

    def check_payload(self, payload: Payload) -> None:
        declared = self.declared
        if declared is not None and not declared.issuperset(payload):
            extra = ", ".join(sorted(set(payload) - declared))
            raise EventPayloadError(
                f"event {self.event_name!r} of {self.source_id!r} was emitted with undeclared "
                f"key(s) {extra}; declared params: {', '.join(sorted(declared)) or 'none'}"
            )


@attrs.frozen(eq=False)
class CompiledFlow:
    """The frozen execution plan of a flow. Safe to share across threads."""

    flow_id: str
    graph: FlowGraph = attrs.field(repr=False)
    report: ValidationReport = attrs.field(repr=False)
    routines: Mapping[str, Routine] = attrs.field(repr=False)
    routes: Mapping[int, Mapping[str, EventRoute]] = attrs.field(repr=False)
    triggers: Mapping[str, Target] = attrs.field(repr=False)
    routine_ids: Mapping[int, str] = attrs.field(repr=False)
    error_handler: ErrorHandler | None = None
    max_activations: int | None = None

    def routine_id(self, routine: Routine) -> str:
        """The id of ``routine`` in this flow; RuntimeError if it is not part of it."""
        routine_id = self.routine_ids.get(id(routine))
        if routine_id is None:
            raise RuntimeError(
                f"{type(routine).__name__} is not a routine of flow {self.flow_id!r}; "
                "add it with flow.add_routine() or call it from its own handler"
            )
        return routine_id

    def slot_target(self, routine_id: str, slot_name: str) -> Target:
        """A target for an already-mapped payload (held or restored activations)."""
        routine = self.routines.get(routine_id)
        if routine is None or slot_name not in routine.slots:
            raise ValueError(
                f"flow {self.flow_id!r} has no slot {routine_id}.{slot_name}; the held work does "
                "not belong to this flow's current structure"
            )
        return _target(routine_id, routine, slot_name, None, self.error_handler)

    def route(self, routine: Routine, event_name: str) -> EventRoute:
        """The route of ``routine.event_name``; raises a clear error if there is none."""
        by_event = self.routes.get(id(routine))
        if by_event is None:
            raise RuntimeError(
                f"{type(routine).__name__} emitted {event_name!r} but is not a routine of flow "
                f"{self.flow_id!r}; add it with flow.add_routine() or emit from its own handler"
            )
        route = by_event.get(event_name)
        if route is None:
            known = ", ".join(repr(name) for name in by_event) or "none"
            raise ValueError(
                f"{type(routine).__name__} has no event named {event_name!r}; defined events: "
                f"{known} (declare it with define_event)"
            )
        return route

    def trigger(self, entry_id: object, params: Payload) -> Target:
        """The trigger slot target of ``entry_id`` for ``params``.

        Raises FlowValidationError if the routine is unknown, has no trigger slot, or its
        trigger handler requires a parameter ``params`` lacks (so no handler runs).
        """
        target = self.triggers.get(entry_id) if isinstance(entry_id, str) else None
        if target is None:
            validate_entry(self.flow_id, self.graph, entry_id).raise_for_errors()
            raise AssertionError("unreachable: validate_entry accepted a routine without trigger")
        slot = target.routine.slots[TRIGGER_SLOT]
        missing = sorted(slot.binding.required.difference(params))
        if missing:
            raise FlowValidationError(
                self.flow_id,
                [
                    Problem(
                        "entry-param-missing",
                        "error",
                        f"{target.routine_id}.{TRIGGER_SLOT}",
                        f"the trigger handler of {target.routine_id!r} requires {name!r}, which "
                        f"entry_params lacks (given: {', '.join(sorted(params)) or 'none'})",
                        f"pass entry_params={{{name!r}: ...}} to execute(), or give the "
                        "parameter a default",
                    )
                    for name in missing
                ],
            )
        return target


def compile_flow(
    flow_id: str,
    routines: Mapping[str, Routine],
    connections: Sequence[Connection],
    error_handler: ErrorHandler | None = None,
    max_activations: int | None = None,
) -> CompiledFlow:
    """Validate and compile. Raises FlowValidationError listing every error."""
    routines = MappingProxyType(dict(routines))
    graph = build_graph(routines, connections)
    report = validate_graph(flow_id, graph)
    report.raise_for_errors()
    return CompiledFlow(
        flow_id=flow_id,
        graph=graph,
        report=report,
        routines=routines,
        routes=_routes(routines, connections, error_handler),
        triggers={
            rid: _target(rid, routine, TRIGGER_SLOT, None, error_handler)
            for rid, routine in routines.items()
            if TRIGGER_SLOT in routine.slots
        },
        routine_ids={id(routine): rid for rid, routine in routines.items()},
        error_handler=error_handler,
        max_activations=max_activations,
    )


def _target(
    routine_id: str,
    routine: Routine,
    slot_name: str,
    mapping: Mapping[str, str] | None,
    flow_policy: ErrorHandler | None,
) -> Target:
    """A delivery target; its error policy is resolved here: the routine's, else the flow's,
    else STOP."""
    slot = routine.slots[slot_name]
    invoke = (
        None if slot.handler is None else slot.binding.invoker(slot.handler, routine_id, slot_name)
    )
    policy = routine.get_error_handler() or flow_policy or STOP_POLICY
    owns_payload = slot.binding.kind is BindingKind.DATA or slot.merge.kind == "custom"
    return Target(
        routine_id, slot_name, routine, mapping or None, invoke, slot.merge, policy, owns_payload
    )


def _routes(
    routines: Mapping[str, Routine],
    connections: Sequence[Connection],
    flow_policy: ErrorHandler | None,
) -> dict[int, Mapping[str, EventRoute]]:
    targets: dict[tuple[str, str], list[Target]] = {}
    for c in connections:
        target = _target(c.target_id, routines[c.target_id], c.slot, c.param_mapping, flow_policy)
        targets.setdefault((c.source_id, c.event), []).append(target)
    routes: dict[int, Mapping[str, EventRoute]] = {}
    for routine_id, routine in routines.items():
        routes[id(routine)] = MappingProxyType(
            {
                name: EventRoute(
                    routine_id,
                    name,
                    None if event.params is None else frozenset(event.params),
                    tuple(targets.get((routine_id, name), ())),
                )
                for name, event in routine.events.items()
            }
        )
    return routes
