"""The evaluation engine: regulation rules (from the packs) checked against assets and model versions.

Each rule names a ``check``; a check looks at one asset (or model version) and returns zero or
more :class:`Hit` with a message and evidence (column ids and names, entity types, regulation
categories, lineage path of propagated classifications). Evidence never holds data values.
``services.policy_evaluate`` turns hits into :class:`~compliance.policies.models.Finding` rows.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from django.utils import timezone

from catalog.choices import SENSITIVITY_RANK, AssetStatus, ClassificationSource, ClassificationState, ModelStage, Sensitivity
from catalog.models import Classification, Column, DataAsset, ModelVersion
from compliance.policies import selectors
from compliance.policies.choices import PolicyKind
from compliance.policies.models import AnonymizationRun, RegulationRule, RetentionRun
from core.choices import RunStatus


@dataclass
class Hit:
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    key: str = ""  # distinguishes several hits of one rule on one target


@dataclass
class AssetFacts:
    """What the checks need to know about one asset, loaded once per evaluation."""

    asset: DataAsset
    columns: dict[str, set[str]]  # column name -> entity types (not rejected)
    column_ids: dict[str, int]
    propagated_paths: dict[str, list[dict[str, Any]]]
    tags: set[str]
    index: dict[str, list[tuple[str, str, bool, str]]]
    policies: dict[str, list[Any]]
    anonymized_copy: bool

    @property
    def entity_types(self) -> set[str]:
        return {e for es in self.columns.values() for e in es}

    def categories(self, pack: str, *, sensitive_only: bool = False) -> dict[str, list[str]]:
        """{column: ["pack:CODE", ...]} for columns holding entity types in the pack's categories."""
        out: dict[str, list[str]] = {}
        for column, entities in self.columns.items():
            codes = sorted(
                {
                    f"{p}:{c}"
                    for e in entities
                    for (p, c, sensitive, _cit) in self.index.get(e, [])
                    if p == pack and (sensitive or not sensitive_only)
                }
            )
            if codes:
                out[column] = codes
        return out

    def evidence(self, pack: str, *, sensitive_only: bool = False) -> dict[str, Any]:
        cats = self.categories(pack, sensitive_only=sensitive_only)
        columns = [
            {"column_id": self.column_ids[c], "column": c, "entity_types": sorted(self.columns[c]), "categories": cats[c]}
            | ({"lineage_path": self.propagated_paths[c]} if c in self.propagated_paths else {})
            for c in sorted(cats)
        ]
        return {"asset_id": self.asset.pk, "asset": str(self.asset), "sensitivity": self.asset.sensitivity, "columns": columns}


def load_facts(asset: DataAsset, index: dict | None = None) -> AssetFacts:
    index = selectors.category_index() if index is None else index
    columns: dict[str, set[str]] = defaultdict(set)
    column_ids = dict(Column.objects.filter(asset=asset).values_list("name", "pk"))
    paths: dict[str, list[dict[str, Any]]] = {}
    rows = (
        Classification.objects.filter(column__asset=asset)
        .exclude(state=ClassificationState.REJECTED)
        .values_list("column__name", "entity_type", "source", "evidence")
    )
    for column, entity, source, evidence in rows:
        columns[column].add(entity)
        if source == ClassificationSource.PROPAGATED and isinstance(evidence, dict) and evidence.get("path"):
            paths[column] = _describe_path(evidence.get("path", []))
    tags = set(asset.tags.values_list("name", flat=True))
    entity_types = {e for es in columns.values() for e in es}
    policies = {kind: selectors.policies_for_asset(asset, kind, entity_types=entity_types) for kind in PolicyKind.values}
    anonymized = AnonymizationRun.objects.filter(target_asset=asset, status=RunStatus.SUCCEEDED).exists() or _lineage_anonymized(
        asset
    )
    return AssetFacts(asset, dict(columns), column_ids, paths, tags, index, policies, anonymized)


