"""The flow as a networkx ``DiGraph``: nodes are routine ids, edges carry their connections.

Each node has attribute ``routine``; each edge ``(src, dst)`` has ``connections`` (every
connection between the two routines, in the order made) and ``feedback`` (True when *all* of
them were declared ``feedback=True``, so the edge may close a loop). Built only by the compiler
and for pictures; the runtime never touches networkx.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import networkx as nx

from routilux.connection import Connection
from routilux.routine import Routine

TRIGGER_SLOT = "trigger"


def build_graph(routines: Mapping[str, Routine], connections: Sequence[Connection]) -> nx.DiGraph:
    graph: nx.DiGraph = nx.DiGraph()
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


def forward_graph(graph: nx.DiGraph) -> nx.DiGraph:
    """A view of ``graph`` without its feedback edges (where cycles are errors)."""
    return nx.subgraph_view(graph, filter_edge=lambda u, v: not graph.edges[u, v]["feedback"])


def entry_candidates(graph: nx.DiGraph) -> list[str]:
    """Routine ids that have a ``trigger`` slot, i.e. that ``execute`` can start."""
    return [
        node for node, routine in graph.nodes(data="routine") if TRIGGER_SLOT in routine.slots
    ]
