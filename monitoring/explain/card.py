"""A model card for a cataloged model version, assembled only from what Custos' stores hold, with the
fields of Google's Model Card Toolkit schema (``model_details``, ``model_parameters``,
``quantitative_analysis``, ``considerations``) and an EU AI Act Annex IV technical-documentation draft.

Contract (``model_card(user=..., model_version=...) -> dict``, docs/explain.md "Model card"):

* every value comes from a store: the catalog (model, version, card fields), lineage (the version's
  training/evaluation datasets and the assets upstream of it in the lineage graph), monitoring (monitors,
  the latest successful run per monitor, its flagged results, unresolved alerts), explanations and
  fairness assessments of the version. Nothing is inferred or defaulted;
* a field the stores do not fill is ``null`` (or ``[]``) **and** its dotted path is listed in
  ``missing``; each Annex IV item has ``status`` ``present`` / ``partial`` / ``missing`` and the facts
  it was built from, never a claim of compliance;
* reads are scoped for ``user`` (``restrict()``; datasets the user may not see are counted, not named).
  The caller checks that the version is visible (``decisions.version_visible``).
"""

from __future__ import annotations

import html
import json
from typing import Any

from django.utils import timezone

from accounts.permissions import VIEW

SCHEMA = "Model Card Toolkit schema v0.0.2 fields; EU AI Act Annex IV draft"


def _text(value) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def _datasets(user, qs) -> tuple[list[dict], int]:
    from catalog.models import DataAsset

    visible = DataAsset.objects.restrict(user, VIEW).filter(pk__in=qs.values("pk"))
    rows = [
        {
            "name": a.qualified_name,
            "id": a.pk,
            "sensitive": a.sensitivity in ("confidential", "restricted"),
            "sensitivity": a.sensitivity,
        }
        for a in visible.order_by("qualified_name")
    ]
    return rows, qs.count() - len(rows)


def _lineage_upstream(user, version) -> list[str] | None:
    """Qualified names of visible assets upstream of the version in the lineage graph; None when the
    graph holds no node for it."""
    from catalog.models import DataAsset
    from lineage import selectors as lineage

    try:
        sub = lineage.upstream(user=user, node=f"model_version:{version.pk}", depth=5)
    except lineage.NodeNotFound:
        return None
    ids = [int(k.split(":", 1)[1]) for k in sub.nodes if k.startswith("asset:")]
    return list(
        DataAsset.objects.restrict(user, VIEW)
        .filter(pk__in=ids)
        .order_by("qualified_name")
        .values_list("qualified_name", flat=True)
    )


def _monitoring(user, version) -> dict[str, Any]:
    from monitoring import selectors as mon

    monitors = list(mon.monitor_list(user=user).filter(model_version=version).order_by("id"))
    latest = []
    for m in monitors:
        runs = mon.run_list(user=user).filter(monitor=m, status="succeeded").exclude(trigger="fairness")
        run = runs.order_by("-finished_at", "-id").first()
        if run is None:
            latest.append({"monitor": m.pk, "run": None})
            continue
        flagged = list(
            mon.result_list(user=user)
            .filter(run=run, flagged=True)
            .order_by("kind", "name")
            .values("kind", "name", "score", "threshold")
        )
        metrics = list(
            mon.result_list(user=user)
            .filter(run=run, kind__in=("performance", "estimated"))
            .order_by("kind", "name")
            .values("kind", "name", "score", "threshold")
        )
        latest.append(
            {
                "monitor": m.pk,
                "run": run.pk,
                "finished_at": run.finished_at.isoformat() if run.finished_at else None,
                "rows": run.rows,
                "dataset_drift": run.dataset_drift,
                "share_drifted": run.share_drifted,
                "flagged": flagged,
                "performance": metrics,
            }
        )
    alerts = list(
        mon.alert_list(user=user)
        .filter(monitor__model_version=version)
        .exclude(state="resolved")
        .order_by("id")
        .values("id", "kind", "subject", "state")
    )
    batches = mon.batch_list(user=user).filter(model_version=version).count()
    return {"monitors": len(monitors), "logged_batches": batches, "latest_runs": latest, "open_alerts": alerts}


def _explanations(user, version) -> dict[str, Any]:
    from .selectors import explanation_list

    qs = explanation_list(user=user).filter(model_version=version)
    glob = qs.filter(scope="global").order_by("-created_at", "-id").first()
    out: dict[str, Any] = {"local": qs.filter(scope="local").count(), "global": None}
    if glob is not None:
        importance = sorted(glob.result.get("permutation_importance", []), key=lambda r: -r["mean"])
        out["global"] = {
            "id": glob.pk,
            "explainer": glob.explainer,
            "dataset_sha256": glob.dataset_sha256,
            "sample_size": glob.sample_size,
            "seed": glob.seed,
            "permutation_importance": [{"feature": r["feature"], "mean": r["mean"], "std": r.get("std")} for r in importance],
        }
    return out


