"""Every write to the catalog. Each function validates (``full_clean``), saves and appends its
audit event in one transaction, and takes the acting user (or a system component name) as
``actor``. Audit details carry ids, field names and enumerated values, never free-text content.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from accounts.permissions import ADD, CHANGE, DECIDE, DELETE, require
from audit.services import record
from catalog import signals
from catalog.choices import (
    SENSITIVITY_RANK,
    AssetStatus,
    ClassificationSource,
    ClassificationState,
    Sensitivity,
)
from catalog.locations import validate_location
from catalog.models import (
    Classification,
    Column,
    DataAsset,
    DataSource,
    Domain,
    GlossaryTerm,
    MLModel,
    ModelVersion,
    Tag,
)
from core.types import Actor

# Enumerated fields whose before/after values go into audit details (they are never personal data).
AUDITED_VALUES = {"status", "sensitivity", "stage", "kind", "state", "legal_basis", "retention_days", "role"}


# Who may do what (docs/api.md "Catalog permissions"): every service checks its actor first.
# ``actor`` is a user (checked against the role matrix) or a system component's name (a str such
# as "scanner" or "demo_load": code, not a request, so it is not checked; the audit names it).


def _require(actor: Actor | str, action: str, what: str) -> None:
    """Raise PermissionDenied("<role> may not <action> <what>") unless ``actor`` may ``action``."""
    if not isinstance(actor, str):
        require(actor, action, what)


def _label(model: type[models.Model] | models.Model) -> str:
    return str(model._meta.verbose_name_plural)


# --- shared mechanics ---------------------------------------------------------------------------


def _split_m2m(model: type[models.Model], data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    plain, m2m = {}, {}
    for key, value in data.items():
        field = model._meta.get_field(key)
        (m2m if field.many_to_many else plain)[key] = value
    return plain, m2m


def _create(model: type[models.Model], *, actor: Actor, action: str, data: dict[str, Any], reason: str = "") -> Any:
    _require(actor, ADD, _label(model))
    plain, m2m = _split_m2m(model, data)
    with transaction.atomic():
        instance = model(**plain)
        instance.full_clean()
        instance.save()
        for name, values in m2m.items():
            getattr(instance, name).set(values)
        details = {"fields": sorted(data)} | {k: plain[k] for k in AUDITED_VALUES & plain.keys()}
        record(actor=actor, action=action, target=instance, reason=reason, details=details)
    return instance


def _update(
    instance: models.Model, *, actor: Actor, action: str, data: dict[str, Any], reason: str = "", permission: str = CHANGE
) -> Any:
    _require(actor, permission, _label(instance))
    plain, m2m = _split_m2m(type(instance), data)
    with transaction.atomic():
        changes: dict[str, Any] = {}
        for name, value in plain.items():
            old = getattr(instance, name)
            if old != value:
                setattr(instance, name, value)
                changes[name] = {"from": old, "to": value} if name in AUDITED_VALUES else True
        instance.full_clean()
        instance.save()
        for name, values in m2m.items():
            manager = getattr(instance, name)
            before = set(manager.values_list("pk", flat=True))
            after = {getattr(v, "pk", v) for v in values}
            if before != after:
                manager.set(values)
                changes[name] = {"added": sorted(after - before), "removed": sorted(before - after)}
        if changes:
            record(actor=actor, action=action, target=instance, reason=reason, details={"changes": changes})
    return instance


def _delete(
    instance: models.Model,
    *,
    actor: Actor,
    action: str,
    reason: str = "",
    details: dict[str, Any] | None = None,
    permission: str = DELETE,
) -> None:
    _require(actor, permission, _label(instance))
    with transaction.atomic():
        target_type, target_id = instance._meta.label_lower, instance.pk
        try:
            instance.delete()
        except ProtectedError as exc:
            # kinds of object only: no name, id or count (an invisible restricted asset stays unseen)
            names = sorted({str(obj._meta.verbose_name_plural) for obj in exc.protected_objects})
            what = str(instance._meta.verbose_name)
            raise ValidationError(f"cannot delete this {what}: still referenced by {', '.join(names)}") from exc
        record(actor=actor, action=action, target_type=target_type, target_id=target_id, reason=reason, details=details)


def _after_commit(signal, **kwargs: Any) -> None:
    """Send a catalog signal once the current transaction commits (never for a rolled-back change)."""
    transaction.on_commit(lambda: signal.send(sender=None, **kwargs))


def _classification_changed(classification: Classification, change: str) -> None:
    _after_commit(
        signals.classification_changed,
        classification_id=classification.pk,
        column_id=classification.column_id,
        entity_type=classification.entity_type,
        source=classification.source,
        state=classification.state,
        change=change,
    )


# --- domains, tags, glossary --------------------------------------------------------------------


def domain_create(*, actor: Actor, **data: Any) -> Domain:
    return _create(Domain, actor=actor, action="catalog.domain.create", data=data)


def domain_update(*, domain: Domain, actor: Actor, **data: Any) -> Domain:
    return _update(domain, actor=actor, action="catalog.domain.update", data=data)


def domain_delete(*, domain: Domain, actor: Actor, reason: str = "") -> None:
    _delete(domain, actor=actor, action="catalog.domain.delete", reason=reason)


def tag_create(*, actor: Actor, **data: Any) -> Tag:
    return _create(Tag, actor=actor, action="catalog.tag.create", data=data)


def tag_update(*, tag: Tag, actor: Actor, **data: Any) -> Tag:
    return _update(tag, actor=actor, action="catalog.tag.update", data=data)


def tag_delete(*, tag: Tag, actor: Actor, reason: str = "") -> None:
    _delete(tag, actor=actor, action="catalog.tag.delete", reason=reason)


def tag_ensure(*, name: str, actor: Actor) -> Tag:
    """The tag called ``name``, created (and audited) if missing."""
    existing = Tag.objects.filter(name=name).first()
    return existing or tag_create(actor=actor, name=name)


def glossary_term_create(*, actor: Actor, **data: Any) -> GlossaryTerm:
    return _create(GlossaryTerm, actor=actor, action="catalog.glossary_term.create", data=data)


def glossary_term_update(*, term: GlossaryTerm, actor: Actor, **data: Any) -> GlossaryTerm:
    return _update(term, actor=actor, action="catalog.glossary_term.update", data=data)


def glossary_term_delete(*, term: GlossaryTerm, actor: Actor, reason: str = "") -> None:
    _delete(term, actor=actor, action="catalog.glossary_term.delete", reason=reason)


# --- sources and assets -------------------------------------------------------------------------


def source_create(*, actor: Actor, name: str, kind: str, namespace: str, **data: Any) -> DataSource:
    return _create(
        DataSource, actor=actor, action="catalog.source.create", data={"name": name, "kind": kind, "namespace": namespace, **data}
    )


def source_update(*, source: DataSource, actor: Actor, **data: Any) -> DataSource:
    return _update(source, actor=actor, action="catalog.source.update", data=data)


def source_delete(*, source: DataSource, actor: Actor, reason: str = "") -> None:
    """Refused while assets still belong to the source."""
    _delete(source, actor=actor, action="catalog.source.delete", reason=reason)


def source_ensure(*, namespace: str, actor: Actor, kind: str = "other", name: str | None = None) -> DataSource:
    """The source for an OpenLineage ``namespace``, registered (and audited) if unknown."""
    existing = DataSource.objects.filter(namespace=namespace).first()
    if existing:
        return existing
    return source_create(actor=actor, name=name or namespace[:200], kind=kind, namespace=namespace)


def _steward_decisions(asset: DataAsset, data: dict[str, Any], actor: Actor) -> list[str]:
    """The fields of ``data`` whose change is a steward decision (DECIDE) rather than an edit.

    Setting or changing ``location`` (where data is read from), lowering ``sensitivity`` (it
    switches masking and restriction off), changing the ``legal_basis`` of an existing asset (the
    GDPR Art. 6 lawful basis the policies evaluate), and adding oneself as owner or steward of an
    existing asset (owners keep access to restricted assets)."""
    decisions = []
    if "location" in data and (data["location"] or "") != (asset.location or ""):
        decisions.append("location")
    if "legal_basis" in data and asset.pk and (data["legal_basis"] or "") != (asset.legal_basis or ""):
        decisions.append("legal_basis")
    if "sensitivity" in data and asset.pk:
        old, new = Sensitivity(asset.sensitivity), Sensitivity(data["sensitivity"])
        if SENSITIVITY_RANK[new] < SENSITIVITY_RANK[old]:
            decisions.append("sensitivity")
    actor_pk = getattr(actor, "pk", None)
    if asset.pk and actor_pk is not None:
        for name in ("owners", "stewards"):
            if name in data:
                before = set(getattr(asset, name).values_list("pk", flat=True))
                after = {getattr(v, "pk", v) for v in data[name]}
                if actor_pk in after - before:
                    decisions.append(name)
    return decisions


def _check_sensitivity_floor(asset: DataAsset, sensitivity: str) -> None:
    from catalog.selectors import asset_sensitivity_floor

    floor = asset_sensitivity_floor(asset)
    if SENSITIVITY_RANK[Sensitivity(sensitivity)] < SENSITIVITY_RANK[floor]:
        raise ValidationError({"sensitivity": f"may not be below {floor}: the asset's confirmed classifications imply it"})


def _record_decision(asset: DataAsset, *, actor: Actor, decisions: list[str], reason: str, details: dict[str, Any]) -> None:
    record(
        actor=actor, action="catalog.asset.decide", target=asset, reason=reason, details={"decided": sorted(decisions)} | details
    )


# One answer for a taken name, whoever asks: it says neither "exists" nor which asset holds it.
QUALIFIED_NAME_TAKEN = "this qualified name cannot be registered on this source"


def asset_register(
    *,
    actor: Actor,
    source: DataSource,
    qualified_name: str,
    name: str = "",
    reason: str = "",
    system_location: bool = False,
    **data: Any,
) -> DataAsset:
    """Register a new asset (ADD). ``name`` defaults to the last segment of ``qualified_name``.

    A ``location`` is a steward decision (DECIDE), checked by every registered location validator
    (:mod:`catalog.locations`) and audited as ``catalog.asset.decide``. ``system_location=True``
    only when Custos itself chose the location (an anonymization output from the datasets
    layer), never for a caller-supplied one: the validators still run, DECIDE is not required.
    The registering user is kept in ``registered_by``: it keeps access to the asset if a steward
    later makes it restricted. A taken qualified name is refused with the same message whether
    or not the actor may see the asset holding it (no existence leak through the error)."""
    _require(actor, ADD, "assets")
    if data.get("status") == AssetStatus.DELETED:
        _require(actor, DELETE, "assets (status deleted is a delete)")
    location = data.get("location") or ""
    if location:
        if not system_location:
            _require(actor, DECIDE, "asset locations (a steward decision)")
        validate_location(location)
    if DataAsset.objects.filter(source=source, qualified_name=qualified_name).exists():
        raise ValidationError({"qualified_name": QUALIFIED_NAME_TAKEN})
    short = name or qualified_name.replace("/", ".").rstrip(".").split(".")[-1] or qualified_name
    registered_by = actor if getattr(actor, "pk", None) else None
    with transaction.atomic():
        asset = _create(
            DataAsset,
            actor=actor,
            action="catalog.asset.register",
            data={
                "source": source,
                "qualified_name": qualified_name,
                "name": short[:200],
                "registered_by": registered_by,
                **data,
            },
            reason=reason,
        )
        if location:
            _record_decision(asset, actor=actor, decisions=["location"], reason=reason, details={"system": system_location})
        _after_commit(signals.asset_changed, asset_id=asset.pk, change="registered")
    return asset


def asset_ensure(*, source: DataSource, qualified_name: str, actor: Actor, **data: Any) -> tuple[DataAsset, bool]:
    """The asset ``qualified_name`` of ``source``, registered if unknown; returns (asset, created)."""
    existing = DataAsset.objects.filter(source=source, qualified_name=qualified_name).first()
    if existing:
        return existing, False
    return asset_register(actor=actor, source=source, qualified_name=qualified_name, **data), True


def asset_update(*, asset: DataAsset, actor: Actor, reason: str = "", system_location: bool = False, **data: Any) -> DataAsset:
    """Change an asset (CHANGE). Steward decisions among the changes (see ``_steward_decisions``:
    location, lowering sensitivity, legal basis, adding oneself as owner/steward) need DECIDE and are audited
    as ``catalog.asset.decide`` with ``reason``; sensitivity never goes below what the asset's
    confirmed classifications imply. A new location is checked by the location validators.

    A soft delete is a delete: setting ``status`` to ``deleted`` (or restoring a deleted asset)
    needs DELETE whichever caller asks (API PATCH/PUT, admin form, command), and is audited as
    ``catalog.asset.delete`` / ``catalog.asset.restore`` besides the update."""
    _require(actor, CHANGE, "assets")
    status_change = _soft_delete_change(asset, data)
    if status_change:
        _require(actor, DELETE, "assets (status deleted is a delete)")
    decisions = _steward_decisions(asset, data, actor)
    if "location" in decisions and system_location:
        decisions.remove("location")
    if decisions:
        _require(actor, DECIDE, f"asset {', '.join(decisions)} (a steward decision)")
    if "location" in data and (data["location"] or "") != (asset.location or ""):
        validate_location(data["location"] or "")
    if "sensitivity" in data and data["sensitivity"] != asset.sensitivity:
        _check_sensitivity_floor(asset, data["sensitivity"])
    if "qualified_name" in data or "source" in data:
        source = data.get("source", asset.source)
        qualified_name = data.get("qualified_name", asset.qualified_name)
        if DataAsset.objects.filter(source=source, qualified_name=qualified_name).exclude(pk=asset.pk).exists():
            raise ValidationError({"qualified_name": QUALIFIED_NAME_TAKEN})
    old_status = asset.status
    with transaction.atomic():
        _update(asset, actor=actor, action="catalog.asset.update", data=data, reason=reason)
        if decisions:
            _record_decision(asset, actor=actor, decisions=decisions, reason=reason, details={})
        if status_change:
            record(
                actor=actor,
                action=f"catalog.asset.{status_change}",
                target=asset,
                reason=reason,
                details={"status": {"from": str(old_status), "to": str(asset.status)}},
            )
        _after_commit(signals.asset_changed, asset_id=asset.pk, change="deleted" if status_change == "delete" else "updated")
    return asset


def _soft_delete_change(asset: DataAsset, data: dict[str, Any]) -> str:
    """``"delete"`` when ``data`` moves the asset into status ``deleted``, ``"restore"`` when it
    moves it out of it, ``""`` otherwise. Both are the DELETE action."""
    if "status" not in data or data["status"] == asset.status:
        return ""
    if data["status"] == AssetStatus.DELETED:
        return "delete"
    if asset.status == AssetStatus.DELETED:
        return "restore"
    return ""


def asset_delete(*, asset: DataAsset, actor: Actor, reason: str = "") -> DataAsset:
    """Soft delete (DELETE): status becomes ``deleted``; the row, its columns and history stay."""
    with transaction.atomic():
        _update(
            asset,
            actor=actor,
            action="catalog.asset.delete",
            data={"status": AssetStatus.DELETED},
            reason=reason,
            permission=DELETE,
        )
        _after_commit(signals.asset_changed, asset_id=asset.pk, change="deleted")
    return asset


def asset_set_owners(*, asset: DataAsset, owners: Iterable[Any], actor: Actor, reason: str = "") -> DataAsset:
    """Replace the owners (CHANGE; adding oneself is a steward decision, DECIDE)."""
    owners = list(owners)
    decisions = _steward_decisions(asset, {"owners": owners}, actor)
    if decisions:
        _require(actor, DECIDE, "asset owners (adding oneself is a steward decision)")
    with transaction.atomic():
        _update(asset, actor=actor, action="catalog.asset.set_owners", data={"owners": owners}, reason=reason)
        if decisions:
            _record_decision(asset, actor=actor, decisions=decisions, reason=reason, details={})
    return asset


def asset_raise_sensitivity(*, asset: DataAsset, sensitivity: str, actor: Actor, reason: str = "") -> DataAsset:
    """Raise the asset's sensitivity to at least ``sensitivity`` (CHANGE; never lowers it)."""
    if SENSITIVITY_RANK[Sensitivity(sensitivity)] <= SENSITIVITY_RANK[Sensitivity(asset.sensitivity)]:
        return asset
    return _update(asset, actor=actor, action="catalog.asset.update", data={"sensitivity": sensitivity}, reason=reason)