def _describe_path(path: list[Any]) -> list[dict[str, Any]]:
    ids = [int(x) for x in path if str(x).isdigit()]
    names = {c.pk: f"{c.asset.qualified_name}.{c.name}" for c in Column.objects.filter(pk__in=ids).select_related("asset")}
    return [{"column_id": pk, "column": names.get(pk, "(unknown)")} for pk in ids]


def _lineage_anonymized(asset: DataAsset) -> bool:
    """True when lineage records an anonymizing edge into the asset (lineage app, if installed)."""
    try:
        from lineage.choices import EdgeKind, NodeType
        from lineage.models import Edge
    except ImportError:  # pragma: no cover - lineage is optional for this module
        return False
    try:
        return Edge.objects.filter(kind=EdgeKind.ANONYMIZED, dst_type=NodeType.ASSET, dst_id=asset.pk).exists()
    except Exception:  # a lineage schema in flux must not break evaluation
        return False


def pack_applies(content: dict[str, Any], entity_types: set[str], tags: set[str], index: dict, code: str) -> bool:
    """Whether a pack governs an asset holding ``entity_types`` with ``tags``."""
    when = content.get("applies_when", {"personal_data": True})
    if tags & set(when.get("tags_any", [])):
        return True
    if set(when.get("entity_types_any", [])) & entity_types:
        return True
    if when.get("personal_data"):
        return any(p == code for e in entity_types for (p, _c, _s, _cit) in index.get(e, []))
    return False


# --- asset checks ------------------------------------------------------------------------------


def check_personal_data_unprotected(rule: RegulationRule, facts: AssetFacts) -> list[Hit]:
    pack = rule.pack.code
    cats = facts.categories(pack, sensitive_only=bool(rule.params.get("sensitive_only")))
    if not cats or facts.anonymized_copy:
        return []
    if facts.policies[PolicyKind.ACCESS] or facts.policies[PolicyKind.ANONYMIZATION]:
        return []
    return [
        Hit(
            f"{len(cats)} column(s) hold {pack.upper()} categories and no access or anonymization policy covers the asset",
            facts.evidence(pack, sensitive_only=bool(rule.params.get("sensitive_only"))),
        )
    ]


def check_pii_public(rule: RegulationRule, facts: AssetFacts) -> list[Hit]:
    pack = rule.pack.code
    if facts.asset.sensitivity != Sensitivity.PUBLIC or facts.anonymized_copy:
        return []
    cats = facts.categories(pack)
    if not cats:
        return []
    evidence = facts.evidence(pack)
    propagated = [c for c in evidence["columns"] if "lineage_path" in c]
    how = " (propagated through lineage)" if propagated else ""
    return [Hit(f"publicly readable asset holds {len(cats)} column(s) of personal data{how}", evidence)]


def check_sensitivity_too_low(rule: RegulationRule, facts: AssetFacts) -> list[Hit]:
    pack = rule.pack.code
    minimum = rule.params.get("min_sensitivity", Sensitivity.CONFIDENTIAL)
    cats = facts.categories(pack, sensitive_only=bool(rule.params.get("sensitive_only")))
    if not cats or facts.anonymized_copy or facts.asset.sensitivity == Sensitivity.PUBLIC:
        return []  # public is pii_public's finding
    if SENSITIVITY_RANK[Sensitivity(facts.asset.sensitivity)] >= SENSITIVITY_RANK[Sensitivity(minimum)]:
        return []
    return [Hit(f"asset is {facts.asset.sensitivity}; data of these categories needs at least {minimum}", facts.evidence(pack))]


def _personal(rule: RegulationRule, facts: AssetFacts) -> bool:
    return bool(facts.categories(rule.pack.code)) and not facts.anonymized_copy


def check_lawful_basis_missing(rule, facts):
    if not _personal(rule, facts) or facts.asset.legal_basis:
        return []
    return [Hit("no Art. 6(1) lawful basis recorded for an asset holding personal data", facts.evidence(rule.pack.code))]


def check_purpose_missing(rule, facts):
    if not _personal(rule, facts) or facts.asset.processing_purposes:
        return []
    return [Hit("no processing purpose recorded for an asset holding personal data", facts.evidence(rule.pack.code))]


