"""The flow as a networkx ``DiGraph``: nodes are routine ids, edges carry their connections.

Each node has attribute ``routine``; each edge ``(src, dst)`` has ``connections`` (every
connection between the two routines, in the order made) and ``feedback`` (True when *all* of
them were declared ``feedback=True``, so the edge may close a loop). Built only by the compiler
and for pictures; the runtime never touches networkx.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TypeAlias

import networkx as nx

from routilux.connection import Connection
from routilux.routine import Routine

TRIGGER_SLOT = "trigger"

FlowGraph: TypeAlias = "nx.DiGraph[str]"


def build_graph(routines: Mapping[str, Routine], connections: Sequence[Connection]) -> FlowGraph:
    graph: FlowGraph = nx.DiGraph()
    for routine_id, routine in routines.items():
        graph.add_node(routine_id, routine=routine)
    for connection in connections:
        key = (connection.source_id, connection.target_id)
        if graph.has_edge(*key):
            data = graph.edges[key]
            data["connections"].append(connection)
            data["feedback"] = data["feedback"] and connection.feedback
        else:
            graph.add_edge(*key, connections=[connection], feedback=connection.feedback)
    return graph


def forward_graph(graph: FlowGraph) -> FlowGraph:
    """A copy of ``graph``'s structure without its feedback edges (where cycles are errors).

    A plain graph rather than a filtered view: graph algorithms run several times faster on it.
    """
    forward: FlowGraph = nx.DiGraph()
    forward.add_nodes_from(graph)
    forward.add_edges_from((u, v) for u, v in graph.edges if not graph.edges[u, v]["feedback"])
    return forward


def routine_of(graph: FlowGraph, node: str) -> Routine:
    routine: Routine = graph.nodes[node]["routine"]
    return routine


def routines_of(graph: FlowGraph) -> Iterator[tuple[str, Routine]]:
    """``(routine_id, routine)`` for every node, in insertion order."""
    for node in graph:
        yield node, routine_of(graph, node)


def connections_of(graph: FlowGraph) -> Iterator[Connection]:
    """Every connection, grouped by edge in insertion order."""
    for u, v in graph.edges:
        yield from graph.edges[u, v]["connections"]


def entry_candidates(graph: FlowGraph) -> list[str]:
    """Routine ids that have a ``trigger`` slot, i.e. that ``execute`` can start."""
    return [node for node, routine in routines_of(graph) if TRIGGER_SLOT in routine.slots]