# --- columns ------------------------------------------------------------------------------------


def column_create(*, actor: Actor, asset: DataAsset, name: str, reason: str = "", **data: Any) -> Column:
    """Add a column (ADD). Owners and the registrant of a restricted asset may add columns to it
    (the API's asset field is scoped by the same rule as reads)."""
    return _create(
        Column, actor=actor, action="catalog.column.create", data={"asset": asset, "name": name, **data}, reason=reason
    )


def _is_classified(column: Column) -> bool:
    return column.classifications.exclude(state=ClassificationState.REJECTED).exists()


def column_update(*, column: Column, actor: Actor, reason: str = "", **data: Any) -> Column:
    """Change a column (CHANGE). Renaming a classified column, or moving it to another asset, is
    a steward decision (DECIDE), audited as ``catalog.column.decide`` with ``reason``. Every former
    name is kept in ``former_names`` so masking follows the column (``selectors.column_names_ever``)."""
    _require(actor, CHANGE, "columns")
    renamed = "name" in data and data["name"] != column.name
    new_asset = data.get("asset")
    moved = new_asset is not None and getattr(new_asset, "pk", new_asset) != column.asset_id
    decisions = [d for d, flag in (("name", renamed), ("asset", moved)) if flag] if _is_classified(column) else []
    if decisions:
        _require(actor, DECIDE, f"a classified column's {' and '.join(decisions)} (a steward decision)")
    if renamed and column.name not in column.former_names:
        data["former_names"] = [*column.former_names, column.name]
    old_asset_id = column.asset_id
    with transaction.atomic():
        _update(column, actor=actor, action="catalog.column.update", data=data, reason=reason)
        if decisions:
            record(
                actor=actor,
                action="catalog.column.decide",
                target=column,
                reason=reason,
                details={"decided": decisions, "asset": {"from": old_asset_id, "to": column.asset_id}},
            )
    return column


