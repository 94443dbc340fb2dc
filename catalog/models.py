"""Catalog: data sources, assets, columns, classifications, ML models and their versions.

Rows are written only through ``catalog.services`` (which audits each write); read through
``restrict(user, action)`` so permission scoping is the same in the API, pages and selectors.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from accounts.querysets import RestrictedQuerySet
from catalog.choices import (
    AssetKind,
    AssetStatus,
    ClassificationSource,
    ClassificationState,
    LegalBasis,
    ModelStage,
    ModelTask,
    Sensitivity,
    SourceKind,
)
from catalog.querysets import AssetScopedQuerySet, ClassificationQuerySet, ColumnQuerySet

# Keys that name a secret. Connection metadata may only *reference* secrets (``*_ref``, e.g. a
# vault path), never hold them.
SECRET_KEY_PATTERN = re.compile(r"(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|credential)", re.I)
country_code = RegexValidator(r"^[A-Z]{2}$", "Use an ISO 3166-1 alpha-2 country code, e.g. DE or US.")
entity_type_name = RegexValidator(r"^[A-Z][A-Z0-9_]{1,63}$", "Entity types are upper-case names such as EMAIL_ADDRESS.")


def validate_no_secrets(value: dict) -> None:
    """Reject connection metadata that carries a secret in clear (anywhere in nested dicts)."""

    def walk(obj, path=""):
        if isinstance(obj, dict):
            for key, item in obj.items():
                name = f"{path}.{key}" if path else str(key)
                if SECRET_KEY_PATTERN.search(str(key)) and not str(key).endswith("_ref"):
                    raise ValidationError(
                        f"connection metadata may not hold secrets ({name!s}); store a reference such as '{key}_ref'"
                    )
                walk(item, name)
        elif isinstance(obj, list):
            for item in obj:
                walk(item, path)
        elif isinstance(obj, str) and re.search(r"://[^/\s:@]+:[^/\s@]+@", obj):
            raise ValidationError(f"connection metadata may not embed credentials in a URL ({path or 'value'})")

    if not isinstance(value, dict):
        raise ValidationError("connection metadata must be a JSON object")
    walk(value)


class Named(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    history = HistoricalRecords(inherit=True)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Domain(Named):
    """A business domain (Clinical, Payments, ...) that groups assets and models under an owner."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta(Named.Meta):
        pass


class Tag(Named):
    """A free label stewards attach to assets, columns and models."""

    class Meta(Named.Meta):
        pass


class GlossaryTerm(Named):
    """A business term with its agreed definition (``description``)."""

    domain = models.ForeignKey(Domain, null=True, blank=True, on_delete=models.SET_NULL, related_name="glossary_terms")

    class Meta(Named.Meta):
        pass


class DataSource(Named):
    """A system holding data: a database, a bucket, a file share, a Kafka cluster.

    ``namespace`` is the OpenLineage dataset namespace (``postgres://host:5432``, ``s3://bucket``)
    that maps lineage events onto this source. ``connection`` holds non-secret metadata only.
    """

    kind = models.CharField(max_length=32, choices=SourceKind.choices)
    namespace = models.CharField(max_length=500, unique=True)
    connection = models.JSONField(default=dict, blank=True, validators=[validate_no_secrets])
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    location = models.CharField(max_length=200, blank=True, help_text="Region or data centre, e.g. eu-west-1.")
    country = models.CharField(max_length=2, blank=True, validators=[country_code])

    class Meta(Named.Meta):
        constraints = [models.CheckConstraint(condition=Q(kind__in=SourceKind.values), name="source_kind_valid")]


