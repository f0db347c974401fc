"""Pictures of a flow graph: Mermaid and Graphviz DOT text. Pure functions over the graph."""

from __future__ import annotations

import json

import networkx as nx

from routilux.connection import Connection


def _edge_label(connection: Connection) -> str:
    label = f"{connection.event} → {connection.slot}"
    if connection.param_mapping:
        pairs = ", ".join(f"{k}→{v}" for k, v in connection.param_mapping.items())
        label += f" ({pairs})"
    return label


def _connections(graph: nx.DiGraph) -> list[Connection]:
    return [c for _, _, cs in graph.edges(data="connections") for c in cs]


def to_mermaid(graph: nx.DiGraph) -> str:
    """Mermaid ``flowchart LR`` text; feedback connections are drawn dotted."""
    ids = {node: f"n{i}" for i, node in enumerate(graph)}
    lines = ["flowchart LR"]
    for node, routine in graph.nodes(data="routine"):
        text = f"{node}<br/>{type(routine).__name__}".replace('"', "#quot;")
        lines.append(f'    {ids[node]}["{text}"]')
    for c in _connections(graph):
        arrow = "-.->" if c.feedback else "-->"
        label = _edge_label(c).replace('"', "#quot;").replace("|", "#124;")
        lines.append(f'    {ids[c.source_id]} {arrow}|"{label}"| {ids[c.target_id]}')
    return "\n".join(lines) + "\n"


def to_dot(graph: nx.DiGraph, name: str) -> str:
    """Graphviz DOT text; feedback connections are dashed."""
    lines = [f"digraph {json.dumps(name)} {{", "    rankdir=LR;", "    node [shape=box];"]
    for node, routine in graph.nodes(data="routine"):
        label = f"{node}\\n{type(routine).__name__}"
        lines.append(f"    {json.dumps(node)} [label={json.dumps(label)}];")
    for c in _connections(graph):
        style = ", style=dashed" if c.feedback else ""
        lines.append(
            f"    {json.dumps(c.source_id)} -> {json.dumps(c.target_id)} "
            f"[label={json.dumps(_edge_label(c))}{style}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"
