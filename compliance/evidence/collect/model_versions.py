"""Section ``evidence/models.json``: model accountability, each model version with its card,
training data, upstream assets and the personal data that reaches it."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from accounts.models import User
from catalog.models import MLModel, ModelVersion
from compliance.evidence.collect.lineage import asset_graph
from compliance.evidence.collect.snapshot import Snapshot, as_of, iso
from lineage.choices import EdgeKind


def models(snap: Snapshot) -> dict[str, Any]:
    """Model accountability: each model version as of the date with its model-card fields, its
    training data (lineage edges valid then), every asset upstream of it, and the PII and special
    categories that reach it (propagation stops at masking or anonymizing steps)."""
    at = snap.scope.at
    versions = as_of(
        ModelVersion,
        at,
        (
            "model_id",
            "version",
            "stage",
            "framework",
            "algorithm",
            "intended_use",
            "limitations",
            "ethical_considerations",
            "dpia_reference",
            "metrics",
            "hyperparameters",
            "artifact_uri",
        ),
    )
    model_names = {m["id"]: m for m in as_of(MLModel, at, ("name", "task", "owner_id")).values()}
    usernames = dict(User.objects.values_list("pk", "username"))
    upstream = asset_graph(snap)
    current_training = defaultdict(set)
    for mv_id, asset_id in ModelVersion.training_datasets.through.objects.values_list("modelversion_id", "dataasset_id"):
        current_training[mv_id].add(asset_id)
    out = []
    for mv_id, mv in sorted(
        versions.items(), key=lambda kv: (model_names.get(kv[1]["model_id"], {}).get("name", ""), kv[1]["version"])
    ):
        node = f"model_version:{mv_id}"
        training = sorted({int(src.split(":")[1]) for src, _, kind in upstream.get(node, []) if kind == EdgeKind.TRAINED_ON})
        if not training:
            training = sorted(current_training.get(mv_id, set()))
        seen: dict[str, int] = {}
        pii_reaching: dict[str, set[str]] = {}
        frontier = [(node, 0, True)]
        while frontier:
            current, depth, carries = frontier.pop()
            for src, stop, _kind in upstream.get(current, []):
                if src in seen and seen[src] <= depth + 1:
                    continue
                seen[src] = depth + 1
                flows = carries and not stop
                if src.startswith("asset:"):
                    asset_id = int(src.split(":")[1])
                    if flows and snap.entity_types.get(asset_id):
                        pii_reaching[snap.asset_name(asset_id)] = set(snap.entity_types[asset_id])
                frontier.append((src, depth + 1, flows))
        upstream_assets = sorted(snap.asset_name(int(k.split(":")[1])) for k in seen if k.startswith("asset:"))
        if snap.scope.asset_ids and not {int(k.split(":")[1]) for k in seen if k.startswith("asset:")} & set(
            snap.scope.asset_ids
        ):
            continue
        entity_types = set().union(*pii_reaching.values()) if pii_reaching else set()
        model = model_names.get(mv["model_id"], {})
        out.append(
            {
                "id": mv_id,
                "model": model.get("name", f"model {mv['model_id']}"),
                "version": mv["version"],
                "stage": mv["stage"],
                "task": model.get("task"),
                "owner": usernames.get(model.get("owner_id")) if model.get("owner_id") else None,
                "model_card": {
                    k: mv[k]
                    for k in (
                        "framework",
                        "algorithm",
                        "intended_use",
                        "limitations",
                        "ethical_considerations",
                        "dpia_reference",
                        "metrics",
                        "hyperparameters",
                        "artifact_uri",
                    )
                },
                "training_data": [snap.asset_name(a) for a in training],
                "upstream_assets": upstream_assets,
                "pii_upstream": {name: sorted(types) for name, types in sorted(pii_reaching.items())},
                "entity_types_upstream": sorted(entity_types),
                "special_categories_upstream": snap.categories_of(entity_types, sensitive_only=True),
                "special_category_names_upstream": snap.labels(snap.categories_of(entity_types, sensitive_only=True)),
                "dpia_recorded": bool(mv["dpia_reference"]),
                "since": iso(mv["_changed_at"]),
            }
        )
    return {"view": snap.scope.view_label(), "model_versions": out}