def column_delete(*, column: Column, actor: Actor, reason: str = "") -> None:
    _delete(column, actor=actor, action="catalog.column.delete", reason=reason)


def columns_sync(*, asset: DataAsset, columns: Sequence[dict[str, Any]], actor: Actor) -> dict[str, Column]:
    """Make sure each of ``columns`` ({"name", "data_type"?, "description"?}) exists on ``asset``.

    New columns are registered; known ones get a data type or description they lacked. Columns
    not listed are left alone (a partial schema never deletes). Returns name -> Column.
    """
    with transaction.atomic():
        existing = {c.name: c for c in asset.columns.all()}
        next_position = max((c.position for c in existing.values()), default=-1) + 1
        for spec in columns:
            name = spec["name"]
            column = existing.get(name)
            if column is None:
                existing[name] = column_create(
                    actor=actor,
                    asset=asset,
                    name=name,
                    position=spec.get("position", next_position),
                    data_type=spec.get("data_type", "") or "",
                    description=spec.get("description", "") or "",
                )
                next_position += 1
                continue
            patch = {k: spec[k] for k in ("data_type", "description") if spec.get(k) and not getattr(column, k)}
            if patch:
                column_update(column=column, actor=actor, **patch)
    return existing


# --- classifications ----------------------------------------------------------------------------


