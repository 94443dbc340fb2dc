"""Regulation packs, policies, grants, legal holds, findings and runs.

Rows are written only through the services (``compliance.policies.actions``, ``compliance.access``,
``compliance.anonymization.services``, ``compliance.retention``; each write audited in its own
transaction, each service checking its actor). Key material for tokens and encryption never lives here: see ``keys.py``.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from accounts.querysets import RestrictedQuerySet
from catalog.choices import Sensitivity
from catalog.querysets import AssetScopedQuerySet
from compliance.policies.choices import (
    Effect,
    FindingStatus,
    GrantState,
    PolicyKind,
    Purpose,
    Severity,
)
from core.choices import RunStatus
from core.models import Run

slug = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
ENTITY_RE = re.compile(r"^[A-Z][A-Z0-9_]{1,63}$")


def _validate_entity_list(value, field: str) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) and ENTITY_RE.match(v) for v in value):
        raise ValidationError({field: "must be a list of upper-case entity types such as EMAIL_ADDRESS"})


class RegulationPack(models.Model):
    """A regulation as versioned data: its categories and rules, each citing its article.

    Built-in packs (GDPR, HIPAA, CCPA) come from ``packs/*.json`` through a data migration; an
    organisation adds its own with ``services.pack_install``.
    """

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=40)
    jurisdiction = models.CharField(max_length=100, blank=True)
    citation = models.CharField(max_length=300, blank=True, help_text="The legal instrument, e.g. 45 CFR Part 164.")
    description = models.TextField(blank=True)
    builtin = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    content = models.JSONField(default=dict, blank=True, help_text="The pack document as loaded (reference data).")
    loaded_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.version})"


class RegulationCategory(models.Model):
    """A category the regulation defines (HIPAA identifier (A)-(R), CCPA category A-L, GDPR Art. 9
    special category, ...) and the entity types that fall into it."""

    pack = models.ForeignKey(RegulationPack, on_delete=models.CASCADE, related_name="categories")
    code = models.CharField(max_length=50)
    name = models.CharField(max_length=200)
    citation = models.CharField(max_length=300)
    entity_types = models.JSONField(default=list, blank=True)
    sensitive = models.BooleanField(default=False, help_text="Special category, sensitive PI or a Safe Harbor identifier.")

    class Meta:
        ordering = ["pack_id", "code"]
        verbose_name_plural = "regulation categories"
        constraints = [models.UniqueConstraint(fields=["pack", "code"], name="category_unique_per_pack")]

    def __str__(self) -> str:
        return f"{self.pack.code}:{self.code} {self.name}"

    def clean(self) -> None:
        _validate_entity_list(self.entity_types, "entity_types")


class RegulationRule(models.Model):
    """One requirement of a pack, checked by the evaluation engine (``check_name`` names the check).

    An organisation may override ``severity``, ``params`` or ``enabled``; the pack's own values stay
    in ``original`` so the override is visible and reversible.
    """

    pack = models.ForeignKey(RegulationPack, on_delete=models.CASCADE, related_name="rules")
    code = models.CharField(max_length=100, unique=True)
    title = models.CharField(max_length=300)
    citation = models.CharField(max_length=300)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    # Not called ``check``: a field of that name would shadow Model.check() and disable system checks.
    check_name = models.CharField(max_length=64, help_text="Name of the evaluation check (compliance.policies.evaluation).")
    params = models.JSONField(default=dict, blank=True)
    fix = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    overridden = models.BooleanField(default=False)
    override_reason = models.TextField(blank=True)
    original = models.JSONField(default=dict, blank=True)

    history = HistoricalRecords()

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["pack_id", "code"]
        constraints = [models.CheckConstraint(condition=Q(severity__in=Severity.values), name="rule_severity_valid")]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        if not isinstance(self.params, dict):
            raise ValidationError({"params": "must be a JSON object"})


class Policy(models.Model):
    """A steward's rule for retention, anonymization or access, scoped to assets, domains and
    entity types (an empty scope covers every asset). ``config`` is validated per kind
    (``compliance.policies.config``)."""

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=16, choices=PolicyKind.choices)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    enabled = models.BooleanField(default=True)
    priority = models.IntegerField(default=100, help_text="Lower runs first; access rules: first match wins.")
    assets = models.ManyToManyField("catalog.DataAsset", blank=True, related_name="policies")
    domains = models.ManyToManyField("catalog.Domain", blank=True, related_name="policies")
    entity_types = models.JSONField(default=list, blank=True)
    config = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    history = HistoricalRecords(m2m_fields=[assets, domains])

    class Meta:
        ordering = ["kind", "priority", "name"]
        verbose_name_plural = "policies"
        constraints = [models.CheckConstraint(condition=Q(kind__in=PolicyKind.values), name="policy_kind_valid")]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    def clean(self) -> None:
        from compliance.policies.config import validate_policy_config

        _validate_entity_list(self.entity_types, "entity_types")
        validate_policy_config(self.kind, self.config)


class LegalHold(models.Model):
    """Litigation or investigation hold on an asset: blocks every destructive retention action."""

    asset = models.ForeignKey("catalog.DataAsset", on_delete=models.CASCADE, related_name="legal_holds")
    reference = models.CharField(max_length=200, help_text="Case or matter reference.")
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = RestrictedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"hold {self.reference} on asset {self.asset_id}"

    @property
    def active(self) -> bool:
        return self.released_at is None


class AccessGrant(models.Model):
    """Time-bound permission for one user to read one asset for one purpose: requested by a
    user, approved (or rejected) by a steward, revocable."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_grants")
    asset = models.ForeignKey("catalog.DataAsset", on_delete=models.CASCADE, related_name="access_grants")
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    justification = models.TextField(blank=True)
    effect = models.CharField(max_length=16, choices=Effect.choices, default=Effect.ALLOW)
    state = models.CharField(max_length=16, choices=GrantState.choices, default=GrantState.REQUESTED, db_index=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField()

    objects = RestrictedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(condition=Q(valid_until__gt=models.F("valid_from")), name="grant_window_positive"),
            models.CheckConstraint(condition=Q(state__in=GrantState.values), name="grant_state_valid"),
            models.CheckConstraint(condition=Q(purpose__in=Purpose.values), name="grant_purpose_valid"),
            models.CheckConstraint(condition=~Q(effect=Effect.DENY), name="grant_effect_not_deny"),
        ]

    def __str__(self) -> str:
        return f"grant {self.pk}: user {self.user_id} on asset {self.asset_id} for {self.purpose} ({self.state})"


class Finding(models.Model):
    """A gap between the estate and a regulation rule, on one asset or one model version."""

    rule = models.ForeignKey(RegulationRule, on_delete=models.CASCADE, related_name="findings")
    regulation = models.CharField(max_length=50, db_index=True)
    asset = models.ForeignKey("catalog.DataAsset", null=True, blank=True, on_delete=models.CASCADE, related_name="findings")
    model_version = models.ForeignKey(
        "catalog.ModelVersion", null=True, blank=True, on_delete=models.CASCADE, related_name="findings"
    )
    severity = models.CharField(max_length=16, choices=Severity.choices, db_index=True)
    citation = models.CharField(max_length=300)
    message = models.TextField()
    evidence = models.JSONField(default=dict, blank=True, help_text="Column ids/names, entity types, lineage path; no values.")
    fix = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=FindingStatus.choices, default=FindingStatus.OPEN, db_index=True)
    fingerprint = models.CharField(max_length=200, unique=True)
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["status", "-last_seen", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(asset__isnull=False) & Q(model_version__isnull=True))
                | (Q(asset__isnull=True) & Q(model_version__isnull=False)),
                name="finding_one_target",
            ),
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="finding_severity_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.rule.code} on {'asset ' + str(self.asset_id) if self.asset_id else 'model version ' + str(self.model_version_id)}"

    @classmethod
    def restricted_q(cls) -> Q:
        return Q(asset__sensitivity=Sensitivity.RESTRICTED)


class AnonymizationRunQuerySet(AssetScopedQuerySet):
    """A run is restricted with its source or target asset, and when it has no source asset (a
    file anonymized from the command line: nothing says how sensitive it is)."""

    asset_path = "source_asset__"


class AnonymizationRun(Run):
    """One anonymization of a file or table into a new asset, with its verification report
    (re-scan, identifier comparison, k-anonymity). Paths only; never data values."""

    source_asset = models.ForeignKey(
        "catalog.DataAsset", null=True, blank=True, on_delete=models.SET_NULL, related_name="anonymization_runs"
    )
    target_asset = models.ForeignKey("catalog.DataAsset", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    policy = models.ForeignKey(Policy, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    profile = models.CharField(max_length=100, blank=True)
    source_path = models.CharField(max_length=1000)
    output_path = models.CharField(max_length=1000)
    rows = models.PositiveBigIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)

    objects = AnonymizationRunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        constraints = [models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="anonymization_run_status_valid")]

    def __str__(self) -> str:
        return f"anonymization run {self.pk} ({self.status})"

    @classmethod
    def restricted_q(cls) -> Q:
        return (
            Q(source_asset__isnull=True)
            | Q(source_asset__sensitivity=Sensitivity.RESTRICTED)
            | Q(target_asset__sensitivity=Sensitivity.RESTRICTED)
        )


class RetentionRun(Run):
    """One retention enforcement pass (dry run or real) with its per-asset report."""

    dry_run = models.BooleanField(default=True)
    report = models.JSONField(default=dict, blank=True)

    # A pass covers many assets: the run is listed to every reader, its per-asset report items
    # only for the assets the reader may see (selectors.retention_report_for).
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        constraints = [models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="retention_run_status_valid")]

    def __str__(self) -> str:
        return f"retention run {self.pk} ({'dry run' if self.dry_run else 'enforce'}, {self.status})"