def check_record_field_missing(rule, facts):
    name = rule.params.get("field", "")
    if not _personal(rule, facts) or getattr(facts.asset, name, None):
        return []
    return [Hit(f"record of processing lacks {name}", {"asset_id": facts.asset.pk, "field": name})]


def check_retention_undefined(rule, facts):
    if not _personal(rule, facts) or facts.asset.retention_days or facts.policies[PolicyKind.RETENTION]:
        return []
    return [Hit("no retention period recorded and no retention policy covers the asset", facts.evidence(rule.pack.code))]


def check_retention_exceeded(rule, facts):
    if not facts.categories(rule.pack.code):
        return []
    hits = []
    now = timezone.now()
    asset = facts.asset
    row_policies = any(p.config.get("date_column") for p in facts.policies[PolicyKind.RETENTION])
    if asset.retention_days and asset.created_at < now - timedelta(days=asset.retention_days) and not row_policies:
        hits.append(
            Hit(
                f"asset registered {(now - asset.created_at).days} days ago exceeds its {asset.retention_days}-day retention",
                {"asset_id": asset.pk, "retention_days": asset.retention_days, "basis": "asset age"},
                key="asset-age",
            )
        )
    if asset.retention_days and asset.location and not row_policies:
        stale = _rows_past_retention(asset, now - timedelta(days=asset.retention_days))
        if stale and stale["expired_rows"]:
            hits.append(
                Hit(
                    f"{stale['expired_rows']} of {stale['rows']} row(s) have no date newer than the {asset.retention_days}-day "
                    "retention recorded for the asset, and no retention policy enforces it",
                    {"asset_id": asset.pk, "retention_days": asset.retention_days, "basis": "row dates", **stale},
                    key="row-dates",
                )
            )
    latest = RetentionRun.objects.filter(status=RunStatus.SUCCEEDED).order_by("-started_at").first()
    if latest:
        for item in latest.report.get("items", []):
            if item.get("asset_id") == asset.pk and item.get("expired_rows") and item.get("outcome") != "done":
                hits.append(
                    Hit(
                        f"{item['expired_rows']} row(s) older than {item.get('max_age_days')} days (retention run {latest.pk}, "
                        f"{'dry run' if latest.dry_run else item.get('outcome')})",
                        {
                            "asset_id": asset.pk,
                            "policy_id": item.get("policy_id"),
                            "date_column": item.get("date_column"),
                            "expired_rows": item["expired_rows"],
                            "retention_run_id": latest.pk,
                        },
                        key=f"policy-{item.get('policy_id')}",
                    )
                )
    return hits


def _rows_past_retention(asset: DataAsset, cutoff) -> dict[str, Any] | None:
    """Rows of a file asset whose every date column is older than ``cutoff`` (a record's age is its
    latest activity). Reads only the date columns, through :mod:`compliance.datasets` (a location
    the rule refuses means this check cannot say), once per file version and day (cached: the
    check runs for every pack and on every classification change); None when it cannot say."""
    from compliance import datasets
    from compliance.policies.profiles import name_hint

    columns = tuple(
        c for c in Column.objects.filter(asset=asset).values_list("name", flat=True) if name_hint(c)[1] == "DATE_TIME"
    )
    if not columns or not asset.location:
        return None
    try:
        loc = datasets.resolve_asset(asset)
    except datasets.LocationRefused:
        return None
    if loc.kind != "file" or not Path(loc.path).is_file():
        return None
    stat = Path(loc.path).stat()
    return _count_stale(loc, stat.st_mtime_ns, stat.st_size, columns, cutoff.date().isoformat())


@functools.lru_cache(maxsize=128)
def _count_stale(loc, mtime_ns: int, size: int, columns: tuple[str, ...], cutoff_day: str) -> dict[str, Any] | None:
    from compliance import datasets

    try:
        present = [c.name for c in datasets.read_schema(loc) if c.name in columns]
        frame = datasets.read_frame(loc, columns=present) if present else pd.DataFrame()
    except Exception:  # noqa: BLE001 - a missing, refused or odd file only means this check cannot say
        return None
    if frame.empty or not len(frame.columns):
        return None
    latest = pd.concat([pd.to_datetime(frame[c], errors="coerce", utc=True, format="mixed") for c in frame.columns], axis=1).max(
        axis=1
    )
    expired = latest < pd.Timestamp(cutoff_day, tz="UTC")
    return {"rows": int(len(frame)), "expired_rows": int(expired.sum()), "date_columns": list(map(str, frame.columns))}


