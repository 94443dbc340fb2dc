"""Selectors that assemble the evidence of a bundle *as it stood* at a moment ``at``.

Catalog state (assets, columns, classifications, model versions), policies, packs, rules and
grants come from their django-simple-history tables (the newest history row at or before ``at``,
dropped when it is a deletion), the lineage graph from the edges' valid time, findings from their
``first_seen``/``resolved_at`` window, activity (access decisions, de-anonymization, runs) from
the ledger range itself. Nothing here reads "today's" row where a history exists.

Every activity record cites the ledger event that recorded it as ``"ledger": {"seq", "leaf_hash"}``
(only events inside the exported range are cited, so the verifier can check each one).

No data values leave this module: columns, entity types, counts, ids and names of catalog objects
and staff accounts only.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Q

from accounts.models import User
from audit import verify_core
from audit.models import AuditEvent
from catalog.choices import LegalBasis
from catalog.models import Classification, Column, DataAsset, DataSource, Domain, MLModel, ModelVersion
from compliance.evidence.ledger import LedgerRange
from compliance.policies.choices import SEVERITY_RANK
from compliance.policies.evaluation import pack_applies
from compliance.policies.models import (
    AccessGrant,
    AnonymizationRun,
    Finding,
    Policy,
    RegulationCategory,
    RegulationPack,
    RegulationRule,
    RetentionRun,
)
from compliance.scanning.models import ScanRun
from lineage.choices import EdgeKind
from lineage.graph import stops
from lineage.models import Edge, Job

ACCESS_ACTIONS = ("policies.access.decide", "policies.asset.sample_read")
DEANONYMIZATION_ACTIONS = ("policies.token.reveal", "policies.token.reveal_denied")
GRANT_ACTIONS = ("policies.grant.request", "policies.grant.approve", "policies.grant.reject", "policies.grant.revoke")
RUN_ACTIONS = (
    "policies.retention.start",
    "policies.retention.finish",
    "policies.retention.delete_rows",
    "policies.retention.anonymize_rows",
    "policies.retention.archive",
    "policies.retention.flag",
    "policies.retention.blocked",
    "policies.anonymization.start",
    "policies.anonymization.finish",
    "policies.anonymization.fail",
    "scanning.scan.start",
    "scanning.scan.finish",
    "scanning.scan.fail",
    "scanning.scan.cancel",
)
EXPORT_ACTIONS = ("evidence.export.request", "evidence.export.complete", "evidence.export.fail", "evidence.export.download")
ART30_FIELDS = {
    "a": "Name and contact details of the controller",
    "b": "Purposes of the processing",
    "c": "Categories of data subjects and of personal data",
    "d": "Categories of recipients",
    "e": "Transfers to third countries and safeguards",
    "f": "Time limits for erasure",
    "g": "Technical and organisational security measures",
}


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def as_of(model, at: datetime, fields: tuple[str, ...], *, filters: Q | None = None) -> dict[int, dict[str, Any]]:
    """{pk: the model's fields as of ``at``} from its history table, with ``_version`` (how many
    history rows up to ``at``) and ``_changed_at`` (the newest one's date). Deleted rows drop out."""
    qs = model.history.filter(history_date__lte=at)
    if filters is not None:
        qs = qs.filter(filters)
    rows = qs.order_by("id", "history_date", "history_id").values("id", "history_id", "history_type", "history_date", *fields)
    out: dict[int, dict[str, Any]] = {}
    versions: Counter = Counter()
    for row in rows.iterator(chunk_size=5000):
        pk = row["id"]
        versions[pk] += 1
        if row["history_type"] == "-":
            out.pop(pk, None)
            continue
        row["_version"] = versions[pk]
        row["_changed_at"] = row["history_date"]
        out[pk] = row
    # Rows written without history (reference data loaded by a data migration, whose historical
    # models do not track history) are taken as they are now, if they existed by ``at``.
    live = model._default_manager.exclude(pk__in=model.history.values("id"))
    if filters is not None:
        live = live.filter(filters)
    names = {f.name for f in model._meta.concrete_fields}
    if "created_at" in names:
        live = live.filter(created_at__lte=at)
    for row in live.values("id", *fields):
        row["_version"], row["_changed_at"], row["history_id"] = 0, None, None
        out[row["id"]] = row
    return out


@dataclass
class Scope:
    """What the export covers: the moment, the ledger range, and the optional narrowing."""

    at: datetime
    period_from: datetime | None
    rng: LedgerRange
    regulation: str = ""
    asset_ids: list[int] = field(default_factory=list)

    @property
    def filtered(self) -> bool:
        return bool(self.regulation or self.asset_ids)

    def view_label(self) -> dict[str, Any]:
        """Stamped on every evidence file: whether it is a filtered view of the complete range."""
        return {
            "as_of": iso(self.at),
            "period": {"from": iso(self.period_from), "to": iso(self.at)},
            "ledger_range": {"first_seq": self.rng.first_seq, "end_seq": self.rng.end_seq},
            "filtered": self.filtered,
            "filters": {"regulation": self.regulation or None, "asset_ids": self.asset_ids or None},
            "note": (
                "FILTERED VIEW of the complete ledger range above: only records matching the filters are listed; "
                "the ledger range itself is complete and unfiltered."
                if self.filtered
                else "Complete view: every record as of the date above."
            ),
        }


class Snapshot:
    """The catalog as of ``scope.at``, loaded once and shared by every evidence section."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        at = scope.at
        self.sources = as_of(DataSource, at, ("name", "namespace", "kind", "country", "location"))
        self.domains = as_of(Domain, at, ("name",))
        self.assets = {
            pk: a
            for pk, a in as_of(
                DataAsset,
                at,
                (
                    "source_id",
                    "qualified_name",
                    "name",
                    "kind",
                    "status",
                    "sensitivity",
                    "domain_id",
                    "processing_purposes",
                    "legal_basis",
                    "data_subject_categories",
                    "recipients",
                    "international_transfers",
                    "retention_days",
                    "storage_country",
                ),
            ).items()
            if a["status"] != "deleted"
        }
        self.columns = {
            pk: c
            for pk, c in as_of(Column, at, ("asset_id", "name", "position", "data_type")).items()
            if c["asset_id"] in self.assets
        }
        self.classifications = {
            pk: c
            for pk, c in as_of(
                Classification,
                at,
                ("column_id", "entity_type", "sensitivity", "source", "state", "confidence", "evidence", "decided_at"),
            ).items()
            if c["column_id"] in self.columns and c["state"] != "rejected"
        }
        self.entity_types: dict[int, set[str]] = defaultdict(set)  # asset -> live entity types
        self.column_classes: dict[int, list[dict]] = defaultdict(list)
        self.pii_columns: dict[int, set[int]] = defaultdict(set)  # asset -> columns with live classifications
        for c in self.classifications.values():
            self.column_classes[c["column_id"]].append(c)
            self.pii_columns[self.columns[c["column_id"]]["asset_id"]].add(c["column_id"])
            self.entity_types[self.columns[c["column_id"]]["asset_id"]].add(c["entity_type"])
        self.packs = {
            p["code"]: p
            for p in as_of(RegulationPack, at, ("code", "name", "version", "enabled", "citation", "content")).values()
        }
        self.category_index: dict[str, list[tuple[str, str, bool, str]]] = defaultdict(list)
        self.category_names: dict[str, str] = {}
        self.categories: dict[str, list[dict]] = defaultdict(list)
        for cat in RegulationCategory.objects.select_related("pack").order_by("pack__code", "code"):
            if cat.pack.code in self.packs and self.packs[cat.pack.code]["enabled"]:
                self.categories[cat.pack.code].append(
                    {
                        "code": cat.code,
                        "name": cat.name,
                        "citation": cat.citation,
                        "sensitive": cat.sensitive,
                        "entity_types": cat.entity_types,
                    }
                )
                self.category_names[f"{cat.pack.code}:{cat.code}"] = f"{cat.pack.code.upper()}: {cat.name}"
                for entity in cat.entity_types:
                    self.category_index[entity].append((cat.pack.code, cat.code, cat.sensitive, cat.citation))
        # Owners, stewards and tags as of the date: simple-history keeps each historical asset row's
        # m2m snapshot; assets without history fall back to their current m2m rows.
        self.tags = self._m2m("tags", "tag__name")
        self.people = self._m2m("owners", "user__username")
        self.stewards = self._m2m("stewards", "user__username")
        self.policies = as_of(Policy, at, ("name", "kind", "description", "enabled", "priority", "entity_types", "config"))
        self.policy_assets: dict[int, set[int]] = defaultdict(set)
        for policy_id, asset_id in Policy.assets.through.objects.values_list("policy_id", "dataasset_id"):
            self.policy_assets[policy_id].add(asset_id)
        self.edges = list(
            Edge.objects.filter(valid_from__lte=at)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=at))
            .values(
                "id",
                "kind",
                "src_type",
                "src_id",
                "dst_type",
                "dst_id",
                "masking",
                "propagation",
                "job_id",
                "producer",
                "actor",
                "transformation_type",
                "valid_from",
            )
        )
        self.scan_runs = {
            r["id"]: r
            for r in ScanRun.objects.filter(created_at__lte=at).values("id", "asset_id", "status", "created_at", "finished_at")
        }

    def _m2m(self, name: str, value: str) -> dict[int, set[str]]:
        """{asset id: names} of an m2m field of DataAsset as of the date."""
        out: dict[int, set[str]] = defaultdict(set)
        history_ids = {a["history_id"]: pk for pk, a in self.assets.items() if a["history_id"] is not None}
        snapshot = DataAsset.history.model._meta.get_field(f"historicaldataasset_{name}").related_model
        for history_id, item in snapshot.objects.filter(history_id__in=list(history_ids)).values_list("history_id", value):
            if item:
                out[history_ids[history_id]].add(item)
        live = [pk for pk, a in self.assets.items() if a["history_id"] is None]
        through = getattr(DataAsset, name).through
        for asset_id, item in through.objects.filter(dataasset_id__in=live).values_list("dataasset_id", value):
            if item:
                out[asset_id].add(item)
        return out

    # --- scope helpers ---------------------------------------------------------------------------

    def asset_name(self, asset_id: int | None) -> str:
        asset = self.assets.get(asset_id) if asset_id is not None else None
        if asset is None:
            return f"asset {asset_id} (not in the catalog at this date)" if asset_id is not None else ""
        source = self.sources.get(asset["source_id"], {})
        return f"{source.get('name', '?')}:{asset['qualified_name']}"

    def in_scope(self, asset_id: int) -> bool:
        if self.scope.asset_ids and asset_id not in self.scope.asset_ids:
            return False
        if self.scope.regulation:
            pack = self.packs.get(self.scope.regulation)
            if pack is None:
                return False
            return pack_applies(
                pack["content"] or {},
                self.entity_types.get(asset_id, set()),
                self.tags.get(asset_id, set()),
                self.category_index,
                pack["code"],
            )
        return True

    def categories_of(self, entity_types: set[str], pack: str | None = None, *, sensitive_only: bool = False) -> list[str]:
        out = set()
        for entity in entity_types:
            for code, cat, sensitive, _citation in self.category_index.get(entity, []):
                if (pack is None or code == pack) and (sensitive or not sensitive_only):
                    out.add(f"{code}:{cat}")
        return sorted(out)

    def labels(self, codes: list[str]) -> list[str]:
        """Readable names of category codes (``gdpr:art9-health`` -> ``GDPR: Data concerning health``)."""
        return [self.category_names.get(code, code) for code in codes]

    def policies_for(self, asset_id: int, kind: str) -> list[dict]:
        entity_types = self.entity_types.get(asset_id, set())
        found = []
        for pk, policy in sorted(self.policies.items(), key=lambda kv: (kv[1]["priority"], kv[1]["name"])):
            if policy["kind"] != kind or not policy["enabled"]:
                continue
            scoped = self.policy_assets.get(pk)
            if scoped and asset_id not in scoped:
                continue
            if policy["entity_types"] and not set(policy["entity_types"]) & entity_types:
                continue
            found.append({"id": pk, "name": policy["name"], "version": policy["_version"]})
        return found


# --- ledger citations --------------------------------------------------------------------------


def range_events(scope: Scope, actions: tuple[str, ...]) -> list[dict[str, Any]]:
    """Events of ``actions`` inside the exported ledger range, oldest first, each with its citation."""
    rows = (
        AuditEvent.objects.filter(entry__seq__gte=scope.rng.first_seq, entry__seq__lt=scope.rng.end_seq, action__in=actions)
        .order_by("entry__seq")
        .values(
            "action",
            "target_type",
            "target_id",
            "occurred_at",
            "actor_type",
            "actor_id",
            "actor_name",
            "reason",
            "details",
            "entry__seq",
            "leaf_hash",
        )
    )
    out = []
    # Fetched whole (not through a server-side cursor, whose first-rows plan walks the range in seq
    # order on PostgreSQL instead of using the action index): the list is built in memory anyway.
    for row in rows:
        out.append(
            {
                "action": row["action"],
                "time": iso(row["occurred_at"]),
                "actor": row["actor_name"] or f"{row['actor_type']}:{row['actor_id']}",
                "target": f"{row['target_type']}:{row['target_id']}",
                "target_type": row["target_type"],
                "target_id": row["target_id"],
                "reason": row["reason"],
                "details": row["details"],
                "ledger": {"seq": row["entry__seq"], "leaf_hash": verify_core.b64(bytes(row["leaf_hash"]))},
            }
        )
    return out


def _asset_of_event(event: dict) -> int | None:
    if event["target_type"] == "catalog.dataasset":
        return int(event["target_id"])
    value = (event.get("details") or {}).get("asset_id")
    return int(value) if isinstance(value, int) else None


# --- sections ----------------------------------------------------------------------------------


def inventory(snap: Snapshot) -> dict[str, Any]:
    """Every asset and column holding PII as of the date: entity types, where each classification
    came from and its state, sensitivity, and the scan that found it."""
    assets = []
    for asset_id in sorted(snap.assets, key=lambda a: snap.asset_name(a)):
        if not snap.entity_types.get(asset_id) or not snap.in_scope(asset_id):
            continue
        asset = snap.assets[asset_id]
        columns = []
        for col_id in sorted(
            snap.pii_columns.get(asset_id, []), key=lambda c: (snap.columns[c]["position"], snap.columns[c]["name"])
        ):
            col = snap.columns[col_id]
            classes = []
            for c in sorted(snap.column_classes[col_id], key=lambda c: (c["entity_type"], c["source"])):
                scan_id = (c["evidence"] or {}).get("scan_run") if isinstance(c["evidence"], dict) else None
                scan = snap.scan_runs.get(scan_id) if scan_id else None
                classes.append(
                    {
                        "entity_type": c["entity_type"],
                        "source": c["source"],
                        "state": c["state"],
                        "sensitivity": c["sensitivity"],
                        "confidence": round(float(c["confidence"]), 4),
                        "scan": {"id": scan_id, "status": scan["status"], "finished_at": iso(scan["finished_at"])}
                        if scan
                        else None,
                        "propagated_from": (c["evidence"] or {}).get("origin") if c["source"] == "propagated" else None,
                        "since": iso(c["_changed_at"]),
                    }
                )
            columns.append({"id": col_id, "name": col["name"], "data_type": col["data_type"], "classifications": classes})
        assets.append(
            {
                "id": asset_id,
                "name": snap.asset_name(asset_id),
                "kind": asset["kind"],
                "status": asset["status"],
                "sensitivity": asset["sensitivity"],
                "domain": snap.domains.get(asset["domain_id"], {}).get("name") if asset["domain_id"] else None,
                "owners": sorted(snap.people.get(asset_id, [])),
                "entity_types": sorted(snap.entity_types[asset_id]),
                "special_categories": snap.categories_of(snap.entity_types[asset_id], sensitive_only=True),
                "special_category_names": snap.labels(snap.categories_of(snap.entity_types[asset_id], sensitive_only=True)),
                "columns": columns,
            }
        )
    return {"view": snap.scope.view_label(), "assets": assets}


def inventory_rows(inv: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for asset in inv["assets"]:
        for column in asset["columns"]:
            for c in column["classifications"]:
                rows.append(
                    {
                        "asset_id": asset["id"],
                        "asset": asset["name"],
                        "asset_sensitivity": asset["sensitivity"],
                        "column": column["name"],
                        "entity_type": c["entity_type"],
                        "classification_source": c["source"],
                        "state": c["state"],
                        "sensitivity": c["sensitivity"],
                        "confidence": c["confidence"],
                        "scan_id": (c["scan"] or {}).get("id", ""),
                    }
                )
    return rows


def art30(snap: Snapshot) -> dict[str, Any]:
    """The GDPR Art. 30(1) record of processing activities: one activity per asset holding personal
    data, fields (a)-(g), and the gaps (fields with nothing recorded)."""
    controller = getattr(settings, "CUSTOS_CONTROLLER", "") or "(controller identity not configured in Custos: CUSTOS_CONTROLLER)"
    records = []
    for asset_id in sorted(snap.assets, key=lambda a: snap.asset_name(a)):
        entity_types = snap.entity_types.get(asset_id, set())
        if not entity_types or not snap.in_scope(asset_id):
            continue
        if not snap.categories_of(entity_types, "gdpr") and snap.scope.regulation not in ("", "gdpr"):
            continue
        a = snap.assets[asset_id]
        contacts = sorted(set(snap.people.get(asset_id, [])) | set(snap.stewards.get(asset_id, [])))
        measures = [f"sensitivity: {a['sensitivity']}"]
        measures += [
            f"{kind} policy: {p['name']} (v{p['version']})"
            for kind in ("access", "anonymization", "retention")
            for p in snap.policies_for(asset_id, kind)
        ]
        if a["storage_country"]:
            measures.append(f"stored in {a['storage_country']}")
        transfers = [
            f"{t.get('country')}: {t.get('safeguard') or 'NO SAFEGUARD RECORDED'}" for t in a["international_transfers"] or []
        ]
        record = {
            "activity_id": asset_id,
            "activity": snap.asset_name(asset_id),
            "a_controller": controller,
            "a_contacts": contacts,
            "b_purposes": list(a["processing_purposes"] or []),
            "b_legal_basis": a["legal_basis"] or "",
            "b_legal_basis_label": LegalBasis(a["legal_basis"]).label if a["legal_basis"] in LegalBasis.values else "",
            "c_data_subject_categories": list(a["data_subject_categories"] or []),
            "c_personal_data_categories": snap.categories_of(entity_types, "gdpr"),
            "c_personal_data_category_names": snap.labels(snap.categories_of(entity_types, "gdpr")),
            "c_entity_types": sorted(entity_types),
            "d_recipients": list(a["recipients"] or []),
            "e_transfers": transfers,
            "f_retention_days": a["retention_days"],
            "f_retention_policies": [p["name"] for p in snap.policies_for(asset_id, "retention")],
            "g_security_measures": measures,
            "recorded_since": iso(a["_changed_at"]),
        }
        gaps = []
        for key, label in (
            ("b_purposes", "(b) purposes"),
            ("b_legal_basis", "(b) lawful basis"),
            ("c_data_subject_categories", "(c) data subject categories"),
            ("d_recipients", "(d) recipients"),
        ):
            if not record[key]:
                gaps.append(label)
        if record["f_retention_days"] is None:
            gaps.append("(f) time limit for erasure")
        if any("NO SAFEGUARD" in t for t in transfers):
            gaps.append("(e) transfer safeguard")
        record["gaps"] = gaps
        records.append(record)
    return {"view": snap.scope.view_label(), "fields": ART30_FIELDS, "records": records}


ART30_CSV_COLUMNS = [
    "activity_id",
    "activity",
    "a_controller",
    "a_contacts",
    "b_purposes",
    "b_legal_basis",
    "c_data_subject_categories",
    "c_personal_data_categories",
    "c_entity_types",
    "d_recipients",
    "e_transfers",
    "f_retention_days",
    "f_retention_policies",
    "g_security_measures",
    "gaps",
    "recorded_since",
]


def ccpa(snap: Snapshot) -> dict[str, Any]:
    """CCPA/CPRA categories of personal information collected (1798.100(a)(1)) and how long each
    is kept (1798.100(a)(3)), from the classifications and the assets' retention."""
    pack = snap.packs.get("ccpa")
    categories = []
    for cat in snap.categories.get("ccpa", []):
        holders = []
        for asset_id in sorted(snap.assets, key=lambda a: snap.asset_name(a)):
            found = snap.entity_types.get(asset_id, set()) & set(cat["entity_types"])
            if found and snap.in_scope(asset_id):
                holders.append(
                    {
                        "asset_id": asset_id,
                        "asset": snap.asset_name(asset_id),
                        "entity_types": sorted(found),
                        "retention_days": snap.assets[asset_id]["retention_days"],
                        "retention_policies": [p["name"] for p in snap.policies_for(asset_id, "retention")],
                        "sale_share_tags": sorted(
                            snap.tags.get(asset_id, set()) & {"ccpa-sold", "ccpa-shared", "ccpa-not-sold-or-shared"}
                        ),
                    }
                )
        if holders:
            days = [h["retention_days"] for h in holders if h["retention_days"] is not None]
            categories.append(
                {
                    **{k: cat[k] for k in ("code", "name", "citation", "sensitive")},
                    "collected": True,
                    "assets": holders,
                    "retention_days_max": max(days) if days else None,
                    "assets_without_retention": sum(1 for h in holders if h["retention_days"] is None),
                }
            )
    return {
        "view": snap.scope.view_label(),
        "pack": {"code": "ccpa", "version": pack["version"]} if pack else None,
        "categories": categories,
        "not_collected": [c["code"] for c in snap.categories.get("ccpa", []) if c["code"] not in {x["code"] for x in categories}],
    }


def hipaa_safe_harbor(snap: Snapshot, runs: list[dict]) -> dict[str, Any]:
    """De-identified datasets (targets of anonymization) and their HIPAA Safe Harbor status: the
    profile used, the re-scan and identifier comparison, k-anonymity, and remaining PHI labels."""
    deidentified: dict[int, dict] = {}
    for edge in snap.edges:
        if edge["kind"] == EdgeKind.ANONYMIZED and edge["src_type"] == "asset" and edge["dst_type"] == "asset":
            deidentified.setdefault(edge["dst_id"], {"source_asset_id": edge["src_id"], "runs": []})
    for run in runs:
        if run["type"] == "anonymization" and run.get("target_asset_id"):
            deidentified.setdefault(run["target_asset_id"], {"source_asset_id": run.get("source_asset_id"), "runs": []})[
                "runs"
            ].append(run)
    hipaa_types = {e for cat in snap.categories.get("hipaa", []) for e in cat["entity_types"]}
    datasets = []
    for asset_id, info in sorted(deidentified.items()):
        if not snap.in_scope(asset_id) and asset_id in snap.assets:
            continue
        latest = info["runs"][-1] if info["runs"] else None
        report = (latest or {}).get("report") or {}
        remaining = sorted(snap.entity_types.get(asset_id, set()) & hipaa_types)
        safe_harbor_profile = bool(latest and "safe-harbor" in (latest.get("profile") or ""))
        passed = bool(report.get("passed")) and not remaining
        datasets.append(
            {
                "asset_id": asset_id,
                "asset": snap.asset_name(asset_id),
                "source_asset": snap.asset_name(info["source_asset_id"]) if info["source_asset_id"] else None,
                "profile": (latest or {}).get("profile"),
                "run_id": (latest or {}).get("id"),
                "verification_passed": report.get("passed"),
                "identifier_values_found_in_output": (report.get("identifier_check") or {}).get("values_found_in_output"),
                "k_anonymity": (report.get("k_anonymity") or {}).get("k"),
                "phi_labels_remaining": remaining,
                "status": "meets Safe Harbor"
                if safe_harbor_profile and passed
                else ("not verified" if not latest else "does not meet Safe Harbor"),
            }
        )
    return {"view": snap.scope.view_label(), "datasets": datasets}


def policies_in_force(snap: Snapshot) -> dict[str, Any]:
    """Regulation packs (with versions and rule overrides) and the enabled policies, as of the date."""
    packs = [
        {
            "code": p["code"],
            "name": p["name"],
            "version": p["version"],
            "citation": p["citation"],
            "enabled": p["enabled"],
            "since": iso(p["_changed_at"]),
        }
        for p in sorted(snap.packs.values(), key=lambda p: p["code"])
        if not snap.scope.regulation or p["code"] == snap.scope.regulation
    ]
    rules = as_of(
        RegulationRule, snap.scope.at, ("code", "pack_id", "severity", "enabled", "overridden", "override_reason", "citation")
    )
    overrides = [
        {
            "code": r["code"],
            "severity": r["severity"],
            "enabled": r["enabled"],
            "reason": r["override_reason"],
            "since": iso(r["_changed_at"]),
        }
        for r in sorted(rules.values(), key=lambda r: r["code"])
        if r["overridden"] and (not snap.scope.regulation or r["code"].startswith(snap.scope.regulation + "."))
    ]
    policies = []
    for pk, p in sorted(snap.policies.items(), key=lambda kv: (kv[1]["kind"], kv[1]["priority"], kv[1]["name"])):
        scoped = sorted(snap.policy_assets.get(pk, set()))
        if snap.scope.asset_ids and scoped and not set(scoped) & set(snap.scope.asset_ids):
            continue
        policies.append(
            {
                "id": pk,
                "name": p["name"],
                "kind": p["kind"],
                "enabled": p["enabled"],
                "version": p["_version"],
                "changed_at": iso(p["_changed_at"]),
                "priority": p["priority"],
                "entity_types": p["entity_types"],
                "assets": [snap.asset_name(a) for a in scoped] or ["(every asset)"],
                "config": p["config"],
                "description": p["description"],
            }
        )
    return {"view": snap.scope.view_label(), "packs": packs, "rule_overrides": overrides, "policies": policies}


def findings(snap: Snapshot) -> dict[str, Any]:
    """Findings open at the date (first seen on or before it, not resolved by then) and the posture
    per regulation computed from them."""
    at = snap.scope.at
    qs = (
        Finding.objects.filter(first_seen__lte=at)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gt=at))
        .select_related("rule")
        .order_by("regulation", "id")
    )
    if snap.scope.regulation:
        qs = qs.filter(regulation=snap.scope.regulation)
    names = model_version_names(at)
    items = []
    for f in qs:
        if f.asset_id is not None and snap.scope.asset_ids and f.asset_id not in snap.scope.asset_ids:
            continue
        items.append(
            {
                "id": f.pk,
                "regulation": f.regulation,
                "rule": f.rule.code,
                "severity": f.severity,
                "citation": f.citation,
                "target": snap.asset_name(f.asset_id)
                if f.asset_id
                else names.get(f.model_version_id, f"model version {f.model_version_id}"),
                "asset_id": f.asset_id,
                "model_version_id": f.model_version_id,
                "message": f.message,
                "fix": f.fix,
                "evidence": f.evidence,
                "first_seen": iso(f.first_seen),
            }
        )
    items.sort(key=lambda f: (-SEVERITY_RANK.get(f["severity"], 0), f["regulation"], f["target"], f["rule"]))
    posture = {}
    for code, pack in sorted(snap.packs.items()):
        if not pack["enabled"] or (snap.scope.regulation and code != snap.scope.regulation):
            continue
        in_scope = {
            a
            for a in snap.assets
            if snap.entity_types.get(a)
            and pack_applies(pack["content"] or {}, snap.entity_types[a], snap.tags.get(a, set()), snap.category_index, code)
        }
        if snap.scope.asset_ids:
            in_scope &= set(snap.scope.asset_ids)
        mine = [f for f in items if f["regulation"] == code]
        with_findings = {f["asset_id"] for f in mine if f["asset_id"]}
        by_severity = Counter(f["severity"] for f in mine)
        counts = {s: by_severity.get(s, 0) for s in sorted(SEVERITY_RANK, key=SEVERITY_RANK.get, reverse=True)}
        posture[code] = {
            "severity_text": ", ".join(f"{n} {s}" for s, n in counts.items() if n),
            "name": pack["name"],
            "version": pack["version"],
            "assets_in_scope": len(in_scope),
            "assets_compliant": len(in_scope - with_findings),
            "assets_with_findings": len(with_findings & in_scope),
            "model_versions_with_findings": len({f["model_version_id"] for f in mine if f["model_version_id"]}),
            "open_findings": len(mine),
            "by_severity": {s: by_severity.get(s, 0) for s in sorted(SEVERITY_RANK, key=SEVERITY_RANK.get, reverse=True)},
        }
    return {"view": snap.scope.view_label(), "posture": posture, "findings": items}