def _fairness(user, version) -> list[dict]:
    from .selectors import fairness_list

    rows = []
    for a in fairness_list(user=user).filter(model_version=version).order_by("-created_at", "-id")[:10]:
        r = a.report
        rows.append(
            {
                "id": a.pk,
                "attributes": a.attributes,
                "n": a.n,
                "dataset_sha256": a.dataset_sha256,
                "four_fifths_flag": a.flagged,
                "demographic_parity_difference": r.get("demographic_parity_difference"),
                "demographic_parity_ratio": r.get("demographic_parity_ratio"),
                "equalized_odds_difference": r.get("equalized_odds_difference"),
                "created_at": a.created_at.isoformat(),
            }
        )
    return rows


def model_card(*, user, model_version) -> dict[str, Any]:
    """The card of ``model_version`` as seen by ``user`` (see the module docstring)."""
    v = model_version
    m = v.model
    missing: list[str] = []

    def need(path: str, value):
        """``value`` as held (``None`` for empty text); an empty one is listed in ``missing``."""
        if value is None or value == "" or value == [] or value == {}:
            missing.append(path)
            return None if value == "" else value
        return value

    train, train_hidden = _datasets(user, v.training_datasets.all())
    evaluation, eval_hidden = _datasets(user, v.evaluation_datasets.all())
    features = list(v.features.order_by("position", "name").values_list("name", flat=True))
    monitoring = _monitoring(user, v)
    explanations = _explanations(user, v)
    fairness = _fairness(user, v)
    artifacts = list(v.artifacts.order_by("-created_at").values("id", "format", "sha256", "source"))

    metrics = [{"type": k, "value": val, "slice": None, "source": "catalog"} for k, val in sorted(v.metrics.items())]
    for run in monitoring["latest_runs"]:
        for p in run.get("performance", []):
            where = "production (realized)" if p["kind"] == "performance" else "production (estimated, CBPE)"
            metrics.append({"type": p["name"], "value": p["score"], "slice": where, "source": f"monitor run {run['run']}"})

    card: dict[str, Any] = {
        "schema": SCHEMA,
        "generated_at": timezone.now().isoformat(),
        "model_version_id": v.pk,
        "model_details": {
            "name": m.name,
            "overview": need("model_details.overview", _text(m.description)),
            "owners": need("model_details.owners", [{"name": m.owner.get_username()}] if m.owner_id else []),
            "version": {"name": v.version, "date": v.created_at.isoformat(), "stage": v.stage},
            "task": m.task,
            "domain": m.domain.name if m.domain_id else need("model_details.domain", None),
            "licenses": need("model_details.licenses", []),
            "references": need("model_details.references", [v.artifact_uri] if v.artifact_uri else []),
            "path": v.artifact_uri or None,
        },
        "model_parameters": {
            "model_architecture": need("model_parameters.model_architecture", _text(v.algorithm)),
            "framework": need("model_parameters.framework", _text(v.framework)),
            "hyperparameters": need("model_parameters.hyperparameters", v.hyperparameters or {}),
            "input_features": need("model_parameters.input_features", features),
            "data": {
                "train": need("model_parameters.data.train", train),
                "train_not_visible": train_hidden,
                "eval": need("model_parameters.data.eval", evaluation),
                "eval_not_visible": eval_hidden,
                "lineage_upstream": _lineage_upstream(user, v),
            },
            "artifacts": artifacts,
        },
        "quantitative_analysis": {
            "performance_metrics": need("quantitative_analysis.performance_metrics", metrics),
            "fairness_assessments": need("quantitative_analysis.fairness_assessments", fairness),
            "explanations": explanations,
            "monitoring": monitoring,
        },
        "considerations": {
            "use_cases": need("considerations.use_cases", [_text(v.intended_use)] if _text(v.intended_use) else []),
            "limitations": need("considerations.limitations", [_text(v.limitations)] if _text(v.limitations) else []),
            "ethical_considerations": need(
                "considerations.ethical_considerations",
                [{"name": _text(v.ethical_considerations), "mitigation_strategy": None}]
                if _text(v.ethical_considerations)
                else [],
            ),
            "users": need("considerations.users", []),
            "tradeoffs": need("considerations.tradeoffs", []),
        },
    }
    if explanations["global"] is None:
        missing.append("quantitative_analysis.explanations.global")
    card["annex_iv"] = annex_iv(card, v)
    card["missing"] = missing
    return card