def classification_suggest(
    *,
    column: Column,
    entity_type: str,
    source: str,
    actor: Actor,
    confidence: float = 1.0,
    sensitivity: str = Sensitivity.CONFIDENTIAL,
    evidence: dict[str, Any] | None = None,
) -> Classification:
    """Create or refresh a suggested classification from a scan, propagation or import (ADD).

    A steward's decision is kept: confirmed stays confirmed and rejected stays rejected; only the
    evidence and confidence are refreshed.
    """
    _require(actor, ADD, "classifications")
    with transaction.atomic():
        existing = (
            Classification.objects.select_for_update().filter(column=column, entity_type=entity_type, source=source).first()
        )
        if existing is None:
            classification = Classification(
                column=column,
                entity_type=entity_type,
                source=source,
                state=ClassificationState.SUGGESTED,
                confidence=confidence,
                sensitivity=sensitivity,
                evidence=evidence or {},
                created_by=actor if getattr(actor, "pk", None) else None,
            )
            classification.full_clean()
            classification.save()
            action = "catalog.classification.suggest"
        else:
            classification = existing
            classification.confidence = confidence
            classification.evidence = evidence or {}
            classification.full_clean()
            classification.save()
            action = "catalog.classification.refresh"
        _classification_changed(classification, "created" if existing is None else "refreshed")
        record(
            actor=actor,
            action=action,
            target=classification,
            details={
                "column_id": column.pk,
                "asset_id": column.asset_id,
                "entity_type": entity_type,
                "source": source,
                "state": classification.state,
                "confidence": round(confidence, 4),
            },
        )
    return classification


