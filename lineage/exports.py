"""Exports of a described subgraph (``selectors.describe``): node-link JSON (networkx's
``node_link_data``), GraphML (``networkx.generate_graphml``) and Graphviz DOT."""

from __future__ import annotations

import json
from typing import Any

import networkx as nx


def to_networkx(described: dict[str, Any]) -> nx.DiGraph:
    """A DiGraph with scalar attributes only (GraphML cannot hold None, lists or dicts)."""
    graph = nx.DiGraph()
    for node in described["nodes"]:
        graph.add_node(node["id"], **{k: _scalar(v) for k, v in node.items() if k != "id" and v is not None})
    for edge in described["edges"]:
        attrs = {k: _scalar(v) for k, v in edge.items() if k not in ("source", "target") and v not in (None, "")}
        for name in ("run", "last_run"):
            if isinstance(edge.get(name), dict):
                attrs[f"{name}_id"] = edge[name]["run_id"]
                attrs.pop(name, None)
        graph.add_edge(edge["source"], edge["target"], **attrs)
    return graph


def _scalar(value: Any) -> Any:
    if isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value, sort_keys=True)


def node_link_json(described: dict[str, Any]) -> str:
    return json.dumps(nx.node_link_data(to_networkx(described), edges="links"), sort_keys=True)


def graphml(described: dict[str, Any]) -> str:
    return "\n".join(nx.generate_graphml(to_networkx(described))) + "\n"


def _dot_quote(value: Any) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


SHAPES = {"asset": "box", "column": "note", "job": "ellipse", "model_version": "component"}


def dot(described: dict[str, Any]) -> str:
    lines = ["digraph lineage {", "  rankdir=LR;"]
    for node in described["nodes"]:
        label = node["name"] if node["type"] != "column" else f"{node.get('asset_name', '')}.{node['name']}"
        lines.append(f"  {_dot_quote(node['id'])} [label={_dot_quote(label)}, shape={SHAPES.get(node['type'], 'box')}];")
    for edge in described["edges"]:
        style = ", style=dashed" if edge.get("stops_propagation") else ""
        lines.append(f"  {_dot_quote(edge['source'])} -> {_dot_quote(edge['target'])} [label={_dot_quote(edge['kind'])}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