def check_transfer_without_safeguard(rule, facts):
    if not _personal(rule, facts):
        return []
    missing = [t.get("country") for t in facts.asset.international_transfers if not str(t.get("safeguard", "")).strip()]
    if not missing:
        return []
    return [
        Hit(
            f"transfer(s) to {', '.join(sorted(missing))} without a recorded safeguard",
            {"asset_id": facts.asset.pk, "countries": sorted(missing)},
        )
    ]


def check_sale_share_undeclared(rule, facts):
    if not _personal(rule, facts) or not facts.asset.recipients:
        return []
    if facts.tags & set(rule.params.get("tags", [])):
        return []
    return [
        Hit(
            f"{len(facts.asset.recipients)} recipient(s) recorded but no sale/share declaration",
            {"asset_id": facts.asset.pk, "recipients": len(facts.asset.recipients), "expected_tags": rule.params.get("tags", [])},
        )
    ]


ASSET_CHECKS: dict[str, Callable[[RegulationRule, AssetFacts], list[Hit]]] = {
    "personal_data_unprotected": check_personal_data_unprotected,
    "pii_public": check_pii_public,
    "sensitivity_too_low": check_sensitivity_too_low,
    "lawful_basis_missing": check_lawful_basis_missing,
    "purpose_missing": check_purpose_missing,
    "record_field_missing": check_record_field_missing,
    "retention_undefined": check_retention_undefined,
    "retention_exceeded": check_retention_exceeded,
    "transfer_without_safeguard": check_transfer_without_safeguard,
    "sale_share_undeclared": check_sale_share_undeclared,
}


# --- model version checks ----------------------------------------------------------------------


class _LineageReader:
    """The evaluation engine reads the whole graph (it reports ids, never data)."""

    is_authenticated = True
    is_active = True
    is_superuser = True
    pk = None


def upstream_assets(asset: DataAsset, depth: int = 6) -> list[tuple[int, int]]:
    """[(asset id, hops)] upstream of ``asset`` in the lineage graph; empty without the lineage app."""
    try:
        from lineage.selectors import upstream

        sub = upstream(user=_LineageReader(), node=f"asset:{asset.pk}", depth=depth)
    except Exception:  # noqa: BLE001 - lineage is optional here; evaluation must not fail with it
        return []
    return sorted(
        (
            (int(key.split(":")[1]), level)
            for key, level in sub.nodes.items()
            if key.startswith("asset:") and key != f"asset:{asset.pk}"
        ),
        key=lambda item: item[1],
    )


@dataclass
class TrainingFacts:
    facts: AssetFacts
    via: DataAsset | None = None  # the training dataset this upstream asset feeds
    hops: int = 0


def _training_facts(mv: ModelVersion, index) -> list[TrainingFacts]:
    out = []
    for asset in mv.training_datasets.exclude(status=AssetStatus.DELETED):
        facts = load_facts(asset, index)
        out.append(TrainingFacts(facts))
        if facts.anonymized_copy:
            continue  # what feeds an anonymized copy does not reach the model
        ids = dict(upstream_assets(asset))
        for up in DataAsset.objects.filter(pk__in=ids).exclude(status=AssetStatus.DELETED):
            out.append(TrainingFacts(load_facts(up, index), via=asset, hops=ids[up.pk]))
    return out


def _relevant(rule: RegulationRule, training: list[TrainingFacts]) -> list[TrainingFacts]:
    return [t for t in training if t.via is None or rule.params.get("include_upstream")]