def classification_assign(
    *, column: Column, entity_type: str, actor: Actor, sensitivity: str = Sensitivity.CONFIDENTIAL, reason: str = ""
) -> Classification:
    """A steward states a column holds ``entity_type``: a confirmed ``steward`` classification (DECIDE)."""
    _require(actor, DECIDE, "classifications")
    with transaction.atomic():
        classification, _ = Classification.objects.get_or_create(
            column=column,
            entity_type=entity_type,
            source=ClassificationSource.STEWARD,
            defaults={"sensitivity": sensitivity, "created_by": actor if getattr(actor, "pk", None) else None},
        )
        return _decide(classification, state=ClassificationState.CONFIRMED, actor=actor, reason=reason, sensitivity=sensitivity)


def _decide(
    classification: Classification, *, state: str, actor: Actor, reason: str, sensitivity: str | None = None
) -> Classification:
    _require(actor, DECIDE, "classifications")
    with transaction.atomic():
        old_state = classification.state
        classification.state = state
        if sensitivity:
            classification.sensitivity = sensitivity
        classification.decided_by = actor if getattr(actor, "pk", None) else None
        classification.decided_at = timezone.now()
        classification.decision_reason = reason
        classification.full_clean()
        classification.save()
        record(
            actor=actor,
            action=f"catalog.classification.{'confirm' if state == ClassificationState.CONFIRMED else 'reject'}",
            target=classification,
            reason=reason,
            details={
                "column_id": classification.column_id,
                "entity_type": classification.entity_type,
                "source": classification.source,
                "state": {"from": old_state, "to": state},
            },
        )
        _classification_changed(classification, state)
        if state == ClassificationState.CONFIRMED:
            asset_raise_sensitivity(
                asset=classification.column.asset,
                sensitivity=classification.sensitivity,
                actor=actor,
                reason=f"confirmed {classification.entity_type} on column {classification.column_id}",
            )
    return classification


