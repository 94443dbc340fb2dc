"""Reads of compliance.policies that are more than a filter. Scoped with ``restrict(user, action)``."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.permissions import VIEW
from catalog.choices import ClassificationState
from catalog.models import Classification, DataAsset
from compliance.policies.choices import SEVERITY_RANK, FindingStatus, GrantState, PolicyKind
from compliance.policies.models import AccessGrant, Finding, LegalHold, Policy, RegulationCategory, RegulationPack, RetentionRun


def asset_entity_types(asset: DataAsset) -> dict[str, set[str]]:
    """{column name: entity types} of the asset's classifications that are not rejected."""
    result: dict[str, set[str]] = defaultdict(set)
    rows = (
        Classification.objects.filter(column__asset=asset)
        .exclude(state=ClassificationState.REJECTED)
        .values_list("column__name", "entity_type")
    )
    for column, entity in rows:
        result[column].add(entity)
    return dict(result)


def category_index() -> dict[str, list[tuple[str, str, bool, str]]]:
    """entity type -> [(pack code, category code, sensitive, citation)] over enabled packs."""
    index: dict[str, list[tuple[str, str, bool, str]]] = defaultdict(list)
    for category in RegulationCategory.objects.filter(pack__enabled=True).select_related("pack"):
        for entity in category.entity_types:
            index[entity].append((category.pack.code, category.code, category.sensitive, category.citation))
    return dict(index)


def categories_for(entity_types: set[str], index: dict | None = None) -> dict[str, dict[str, Any]]:
    """{"pack:code": {"sensitive": bool, "citation": str, "entity_types": [...]}} for the entity types."""
    index = category_index() if index is None else index
    out: dict[str, dict[str, Any]] = {}
    for entity in sorted(entity_types):
        for pack, code, sensitive, citation in index.get(entity, []):
            entry = out.setdefault(f"{pack}:{code}", {"sensitive": sensitive, "citation": citation, "entity_types": []})
            entry["entity_types"].append(entity)
    return out


def policies_for_asset(asset: DataAsset, kind: str, *, entity_types: set[str] | None = None) -> list[Policy]:
    """Enabled policies of ``kind`` whose scope covers ``asset`` (empty scope = every asset), by priority."""
    entity_types = entity_types if entity_types is not None else {e for es in asset_entity_types(asset).values() for e in es}
    candidates = (
        Policy.objects.filter(kind=kind, enabled=True)
        .filter(Q(assets=asset) | Q(assets__isnull=True))
        .filter(Q(domains=asset.domain_id) | Q(domains__isnull=True) if asset.domain_id else Q(domains__isnull=True))
        .distinct()
        .order_by("priority", "name")
    )
    # A policy scoped to assets or domains that do not include this one was filtered above; a policy
    # scoped by entity types applies only when the asset holds one of them.
    return [p for p in candidates if not p.entity_types or set(p.entity_types) & entity_types]


def active_holds(asset: DataAsset) -> QuerySet[LegalHold]:
    return LegalHold.objects.filter(asset=asset, released_at__isnull=True)


def active_grant(*, user: Any, asset: DataAsset, purpose: str) -> AccessGrant | None:
    now = timezone.now()
    return (
        AccessGrant.objects.filter(
            user=user, asset=asset, purpose=purpose, state=GrantState.APPROVED, valid_from__lte=now, valid_until__gt=now
        )
        .order_by("-valid_until")
        .first()
    )


def policy_list(*, user: Any) -> QuerySet[Policy]:
    return Policy.objects.restrict(user, VIEW).select_related("owner").prefetch_related("assets", "domains")


def finding_list(*, user: Any) -> QuerySet[Finding]:
    return Finding.objects.restrict(user, VIEW).select_related("rule", "asset", "model_version", "model_version__model")


def grant_list(*, user: Any) -> QuerySet[AccessGrant]:
    from accounts.permissions import DECIDE, user_can

    qs = AccessGrant.objects.select_related("user", "asset", "requested_by", "decided_by")
    if user_can(user, DECIDE) or user_can(user, "audit"):
        return qs
    return qs.filter(Q(user=user) | Q(requested_by=user)) if getattr(user, "is_authenticated", False) else qs.none()


def posture(*, regulation: str | None = None, user: Any = None) -> dict[str, Any]:
    """Per regulation: assets in scope, compliant, open findings by severity, worst severity."""
    packs = RegulationPack.objects.filter(enabled=True)
    if regulation:
        packs = packs.filter(code=regulation)
    findings = Finding.objects.filter(status=FindingStatus.OPEN)
    if user is not None:
        findings = findings.restrict(user, VIEW)
    out: dict[str, Any] = {}
    for pack in packs:
        open_findings = findings.filter(regulation=pack.code)
        by_severity = Counter(open_findings.values_list("severity", flat=True))
        assets_with = set(open_findings.exclude(asset=None).values_list("asset_id", flat=True))
        in_scope = _assets_in_scope(pack)
        models_with = set(open_findings.exclude(model_version=None).values_list("model_version_id", flat=True))
        worst = max(by_severity, key=lambda s: SEVERITY_RANK[s], default=None)
        out[pack.code] = {
            "name": pack.name,
            "version": pack.version,
            "assets_in_scope": len(in_scope),
            "assets_compliant": len(in_scope - assets_with),
            "assets_with_findings": len(assets_with),
            "model_versions_with_findings": len(models_with),
            "open_findings": sum(by_severity.values()),
            "by_severity": {s: by_severity.get(s, 0) for s in sorted(SEVERITY_RANK, key=SEVERITY_RANK.get, reverse=True)},
            "worst_severity": worst,
        }
    return out


def _assets_in_scope(pack: RegulationPack) -> set[int]:
    from compliance.policies.evaluation import pack_applies

    index = category_index()
    by_asset: dict[int, set[str]] = defaultdict(set)
    for asset_id, entity in (
        Classification.objects.exclude(state=ClassificationState.REJECTED)
        .exclude(column__asset__status="deleted")
        .values_list("column__asset_id", "entity_type")
    ):
        by_asset[asset_id].add(entity)
    tags = defaultdict(set)
    for asset_id, tag in DataAsset.objects.filter(pk__in=by_asset).values_list("pk", "tags__name"):
        if tag:
            tags[asset_id].add(tag)
    return {a for a, es in by_asset.items() if pack_applies(pack.content, es, tags.get(a, set()), index, pack.code)}


def retention_policies() -> QuerySet[Policy]:
    return Policy.objects.filter(kind=PolicyKind.RETENTION, enabled=True).order_by("priority", "name")


def retention_report_for(run: RetentionRun, user: Any) -> dict[str, Any]:
    """A retention run's report as ``user`` may read it: items of assets hidden from the user
    (restricted ones, issue 12 defect 4) are left out and counted, never described."""
    report = dict(run.report or {})
    items = report.get("items") or []
    if not items:
        return report
    visible = set(
        DataAsset.objects.restrict(user, VIEW).filter(pk__in={i.get("asset_id") for i in items}).values_list("pk", flat=True)
    )
    shown = [i for i in items if i.get("asset_id") in visible]
    report["items"] = shown
    if len(shown) != len(items):
        report["items_hidden"] = len(items) - len(shown)
        report.pop("summary", None)  # totals over hidden assets would describe them
    return report