def check_model_trained_on_sensitive(rule: RegulationRule, mv: ModelVersion, training: list[TrainingFacts]) -> list[Hit]:
    if mv.stage != ModelStage.PRODUCTION:
        return []
    pack = rule.pack.code
    require_dpia = bool(rule.params.get("require_dpia"))
    if require_dpia and mv.dpia_reference.strip():
        return []
    sensitive_only = bool(rule.params.get("sensitive_only", True))
    identifiers_only = bool(rule.params.get("identifiers_only"))
    sources = []
    for item in _relevant(rule, training):
        facts = item.facts
        if facts.anonymized_copy and not require_dpia:
            continue
        cats = facts.categories(pack, sensitive_only=sensitive_only)
        if identifiers_only:
            cats = {c: [x for x in codes if not x.endswith("PHI-HEALTH")] for c, codes in cats.items()}
            cats = {c: codes for c, codes in cats.items() if codes}
        if cats:
            evidence = facts.evidence(pack, sensitive_only=sensitive_only)
            evidence["columns"] = [c for c in evidence["columns"] if c["column"] in cats]
            if item.via is not None:
                evidence["lineage_path"] = {
                    "training_dataset_id": item.via.pk,
                    "training_dataset": str(item.via),
                    "upstream_hops": item.hops,
                }
            sources.append(evidence)
    if not sources:
        return []
    if require_dpia:
        what = "special-category data" if sensitive_only else "personal data (profiling)"
        tail = "and no DPIA reference"
    else:
        what, tail = "Safe Harbor identifiers", "that were not de-identified"
    upstream = sum(1 for s in sources if "lineage_path" in s)
    how = f" ({upstream} of them upstream through lineage)" if upstream else ""
    return [
        Hit(
            f"production model trained on {len(sources)} dataset(s) with {what}{how} {tail}",
            {"model_version_id": mv.pk, "model_version": str(mv), "stage": mv.stage, "training_datasets": sources},
        )
    ]


def check_model_automated_decision(rule, mv, training):
    if mv.stage != ModelStage.PRODUCTION or "art22-reviewed" in set(mv.model.tags.values_list("name", flat=True)):
        return []
    personal = [
        t.facts.asset.pk for t in _relevant(rule, training) if t.facts.categories(rule.pack.code) and not t.facts.anonymized_copy
    ]
    if not personal:
        return []
    return [
        Hit(
            "production model uses personal data: confirm whether its decisions are solely automated with legal or similar effect",
            {"model_version_id": mv.pk, "personal_data_asset_ids": personal},
        )
    ]


MODEL_CHECKS = {
    "model_trained_on_sensitive": check_model_trained_on_sensitive,
    "model_automated_decision": check_model_automated_decision,
}


def active_rules() -> list[RegulationRule]:
    return list(RegulationRule.objects.filter(enabled=True, pack__enabled=True).select_related("pack"))


def evaluate_asset(
    asset: DataAsset, *, rules: list[RegulationRule] | None = None, index=None
) -> list[tuple[RegulationRule, Hit]]:
    if asset.status == AssetStatus.DELETED:
        return []
    rules = active_rules() if rules is None else rules
    index = selectors.category_index() if index is None else index
    facts = load_facts(asset, index)
    out = []
    for rule in rules:
        check = ASSET_CHECKS.get(rule.check_name)
        if check is None or not pack_applies(rule.pack.content, facts.entity_types, facts.tags, index, rule.pack.code):
            continue
        out.extend((rule, hit) for hit in check(rule, facts))
    return out


def evaluate_model_version(
    mv: ModelVersion, *, rules: list[RegulationRule] | None = None, index=None
) -> list[tuple[RegulationRule, Hit]]:
    rules = active_rules() if rules is None else rules
    index = selectors.category_index() if index is None else index
    training = _training_facts(mv, index)
    out = []
    for rule in rules:
        check = MODEL_CHECKS.get(rule.check_name)
        if check is None:
            continue
        if not any(
            pack_applies(rule.pack.content, t.facts.entity_types, t.facts.tags, index, rule.pack.code)
            for t in _relevant(rule, training)
        ):
            continue
        out.extend((rule, hit) for hit in check(rule, mv, training))
    return out
