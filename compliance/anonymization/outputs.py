"""Registering an anonymization run's output in the catalog and linking it in lineage.

The output's location was chosen and checked by :mod:`compliance.datasets` (inside a data root,
never the app's database), so it is registered with ``system_location=True``: the location is
Custos's own choice, not a caller's, and needs no separate steward decision (the run did).
"""

from __future__ import annotations

from catalog.choices import Sensitivity
from catalog.models import DataAsset
from compliance.policies import anonymizer, profiles
from compliance.policies.models import AnonymizationRun
from core.types import Actor


def register_output(run: AnonymizationRun, source_asset: DataAsset, report: anonymizer.Report, actor: Actor | str) -> DataAsset:
    """The output as asset ``<qualified_name>__<profile>`` (``internal`` for a HIPAA de-identification,
    else the source's sensitivity), with an anonymizing lineage edge per kept column."""
    from catalog.services import asset_ensure, asset_update, columns_sync
    from lineage.services import anonymization_link

    location = run.output_path  # an absolute file path or sqlite:///file.db#table (location_string)
    same_kind = anonymizer.is_table(location) == anonymizer.is_table(source_asset.location or "")
    kind = source_asset.kind if same_kind else "file"
    deidentified = profiles.BUILTIN_PROFILES.get(report.profile, {}).get("regulation") == "hipaa"
    target, created = asset_ensure(
        source=source_asset.source,
        qualified_name=f"{source_asset.qualified_name}__{report.profile}",
        actor=actor,
        name=f"{source_asset.name} ({report.profile})"[:200],
        kind=kind,
        location=location,
        system_location=True,
        description=f"Anonymized copy of asset {source_asset.pk} by anonymization run {run.pk} ({report.profile}).",
        sensitivity=Sensitivity.INTERNAL if deidentified else source_asset.sensitivity,
        domain=source_asset.domain,
    )
    if not created and target.location != location:
        asset_update(asset=target, actor=actor, location=location, system_location=True, reason=f"anonymization run {run.pk}")
    pairs = [(c["name"], c["name"]) for c in report.columns if c["operator"] != "suppress"]
    columns_sync(asset=source_asset, columns=[{"name": c["name"]} for c in report.columns], actor=actor)
    anonymization_link(
        source_asset=source_asset,
        target_asset=target,
        column_pairs=pairs,
        actor=actor,
        run_details={
            "anonymization_run_id": run.pk,
            "profile": report.profile,
            "operators": {c["name"]: c["operator"] for c in report.columns},
            "rows": report.rows,
            "passed": report.passed,
        },
    )
    return target
