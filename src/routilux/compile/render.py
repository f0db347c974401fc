"""Pictures of a flow graph: Mermaid and Graphviz DOT text. Pure functions over the graph."""

from __future__ import annotations

import json

from routilux.compile.graph import FlowGraph, connections_of, routines_of
from routilux.connection import Connection


def _edge_label(connection: Connection) -> str:
    label = f"{connection.event} → {connection.slot}"
    if connection.param_mapping:
        pairs = ", ".join(f"{k}→{v}" for k, v in connection.param_mapping.items())
        label += f" ({pairs})"
    return label


def _quote(text: str) -> str:
    """A DOT double-quoted string (JSON escaping is valid DOT; a newline becomes ``\\n``)."""
    return json.dumps(text, ensure_ascii=False)


def to_mermaid(graph: FlowGraph) -> str:
    """Mermaid ``flowchart LR`` text; feedback connections are drawn dotted."""
    ids = {node: f"n{i}" for i, node in enumerate(graph)}
    lines = ["flowchart LR"]
    for node, routine in routines_of(graph):
        text = f"{node}<br/>{type(routine).__name__}".replace('"', "#quot;")
        lines.append(f'    {ids[node]}["{text}"]')
    for c in connections_of(graph):
        arrow = "-.->" if c.feedback else "-->"
        label = _edge_label(c).replace('"', "#quot;").replace("|", "#124;")
        lines.append(f'    {ids[c.source_id]} {arrow}|"{label}"| {ids[c.target_id]}')
    return "\n".join(lines) + "\n"


def to_dot(graph: FlowGraph, name: str) -> str:
    """Graphviz DOT text; feedback connections are dashed."""
    lines = [f"digraph {_quote(name)} {{", "    rankdir=LR;", "    node [shape=box];"]
    for node, routine in routines_of(graph):
        label = f"{node}\n{type(routine).__name__}"
        lines.append(f"    {_quote(node)} [label={_quote(label)}];")
    for c in connections_of(graph):
        style = ", style=dashed" if c.feedback else ""
        lines.append(
            f"    {_quote(c.source_id)} -> {_quote(c.target_id)} "
            f"[label={_quote(_edge_label(c))}{style}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"