def _item(section: str, item: str, facts: dict, *, partial_if: bool = False) -> dict:
    held = {k: val for k, val in facts.items() if val not in (None, "", [], {}, 0)}
    status = "missing" if not held else ("partial" if partial_if or len(held) < len(facts) else "present")
    return {"section": section, "item": item, "status": status, "facts": held, "missing": sorted(set(facts) - set(held))}


def annex_iv(card: dict, v) -> dict:
    """EU AI Act Annex IV items with what the stores hold for each; ``status`` says only whether facts
    are held (``present``), some are (``partial``) or none (``missing``). Items Custos keeps no record
    of (risk management, standards, declaration of conformity, ...) are always ``missing``."""
    d, p, q, c = card["model_details"], card["model_parameters"], card["quantitative_analysis"], card["considerations"]
    mon = q["monitoring"]
    items = [
        _item(
            "1(a)",
            "intended purpose, provider, version",
            {"intended_use": c["use_cases"], "owner": d["owners"], "version": d["version"]["name"]},
        ),
        _item(
            "1(b-h)",
            "interaction with other systems, software versions, hardware, instructions for use",
            {"framework": p["framework"], "artifact": p["artifacts"]},
            partial_if=True,
        ),
        _item(
            "2(a-b)",
            "development methods and design specifications (logic, algorithms, key choices)",
            {"algorithm": p["model_architecture"], "hyperparameters": p["hyperparameters"], "features": p["input_features"]},
        ),
        _item(
            "2(d)",
            "data requirements: training data sets, provenance, scope, characteristics",
            {"training_datasets": p["data"]["train"], "lineage_upstream": p["data"]["lineage_upstream"]},
            partial_if=True,
        ),
        _item("2(e)", "human oversight measures (Art. 14)", {}),
        _item("2(f)", "pre-determined changes", {}),
        _item(
            "2(g)",
            "validation and testing: data, metrics (accuracy, robustness, discriminatory impacts)",
            {
                "evaluation_datasets": p["data"]["eval"],
                "performance_metrics": q["performance_metrics"],
                "fairness_assessments": q["fairness_assessments"],
            },
        ),
        _item("2(h)", "cybersecurity measures", {}),
        _item(
            "3",
            "capabilities and limitations, accuracy for persons or groups, foreseeable unintended outcomes",
            {
                "limitations": c["limitations"],
                "ethical_considerations": c["ethical_considerations"],
                "fairness_assessments": q["fairness_assessments"],
            },
        ),
        _item("3", "input data specifications", {"features": p["input_features"]}),
        _item("4", "appropriateness of the performance metrics", {}),
        _item("5", "risk management system (Art. 9)", {"dpia_reference": _text(v.dpia_reference)}, partial_if=True),
        _item("6", "relevant changes over the lifecycle", {}),
        _item("7", "harmonised standards applied", {}),
        _item("8", "EU declaration of conformity", {}),
        _item(
            "9",
            "post-market monitoring (Art. 72)",
            {
                "monitors": mon["monitors"],
                "logged_batches": mon["logged_batches"],
                "latest_runs": [r for r in mon["latest_runs"] if r["run"]],
            },
            partial_if=True,
        ),
    ]
    return {
        "note": "a draft assembled from Custos' records; 'present' means facts are recorded, not that the item is adequate",
        "items": items,
        "missing": [f"{i['section']} {i['item']}" for i in items if i["status"] != "present"],
    }


def to_html(card: dict) -> str:
    """A self-contained HTML page of the card (every value escaped)."""

    def render(value) -> str:
        if isinstance(value, dict):
            return "<dl>" + "".join(f"<dt>{html.escape(str(k))}</dt><dd>{render(val)}</dd>" for k, val in value.items()) + "</dl>"
        if isinstance(value, list):
            return "<ul>" + "".join(f"<li>{render(val)}</li>" for val in value) + "</ul>" if value else "<em>none recorded</em>"
        if value is None:
            return "<em>missing</em>"
        return html.escape(str(value))

    title = html.escape(f"Model card: {card['model_details']['name']} {card['model_details']['version']['name']}")
    sections = "".join(
        f"<section><h2>{html.escape(name)}</h2>{render(card[name])}</section>"
        for name in ("model_details", "model_parameters", "quantitative_analysis", "considerations", "annex_iv")
    )
    missing = "".join(f"<li>{html.escape(m)}</li>" for m in card["missing"])
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body><h1>{title}</h1>"
        f"<p>{html.escape(card['schema'])}; generated {html.escape(card['generated_at'])}</p>{sections}"
        f"<section><h2>missing</h2><ul>{missing}</ul></section></body></html>"
    )


def to_json(card: dict) -> str:
    return json.dumps(card, indent=2, sort_keys=False, default=str)
