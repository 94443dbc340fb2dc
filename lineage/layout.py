"""A layered left-to-right layout of a described subgraph, drawn as SVG by the template.

No Graphviz: layers are longest-path ranks on the DAG (BFS distance if there is a cycle), and
nodes in a layer are ordered by the mean position of their predecessors (one barycentre sweep),
which keeps crossings low for warehouse-shaped graphs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx

NODE_W, NODE_H, GAP_X, GAP_Y, MARGIN = 190, 38, 70, 18, 20
COLOURS = {"asset": "#dbe7f7", "column": "#eef1f5", "job": "#fde8c8", "model_version": "#d9f2e1"}


@dataclass
class Box:
    id: str
    type: str
    label: str
    title: str
    url: str
    x: int
    y: int
    fill: str
    root: bool


@dataclass
class Arrow:
    path: str
    kind: str
    title: str
    stop: bool


def _label(node: dict[str, Any]) -> str:
    text = f"{node.get('asset_name', '')}.{node['name']}" if node["type"] == "column" else node["name"]
    return text if len(text) <= 28 else "…" + text[-27:]


def layout(described: dict[str, Any], urls: dict[str, str] | None = None) -> dict[str, Any]:
    urls = urls or {}
    graph = nx.DiGraph()
    for node in described["nodes"]:
        graph.add_node(node["id"])
    for edge in described["edges"]:
        if edge["source"] in graph and edge["target"] in graph:
            graph.add_edge(edge["source"], edge["target"])
    rank: dict[str, int] = {}
    if nx.is_directed_acyclic_graph(graph):
        for node in nx.topological_sort(graph):
            rank[node] = max((rank[p] + 1 for p in graph.predecessors(node)), default=0)
    else:
        roots = [r for r in described["roots"] if r in graph] or list(graph)[:1]
        undirected = graph.to_undirected(as_view=True)
        for root in roots:
            for node, dist in nx.single_source_shortest_path_length(undirected, root).items():
                rank.setdefault(node, dist)
        for node in graph:
            rank.setdefault(node, 0)
    layers: dict[int, list[str]] = {}
    for node in sorted(graph, key=lambda n: (rank[n], n)):
        layers.setdefault(rank[node], []).append(node)
    position: dict[str, float] = {}
    for r in sorted(layers):
        members = layers[r]
        if r > min(layers):
            members.sort(key=lambda n: (sum(position.get(p, 0) for p in graph.predecessors(n)) / max(1, graph.in_degree(n)), n))
        for i, node in enumerate(members):
            position[node] = i
    by_id = {n["id"]: n for n in described["nodes"]}
    first = min(layers) if layers else 0
    boxes = {}
    for r, members in layers.items():
        for i, node_id in enumerate(members):
            node = by_id[node_id]
            boxes[node_id] = Box(
                id=node_id,
                type=node["type"],
                label=_label(node),
                title=f"{node['type']}: {node.get('asset_name', '') + '.' if node['type'] == 'column' else ''}{node['name']}",
                url=urls.get(node_id, ""),
                x=MARGIN + (r - first) * (NODE_W + GAP_X),
                y=MARGIN + i * (NODE_H + GAP_Y),
                fill=COLOURS.get(node["type"], "#fff"),
                root=node_id in described["roots"],
            )
    arrows = []
    for edge in described["edges"]:
        a, b = boxes.get(edge["source"]), boxes.get(edge["target"])
        if a is None or b is None:
            continue
        x1, y1, x2, y2 = a.x + NODE_W, a.y + NODE_H // 2, b.x, b.y + NODE_H // 2
        if x2 <= x1:  # same or earlier layer (cycles): loop round below
            path = f"M{x1},{y1} C{x1 + 40},{y1 + 60} {x2 - 40},{y2 + 60} {x2},{y2}"
        else:
            mid = (x1 + x2) // 2
            path = f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2 - 6},{y2}"
        detail = " ".join(
            filter(None, [edge["kind"], edge.get("transformation_subtype"), "masking" if edge.get("masking") else ""])
        )
        arrows.append(Arrow(path=path, kind=edge["kind"], title=detail, stop=bool(edge.get("stops_propagation"))))
    width = MARGIN * 2 + (len(layers) or 1) * (NODE_W + GAP_X)
    height = MARGIN * 2 + max((len(m) for m in layers.values()), default=1) * (NODE_H + GAP_Y)
    return {"boxes": list(boxes.values()), "arrows": arrows, "width": width, "height": height, "node_w": NODE_W, "node_h": NODE_H}