def classification_confirm(*, classification: Classification, actor: Actor, reason: str = "") -> Classification:
    return _decide(classification, state=ClassificationState.CONFIRMED, actor=actor, reason=reason)


def classification_reject(*, classification: Classification, actor: Actor, reason: str = "") -> Classification:
    """Final: later scans and propagation never revive a rejected classification."""
    return _decide(classification, state=ClassificationState.REJECTED, actor=actor, reason=reason)


def classification_set_sensitivity(*, classification: Classification, sensitivity: str, actor: Actor) -> Classification:
    """A steward decision (DECIDE): the classification's sensitivity sets the asset's floor."""
    with transaction.atomic():
        _update(
            classification,
            actor=actor,
            action="catalog.classification.update",
            data={"sensitivity": sensitivity},
            permission=DECIDE,
        )
        _classification_changed(classification, "updated")
    return classification


def classification_withdraw(*, classification: Classification, actor: Actor, reason: str = "") -> None:
    """Remove a machine-made classification whose grounds are gone (e.g. a propagated label whose
    upstream was rejected). Steward-made and steward-decided rows are never withdrawn."""
    if classification.source == ClassificationSource.STEWARD or classification.decided_at is not None:
        raise ValidationError("a steward-made or steward-decided classification cannot be withdrawn; reject it instead")
    with transaction.atomic():
        _classification_changed(classification, "withdrawn")
        details = {
            "column_id": classification.column_id,
            "entity_type": classification.entity_type,
            "source": classification.source,
        }
        _delete(
            classification,
            actor=actor,
            action="catalog.classification.withdraw",
            reason=reason,
            details=details,
            permission=CHANGE,
        )