def model_version_names(at: datetime) -> dict[int, str]:
    """{model version id: "model version"} as of ``at``."""
    models = {pk: m["name"] for pk, m in as_of(MLModel, at, ("name",)).items()}
    return {
        pk: f"{models.get(v['model_id'], '?')} {v['version']}"
        for pk, v in as_of(ModelVersion, at, ("model_id", "version")).items()
    }


def runs(snap: Snapshot) -> dict[str, Any]:
    """Retention, anonymization and scan runs started in the period, with what they did and the
    ledger events that recorded them."""
    scope = snap.scope
    cites: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for event in range_events(scope, RUN_ACTIONS):
        cites[(event["target_type"], event["target_id"])].append(event)
    window = Q(started_at__lte=scope.at) & (Q(started_at__gte=scope.period_from) if scope.period_from else Q())
    out: list[dict] = []
    for run in RetentionRun.objects.filter(window).order_by("started_at", "id"):
        events = cites.get(("policies.retentionrun", str(run.pk)), [])
        actions = cites_for_retention(cites, run.pk)
        items = [i for i in (run.report or {}).get("items", []) if _keep_asset(snap, i.get("asset_id"))]
        out.append(
            {
                "type": "retention",
                "id": run.pk,
                "dry_run": run.dry_run,
                "status": run.status,
                "started_at": iso(run.started_at),
                "finished_at": iso(run.finished_at),
                "summary": (run.report or {}).get("summary", {}),
                "items": items,
                "events": [_cite(e) for e in events + actions],
            }
        )
    for run in AnonymizationRun.objects.filter(window).order_by("started_at", "id"):
        if not (_keep_asset(snap, run.source_asset_id) or _keep_asset(snap, run.target_asset_id)):
            continue
        report = run.report or {}
        out.append(
            {
                "type": "anonymization",
                "id": run.pk,
                "profile": run.profile,
                "status": run.status,
                "source_asset_id": run.source_asset_id,
                "source_asset": snap.asset_name(run.source_asset_id) if run.source_asset_id else None,
                "target_asset_id": run.target_asset_id,
                "target_asset": snap.asset_name(run.target_asset_id) if run.target_asset_id else None,
                "rows": run.rows,
                "started_at": iso(run.started_at),
                "finished_at": iso(run.finished_at),
                "report": {
                    "passed": report.get("passed"),
                    "identifier_check": report.get("identifier_check"),
                    "k_anonymity": {
                        k: v for k, v in (report.get("k_anonymity") or {}).items() if k in ("k", "quasi_identifiers", "rows")
                    },
                    "columns": [{"name": c.get("name"), "operator": c.get("operator")} for c in report.get("columns", [])],
                },
                "events": [_cite(e) for e in cites.get(("policies.anonymizationrun", str(run.pk)), [])],
            }
        )
    scan_window = Q(created_at__lte=scope.at) & (Q(created_at__gte=scope.period_from) if scope.period_from else Q())
    for run in ScanRun.objects.filter(scan_window).order_by("created_at", "id"):
        if run.asset_id and not _keep_asset(snap, run.asset_id):
            continue
        if not run.asset_id and scope.filtered:
            continue
        out.append(
            {
                "type": "scan",
                "id": run.pk,
                "status": run.status,
                "asset_id": run.asset_id,
                "asset": snap.asset_name(run.asset_id) if run.asset_id else None,
                "rows_scanned": run.rows_scanned,
                "rows_sampled": run.rows_sampled,
                "classifications_written": run.classifications_written,
                "started_at": iso(run.started_at or run.created_at),
                "finished_at": iso(run.finished_at),
                "events": [_cite(e) for e in cites.get(("scanning.scanrun", str(run.pk)), [])],
            }
        )
    return {"view": scope.view_label(), "runs": out}


