"""The catalog as it stood at the export's moment (``Snapshot``), what the export covers
(``Scope``), and ``as_of``: a model's rows as of a date from its django-simple-history table."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q

from catalog.models import Classification, Column, DataAsset, DataSource, Domain
from compliance.evidence.ledger import LedgerRange
from compliance.policies.evaluation import pack_applies
from compliance.policies.models import (
    Policy,
    RegulationCategory,
    RegulationPack,
)
from compliance.scanning.models import ScanRun
from lineage.models import Edge


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
