"""Artifacts a model version can be loaded from, and the explanations and fairness assessments
computed for it, kept as evidence (what was computed, on what, with which parameters)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from compliance.policies.choices import FindingStatus, Severity
from core.querysets import RestrictedQuerySet

from .choices import ArtifactFormat, ArtifactSource, ExplanationScope

sha256_hex = RegexValidator(r"^[0-9a-f]{64}$", "a SHA-256 is 64 lowercase hex digits")


def _artifact_path(instance: ModelArtifact, filename: str) -> str:
    # content-addressed: the stored name is the digest, never the uploader's file name
    return f"explain/artifacts/{instance.sha256}.{instance.format}"


class ModelArtifact(models.Model):
    """The bytes a model version is loaded from. ``sha256`` is computed at upload and checked at every
    load; pickles and joblib files load only once an admin has marked them ``trusted`` (audited)."""

    model_version = models.ForeignKey("catalog.ModelVersion", on_delete=models.CASCADE, related_name="artifacts")
    file = models.FileField(upload_to=_artifact_path, max_length=300)
    format = models.CharField(max_length=16, choices=ArtifactFormat.choices)
    sha256 = models.CharField(max_length=64, validators=[sha256_hex], db_index=True)
    size = models.PositiveBigIntegerField()
    source = models.CharField(max_length=16, choices=ArtifactSource.choices, default=ArtifactSource.UPLOAD)
    source_uri = models.CharField(max_length=500, blank=True)
    trusted = models.BooleanField(default=False)
    trusted_reason = models.TextField(blank=True)
    trusted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(trusted=False) | ~models.Q(trusted_reason=""), name="explain_artifact_trust_has_reason"
            ),
            models.UniqueConstraint(fields=["model_version", "sha256"], name="explain_artifact_unique_per_version"),
        ]

    def __str__(self) -> str:
        return f"{self.model_version} {self.format} {self.sha256[:12]}"


class Explanation(models.Model):
    """One computed explanation with its evidence fields: explainer and engine version, parameters,
    the data it ran on (hash, size, seed) and the additivity residual. ``rows`` holds per decision the
    prediction, contributions and residual (no input values)."""

    model_version = models.ForeignKey("catalog.ModelVersion", on_delete=models.CASCADE, related_name="explanations")
    artifact = models.ForeignKey(ModelArtifact, null=True, blank=True, on_delete=models.SET_NULL, related_name="explanations")
    scope = models.CharField(max_length=16, choices=ExplanationScope.choices, default=ExplanationScope.LOCAL)
    explainer = models.CharField(max_length=64)
    engine_version = models.CharField(max_length=64)
    output = models.CharField(max_length=32, blank=True)
    base_value = models.FloatField(null=True, blank=True)
    rows = models.JSONField(default=list, blank=True)
    result = models.JSONField(default=dict, blank=True)  # global explanations: importance and curves
    parameters = models.JSONField(default=dict, blank=True)
    dataset_sha256 = models.CharField(max_length=64, blank=True)
    sample_size = models.PositiveIntegerField(default=0)
    background_sha256 = models.CharField(max_length=64, blank=True)
    background_size = models.PositiveIntegerField(default=0)
    seed = models.BigIntegerField(default=0)
    max_abs_residual = models.FloatField(null=True, blank=True)
    summary = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.explainer} for {self.model_version} ({self.sample_size} rows)"


class FairnessAssessment(models.Model):
    """One fairness assessment (monitoring/explain/fairness.py) as evidence: the report as computed,
    the data's hash and size, and whether the four-fifths screen flagged it."""

    model_version = models.ForeignKey(
        "catalog.ModelVersion", null=True, blank=True, on_delete=models.CASCADE, related_name="fairness_assessments"
    )
    attributes = models.JSONField(default=list)
    prediction_column = models.CharField(max_length=200)
    label_column = models.CharField(max_length=200, blank=True)
    report = models.JSONField(default=dict)
    flagged = models.BooleanField(default=False, db_index=True)
    dataset_sha256 = models.CharField(max_length=64, blank=True)
    n = models.PositiveIntegerField(default=0)
    location_label = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"fairness of {self.model_version or 'file'} by {', '.join(self.attributes)}"


class FairnessFinding(models.Model):
    """A fairness check of a model version that failed, kept like a policy finding: open while the
    latest assessment of the same attribute(s) still fails it, resolved once one passes it. ``evidence``
    holds the assessment's id, digest, counts, the metric, its value and limit, the significance test
    and the per-group rates (aggregates only, never a row). One finding per (model version, attribute(s),
    check): ``fingerprint``. ``alert`` is the monitoring alert it fed (a check on production batches)."""

    model_version = models.ForeignKey("catalog.ModelVersion", on_delete=models.CASCADE, related_name="fairness_findings")
    assessment = models.ForeignKey(FairnessAssessment, null=True, blank=True, on_delete=models.SET_NULL, related_name="findings")
    attribute = models.CharField(max_length=300, help_text="the protected attribute(s) tested, e.g. 'sex' or 'sex & race'")
    check_name = models.CharField(max_length=64, help_text="four_fifths or a difference metric given a limit")
    severity = models.CharField(max_length=16, choices=Severity.choices, db_index=True)
    citation = models.CharField(max_length=300)
    message = models.TextField()
    evidence = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=FindingStatus.choices, default=FindingStatus.OPEN, db_index=True)
    fingerprint = models.CharField(max_length=400, unique=True)
    alert = models.ForeignKey("monitoring.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["status", "-last_seen", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(severity__in=Severity.values), name="explain_fairness_finding_severity"),
            models.CheckConstraint(condition=models.Q(status__in=FindingStatus.values), name="explain_fairness_finding_status"),
        ]

    def __str__(self) -> str:
        return f"fairness {self.check_name} on {self.attribute} of model version {self.model_version_id} ({self.status})"