def cites_for_retention(cites: dict, run_id: int) -> list[dict]:
    """Per-action retention events name the asset as target and the run in their details."""
    found = []
    for (target_type, _target_id), events in cites.items():
        if target_type == "policies.retentionrun":
            continue
        found.extend(e for e in events if (e.get("details") or {}).get("retention_run_id") == run_id)
    return found


def _keep_asset(snap: Snapshot, asset_id: int | None) -> bool:
    if not snap.scope.filtered:
        return True
    return asset_id is not None and asset_id in snap.assets and snap.in_scope(asset_id)


def _cite(event: dict) -> dict:
    return {"action": event["action"], "time": event["time"], "actor": event["actor"], "ledger": event["ledger"]}


def access(snap: Snapshot) -> dict[str, Any]:
    """Access decisions and data reads in the period (from the ledger), and the access grants as
    of the date with the grant events of the period."""
    decisions = [e for e in range_events(snap.scope, ACCESS_ACTIONS) if _keep_asset(snap, _asset_of_event(e))]
    for event in decisions:
        event["asset"] = snap.asset_name(_asset_of_event(event))
    grant_events: dict[str, list[dict]] = defaultdict(list)
    for event in range_events(snap.scope, GRANT_ACTIONS):
        grant_events[event["target_id"]].append(event)
    usernames = dict(User.objects.values_list("pk", "username"))
    grants = []
    for pk, g in sorted(
        as_of(
            AccessGrant,
            snap.scope.at,
            ("user_id", "asset_id", "purpose", "effect", "state", "valid_from", "valid_until", "decided_at", "decided_by_id"),
        ).items()
    ):
        if not _keep_asset(snap, g["asset_id"]):
            continue
        grants.append(
            {
                "id": pk,
                "user": usernames.get(g["user_id"], f"user {g['user_id']}"),
                "asset_id": g["asset_id"],
                "asset": snap.asset_name(g["asset_id"]),
                "purpose": g["purpose"],
                "effect": g["effect"],
                "state": g["state"],
                "valid_from": iso(g["valid_from"]),
                "valid_until": iso(g["valid_until"]),
                "decided_by": usernames.get(g["decided_by_id"]) if g["decided_by_id"] else None,
                "decided_at": iso(g["decided_at"]),
                "events": [_cite(e) for e in grant_events.get(str(pk), [])],
            }
        )
    effects = Counter((e["details"] or {}).get("effect") for e in decisions if e["action"] == "policies.access.decide")
    return {
        "view": snap.scope.view_label(),
        "summary": {"decisions": sum(effects.values()), "by_effect": dict(sorted((k or "?", v) for k, v in effects.items()))},
        "decisions": decisions,
        "grants": grants,
    }


def deanonymization(snap: Snapshot) -> dict[str, Any]:
    """Every token reveal (de-anonymization) and refused reveal in the period, from the ledger.
    Tokens appear only as the keyed digest the event recorded, never in clear."""
    events = [
        e
        for e in range_events(snap.scope, DEANONYMIZATION_ACTIONS)
        if not snap.scope.filtered or _keep_asset(snap, _asset_of_event(e))
    ]
    return {
        "view": snap.scope.view_label(),
        "summary": {
            "reveals": sum(1 for e in events if e["action"] == "policies.token.reveal"),
            "refused": sum(1 for e in events if e["action"].endswith("denied")),
        },
        "events": events,
    }


def exports(snap: Snapshot) -> dict[str, Any]:
    """Earlier evidence exports and downloads recorded in the range (exports are audited too)."""
    return {"view": snap.scope.view_label(), "events": range_events(snap.scope, EXPORT_ACTIONS)}


def _asset_graph(snap: Snapshot) -> dict[str, list[tuple[str, bool, str]]]:
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
    upstream = _asset_graph(snap)
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