# --- models -------------------------------------------------------------------------------------


def model_create(*, actor: Actor, name: str, **data: Any) -> MLModel:
    return _create(MLModel, actor=actor, action="catalog.model.create", data={"name": name, **data})


def model_update(*, model: MLModel, actor: Actor, **data: Any) -> MLModel:
    return _update(model, actor=actor, action="catalog.model.update", data=data)


def model_delete(*, model: MLModel, actor: Actor, reason: str = "") -> None:
    _delete(model, actor=actor, action="catalog.model.delete", reason=reason)


def model_version_register(*, actor: Actor, model: MLModel, version: str, **data: Any) -> ModelVersion:
    """Register a trained version; ``training_datasets``/``evaluation_datasets``/``features`` link it.

    Sends ``model_version_changed`` (change ``registered``) after commit: lineage links it into the graph.
    """
    with transaction.atomic():
        model_version = _create(
            ModelVersion, actor=actor, action="catalog.model_version.register", data={"model": model, "version": version, **data}
        )
        _after_commit(signals.model_version_changed, model_version_id=model_version.pk, change="registered")
    return model_version


def model_version_update(*, model_version: ModelVersion, actor: Actor, reason: str = "", **data: Any) -> ModelVersion:
    with transaction.atomic():
        _update(model_version, actor=actor, action="catalog.model_version.update", data=data, reason=reason)
        _after_commit(signals.model_version_changed, model_version_id=model_version.pk, change="updated")
    return model_version


def model_version_delete(*, model_version: ModelVersion, actor: Actor, reason: str = "") -> None:
    with transaction.atomic():
        model_version_id = model_version.pk
        _delete(model_version, actor=actor, action="catalog.model_version.delete", reason=reason)
        _after_commit(signals.model_version_changed, model_version_id=model_version_id, change="deleted")