class DataAsset(models.Model):
    """A table, view, file, stream or feature set, with its GDPR Art. 30 privacy metadata.

    ``qualified_name`` is unique per source and equals the OpenLineage dataset ``name``.
    Assets are never hard-deleted through services: status ``deleted`` keeps history auditable.
    """

    source = models.ForeignKey(DataSource, on_delete=models.PROTECT, related_name="assets")
    qualified_name = models.CharField(max_length=500)
    name = models.CharField(max_length=200, help_text="Short display name.")
    kind = models.CharField(max_length=16, choices=AssetKind.choices, default=AssetKind.TABLE)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=AssetStatus.choices, default=AssetStatus.ACTIVE, db_index=True)
    sensitivity = models.CharField(max_length=16, choices=Sensitivity.choices, default=Sensitivity.INTERNAL, db_index=True)
    owners = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="owned_assets")
    stewards = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="stewarded_assets")
    domain = models.ForeignKey(Domain, null=True, blank=True, on_delete=models.SET_NULL, related_name="assets")
    tags = models.ManyToManyField(Tag, blank=True, related_name="assets")
    glossary_terms = models.ManyToManyField(GlossaryTerm, blank=True, related_name="assets")
    location = models.CharField(max_length=500, blank=True, help_text="Path or URI of a file asset.")
    # GDPR Art. 30(1) record content.
    processing_purposes = models.JSONField(default=list, blank=True)
    legal_basis = models.CharField(max_length=32, choices=LegalBasis.choices, blank=True)
    data_subject_categories = models.JSONField(default=list, blank=True)
    recipients = models.JSONField(default=list, blank=True)
    international_transfers = models.JSONField(
        default=list, blank=True, help_text='List of {"country": "US", "safeguard": "SCCs"}.'
    )
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    storage_country = models.CharField(max_length=2, blank=True, validators=[country_code])
    # Who registered it: keeps access when the asset becomes restricted (catalog.querysets).
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, editable=False, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AssetScopedQuerySet.as_manager()
    # Row history (as-of-date queries for evidence): every save, through services or not.
    history = HistoricalRecords(m2m_fields=[owners, stewards, tags, glossary_terms])

    class Meta:
        ordering = ["source_id", "qualified_name"]
        constraints = [
            models.UniqueConstraint(fields=["source", "qualified_name"], name="asset_unique_per_source"),
            models.CheckConstraint(condition=Q(kind__in=AssetKind.values), name="asset_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=AssetStatus.values), name="asset_status_valid"),
            models.CheckConstraint(condition=Q(sensitivity__in=Sensitivity.values), name="asset_sensitivity_valid"),
        ]
        indexes = [models.Index(fields=["name"])]

    def __str__(self) -> str:
        return f"{self.source.name}:{self.qualified_name}" if self.source_id else self.qualified_name

    @classmethod
    def restricted_q(cls) -> Q:
        return Q(sensitivity=Sensitivity.RESTRICTED)

    def clean(self) -> None:
        for field in ("processing_purposes", "data_subject_categories", "recipients", "international_transfers"):
            if not isinstance(getattr(self, field), list):
                raise ValidationError({field: "must be a list"})
        for transfer in self.international_transfers:
            if not isinstance(transfer, dict) or not re.fullmatch(r"[A-Z]{2}", str(transfer.get("country", ""))):
                raise ValidationError({"international_transfers": 'each transfer is {"country": "XX", "safeguard": "..."}'})


class Column(models.Model):
    """A column (or field) of an asset."""

    asset = models.ForeignKey(DataAsset, on_delete=models.CASCADE, related_name="columns")
    name = models.CharField(max_length=300)
    position = models.PositiveIntegerField(default=0)
    data_type = models.CharField(max_length=100, blank=True)
    nullable = models.BooleanField(default=True)
    description = models.TextField(blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="columns")
    glossary_terms = models.ManyToManyField(GlossaryTerm, blank=True, related_name="columns")
    # Every name the column had before its current one, oldest first: masking follows a classified
    # column through renames (catalog.selectors.column_names_ever).
    former_names = models.JSONField(default=list, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ColumnQuerySet.as_manager()
    history = HistoricalRecords(m2m_fields=[tags, glossary_terms])

    class Meta:
        ordering = ["asset_id", "position", "name"]
        constraints = [models.UniqueConstraint(fields=["asset", "name"], name="column_unique_per_asset")]
        indexes = [models.Index(fields=["name"])]

    def __str__(self) -> str:
        return f"{self.asset.qualified_name}.{self.name}" if self.asset_id else self.name

    @classmethod
    def restricted_q(cls) -> Q:
        return Q(asset__sensitivity=Sensitivity.RESTRICTED)


class Classification(models.Model):
    """A PII entity type attached to a column, with where it came from and whether it holds.

    One row per (column, entity type, source). A steward's rejection is final: re-scans and
    propagation update a rejected row's evidence but never its state.
    """

    column = models.ForeignKey(Column, on_delete=models.CASCADE, related_name="classifications")
    entity_type = models.CharField(max_length=64, validators=[entity_type_name], db_index=True)
    sensitivity = models.CharField(max_length=16, choices=Sensitivity.choices, default=Sensitivity.CONFIDENTIAL)
    source = models.CharField(max_length=16, choices=ClassificationSource.choices)
    state = models.CharField(max_length=16, choices=ClassificationState.choices, default=ClassificationState.SUGGESTED)
    confidence = models.FloatField(default=1.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    evidence = models.JSONField(
        default=dict, blank=True, help_text="Scan statistics or propagation origin and path; never raw values."
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    objects = ClassificationQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["column_id", "entity_type", "source"]
        constraints = [
            models.UniqueConstraint(fields=["column", "entity_type", "source"], name="classification_unique"),
            models.CheckConstraint(condition=Q(confidence__gte=0) & Q(confidence__lte=1), name="classification_confidence_0_1"),
            models.CheckConstraint(condition=Q(state__in=ClassificationState.values), name="classification_state_valid"),
            models.CheckConstraint(condition=Q(source__in=ClassificationSource.values), name="classification_source_valid"),
        ]
        # (column, state) serves the per-asset "has PII" EXISTS; led by state, the planner would
        # scan every suggestion in the catalog for each asset row.
        indexes = [models.Index(fields=["column", "state"]), models.Index(fields=["entity_type", "state"])]

    def __str__(self) -> str:
        return f"{self.entity_type} on {self.column} ({self.source}, {self.state})"

    @classmethod
    def restricted_q(cls) -> Q:
        return Q(column__asset__sensitivity=Sensitivity.RESTRICTED)


class MLModel(Named):
    """A machine-learning model (the product), whose versions are the trained artefacts."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_models"
    )
    domain = models.ForeignKey(Domain, null=True, blank=True, on_delete=models.SET_NULL, related_name="models")
    task = models.CharField(max_length=32, choices=ModelTask.choices, default=ModelTask.CLASSIFICATION)
    tags = models.ManyToManyField(Tag, blank=True, related_name="models")

    class Meta(Named.Meta):
        verbose_name = "ML model"
        constraints = [models.CheckConstraint(condition=Q(task__in=ModelTask.values), name="mlmodel_task_valid")]


class ModelVersion(models.Model):
    """One trained version of a model with its model-card fields and the data it learnt from."""

    model = models.ForeignKey(MLModel, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(max_length=64)
    stage = models.CharField(max_length=16, choices=ModelStage.choices, default=ModelStage.DEVELOPMENT, db_index=True)
    framework = models.CharField(max_length=100, blank=True)
    algorithm = models.CharField(max_length=200, blank=True)
    training_datasets = models.ManyToManyField(DataAsset, blank=True, related_name="trained_model_versions")
    evaluation_datasets = models.ManyToManyField(DataAsset, blank=True, related_name="evaluated_model_versions")
    features = models.ManyToManyField(Column, blank=True, related_name="feature_of_model_versions")
    hyperparameters = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    intended_use = models.TextField(blank=True)
    limitations = models.TextField(blank=True)
    ethical_considerations = models.TextField(blank=True)
    dpia_reference = models.CharField(
        max_length=300, blank=True, help_text="Reference of the Data Protection Impact Assessment (GDPR Art. 35)."
    )
    artifact_uri = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    history = HistoricalRecords(m2m_fields=[training_datasets, evaluation_datasets, features])

    class Meta:
        ordering = ["model_id", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["model", "version"], name="model_version_unique"),
            models.CheckConstraint(condition=Q(stage__in=ModelStage.values), name="model_version_stage_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.model.name}@{self.version}" if self.model_id else self.version

    def clean(self) -> None:
        for field in ("hyperparameters", "metrics"):
            if not isinstance(getattr(self, field), dict):
                raise ValidationError({field: "must be a JSON object"})
