"""The provenance graph valid at the date: the asset-level upstream map (used by the model
section) and the graph in ``lineage.selectors.describe`` shape for ``lineage/graph.*``."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from catalog.models import MLModel, ModelVersion
from compliance.evidence.collect.snapshot import Snapshot, as_of, iso
from lineage.graph import stops
from lineage.models import Job


def asset_graph(snap: Snapshot) -> dict[str, list[tuple[str, bool, str]]]:
    """node -> [(upstream node, edge stops PII, edge kind)] over the asset-level edges valid at the date."""
    upstream: dict[str, list[tuple[str, bool, str]]] = defaultdict(list)
    for e in snap.edges:
        if e["src_type"] == "column" or e["dst_type"] == "column":
            continue
        upstream[f"{e['dst_type']}:{e['dst_id']}"].append(
            (
                f"{e['src_type']}:{e['src_id']}",
                stops(e["kind"], e["masking"], e["propagation"], e["transformation_type"]),
                e["kind"],
            )
        )
    return upstream


def lineage_described(snap: Snapshot) -> dict[str, Any]:
    """The provenance graph valid at the date in ``lineage.selectors.describe`` shape (for the
    GraphML and node-link exporters). Never filtered: it is the whole graph at that moment."""
    job_ids = {e["src_id"] for e in snap.edges if e["src_type"] == "job"} | {
        e["dst_id"] for e in snap.edges if e["dst_type"] == "job"
    }
    jobs = {j["id"]: j for j in Job.objects.filter(pk__in=job_ids).values("id", "name", "namespace")}
    versions = as_of(ModelVersion, snap.scope.at, ("model_id", "version", "stage"))
    model_names = dict(MLModel.objects.values_list("pk", "name"))
    nodes: dict[str, dict] = {}

    def node(kind: str, pk: int) -> str:
        key = f"{kind}:{pk}"
        if key in nodes:
            return key
        if kind == "asset":
            asset = snap.assets.get(pk)
            nodes[key] = {
                "id": key,
                "type": "asset",
                "name": snap.asset_name(pk),
                "sensitivity": asset["sensitivity"] if asset else "",
                "pii": ",".join(sorted(snap.entity_types.get(pk, set()))),
            }
        elif kind == "column":
            col = snap.columns.get(pk)
            types = ",".join(sorted({c["entity_type"] for c in snap.column_classes.get(pk, [])}))
            nodes[key] = {
                "id": key,
                "type": "column",
                "name": col["name"] if col else f"column {pk}",
                "asset": f"asset:{col['asset_id']}" if col else "",
                "pii": types,
            }
        elif kind == "job":
            job = jobs.get(pk, {})
            nodes[key] = {"id": key, "type": "job", "name": job.get("name", f"job {pk}"), "namespace": job.get("namespace", "")}
        else:
            mv = versions.get(pk)
            name = f"{model_names.get(mv['model_id'], '?')}@{mv['version']}" if mv else f"model version {pk}"
            nodes[key] = {"id": key, "type": kind, "name": name, "stage": mv["stage"] if mv else ""}
        return key

    edges = []
    for e in sorted(snap.edges, key=lambda e: e["id"]):
        edges.append(
            {
                "pk": e["id"],
                "source": node(e["src_type"], e["src_id"]),
                "target": node(e["dst_type"], e["dst_id"]),
                "kind": e["kind"],
                "masking": e["masking"],
                "propagation": e["propagation"],
                "stops_propagation": stops(e["kind"], e["masking"], e["propagation"], e["transformation_type"]),
                "transformation_type": e["transformation_type"],
                "producer": e["producer"],
                "actor": e["actor"],
                "valid_from": iso(e["valid_from"]),
            }
        )
    return {"roots": [], "at": iso(snap.scope.at), "nodes": sorted(nodes.values(), key=lambda n: n["id"]), "edges": edges}
