"""Monitors of model versions, their references, logged production data, runs, results and alerts.

Scoping: every row here belongs to a model version, and is *restricted* when that version learnt from
or was evaluated on a restricted asset, or when the monitor's reference is a restricted asset.
``restrict(user, action)`` (``MonitoringQuerySet``) hides restricted rows from users without
``view_restricted``, except from the owner of the ML model (the model's owners see their alerts).

Logged rows (inputs, predictions, labels) are data: they live in files written through
compliance.datasets under the data roots; the database keeps their location, digest and size.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from accounts.permissions import VIEW, VIEW_RESTRICTED, user_can
from catalog.choices import Sensitivity
from core.models import Run
from core.querysets import RestrictedQuerySet

from .choices import AlertState, BatchKind, BatchSource, ModelTask, ResultKind

RESTRICTED = Sensitivity.RESTRICTED


def version_restricted_q(prefix: str) -> Q:
    """Q for rows whose model version (at ``prefix`` + "model_version") learnt from a restricted asset."""
    mv = f"{prefix}model_version__"
    return Q(**{f"{mv}training_datasets__sensitivity": RESTRICTED}) | Q(**{f"{mv}evaluation_datasets__sensitivity": RESTRICTED})


class MonitoringQuerySet(RestrictedQuerySet):
    """``restrict`` with the model owner's exception; ``version_path`` leads from the model to its version's
    holder ("" when the model has ``model_version`` itself)."""

    version_path = ""

    def restrict(self, user: Any, action: str = VIEW) -> RestrictedQuerySet:
        if not user_can(user, action):
            return self.none()
        if user_can(user, VIEW_RESTRICTED):
            return self
        owner = Q(**{f"{self.version_path}model_version__model__owner": user})
        return self.filter(~self.model.restricted_q() | owner)


class RunScopedQuerySet(MonitoringQuerySet):
    version_path = "run__monitor__"


class MonitorScopedQuerySet(MonitoringQuerySet):
    version_path = "monitor__"


MULTIVARIATE_METHODS = ("pca_reconstruction", "domain_classifier")


def default_multivariate_methods() -> list[str]:
    return ["pca_reconstruction"]


class ReferenceProfile(models.Model):
    """A stored, mergeable profile of a reference dataset (monitoring.stats.profile.DatasetProfile as
    JSON): histograms, quantile sketches, category counts. Drift against it never re-reads the data."""

    model_version = models.ForeignKey("catalog.ModelVersion", on_delete=models.CASCADE, related_name="reference_profiles")
    name = models.CharField(max_length=200)
    source_asset = models.ForeignKey("catalog.DataAsset", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    source_label = models.CharField(max_length=500, blank=True, help_text="where the profiled rows were read")
    rows = models.PositiveBigIntegerField()
    columns = models.JSONField(default=list)
    profile = models.JSONField()
    dataset_sha256 = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MonitoringQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["model_version", "name"], name="monitoring_profile_unique_name")]

    def __str__(self) -> str:
        return f"profile {self.name} of {self.model_version_id} ({self.rows} rows)"

    @classmethod
    def restricted_q(cls) -> Q:
        return version_restricted_q("") | Q(source_asset__sensitivity=RESTRICTED)


class Monitor(models.Model):
    """What to watch for one model version: the reference (a cataloged asset *or* a stored profile), the
    columns, drift methods and thresholds, data-quality checks, the task's performance columns, and how
    often a scheduled run happens (``schedule_minutes`` 0: only when new data is logged)."""

    model_version = models.ForeignKey("catalog.ModelVersion", on_delete=models.CASCADE, related_name="monitors")
    name = models.CharField(max_length=200)
    reference_asset = models.ForeignKey("catalog.DataAsset", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reference_profile = models.ForeignKey(
        ReferenceProfile, null=True, blank=True, on_delete=models.PROTECT, related_name="monitors"
    )
    columns = models.JSONField(default=list, blank=True, help_text="feature columns (empty: every reference column)")
    kinds = models.JSONField(default=dict, blank=True, help_text='declared column kinds {"col": "num"|"cat"}')
    drift_options = models.JSONField(default=dict, blank=True)
    quality_checks = models.JSONField(default=dict, blank=True)
    task = models.CharField(max_length=16, choices=ModelTask.choices, default=ModelTask.CLASSIFICATION)
    prediction_column = models.CharField(max_length=200, default="prediction")
    probability_column = models.CharField(max_length=200, blank=True, default="probability")
    id_column = models.CharField(max_length=200, default="prediction_id")
    label_column = models.CharField(max_length=200, default="label")
    reference_metrics = models.JSONField(default=dict, blank=True, help_text="performance on the reference, for the tests")
    schedule_minutes = models.PositiveIntegerField(default=60)
    chunk_rows = models.PositiveIntegerField(
        default=5000, help_text="rows of an open chunk before it closes (0: runs re-read their window's batches)"
    )
    chunk_minutes = models.PositiveIntegerField(default=0, help_text="an open chunk closes this long after it opened (0: never)")
    multivariate_methods = models.JSONField(
        default=default_multivariate_methods, blank=True, help_text="pca_reconstruction and/or domain_classifier"
    )
    active = models.BooleanField(default=True, db_index=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MonitoringQuerySet.as_manager()

    class Meta:
        ordering = ["model_version_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["model_version", "name"], name="monitoring_monitor_unique_name"),
            models.CheckConstraint(
                condition=Q(reference_asset__isnull=False, reference_profile__isnull=True)
                | Q(reference_asset__isnull=True, reference_profile__isnull=False),
                name="monitoring_monitor_one_reference",
            ),
            models.CheckConstraint(condition=Q(task__in=ModelTask.values), name="monitoring_monitor_task_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} on {self.model_version}"

    @classmethod
    def restricted_q(cls) -> Q:
        return version_restricted_q("") | Q(reference_asset__sensitivity=RESTRICTED)

    def clean(self) -> None:
        if (self.reference_asset_id is None) == (self.reference_profile_id is None):
            raise ValidationError("a monitor has one reference: a cataloged asset or a stored reference profile")
        if self.reference_profile_id and self.reference_profile.model_version_id != self.model_version_id:
            raise ValidationError({"reference_profile": "the profile belongs to another model version"})
        if not isinstance(self.columns, list) or not all(isinstance(c, str) for c in self.columns):
            raise ValidationError({"columns": "must be a list of column names"})
        for field in ("kinds", "drift_options", "quality_checks", "reference_metrics"):
            if not isinstance(getattr(self, field), dict):
                raise ValidationError({field: "must be a JSON object"})
        methods = self.multivariate_methods
        if (
            not isinstance(methods, list)
            or any(m not in MULTIVARIATE_METHODS for m in methods)
            or len(set(methods)) != len(methods)
        ):
            raise ValidationError({"multivariate_methods": f"a list of distinct names among {', '.join(MULTIVARIATE_METHODS)}"})


class LoggedBatch(models.Model):
    """Production rows logged for a model version: inputs with predictions (and probabilities), or labels
    arriving later, joined to predictions by the prediction id. The rows are in a file at ``location``
    (written through compliance.datasets); ``sha256`` is the file's digest."""

    model_version = models.ForeignKey("catalog.ModelVersion", on_delete=models.CASCADE, related_name="logged_batches")
    kind = models.CharField(max_length=16, choices=BatchKind.choices, default=BatchKind.PREDICTIONS)
    source = models.CharField(max_length=16, choices=BatchSource.choices, default=BatchSource.API)
    location = models.CharField(max_length=1000)
    rows = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    columns = models.JSONField(default=list)
    sha256 = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = MonitoringQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "logged batches"
        constraints = [models.CheckConstraint(condition=Q(kind__in=BatchKind.values), name="monitoring_batch_kind_valid")]

    def __str__(self) -> str:
        return f"{self.kind} batch of {self.rows} rows for {self.model_version_id}"

    @classmethod
    def restricted_q(cls) -> Q:
        return version_restricted_q("")


#: Triggers of runs that are not a window of the monitor's own checks: a production fairness check
#: (``monitoring.explain.findings.feed_alerts``) stores its results as a run of each monitor of the
#: version so alerts go through ``sync_alerts``, but it checked no drift or quality. Everywhere
#: monitoring reads a monitor's latest window (``services.runs.new_batches``, ``/metrics``, the asset
#: tab, the version page, ``selectors.feature_distribution``) such runs are skipped: ``window_q()``.
NOT_WINDOW_TRIGGERS = ("fairness",)


def window_q(prefix: str = "") -> Q:
    """Q for the succeeded runs that are monitor windows (``prefix`` leads to the run, e.g. "runs__")."""
    from core.choices import RunStatus

    return Q(**{f"{prefix}status": RunStatus.SUCCEEDED}) & ~Q(**{f"{prefix}trigger__in": NOT_WINDOW_TRIGGERS})


class MonitorRun(Run):
    """One run of a monitor over the current window (the logged prediction batches it names), with the
    dataset-level outcome; per-feature and per-check outcomes are ``MonitorResult`` rows."""

    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=16, default="manual")  # manual, schedule, new_data, stream, chunk, fairness
    batch_ids = models.JSONField(default=list, blank=True)
    rows = models.PositiveBigIntegerField(default=0)
    current_sha256 = models.CharField(max_length=64, blank=True)
    reference_label = models.CharField(max_length=500, blank=True)
    dataset_drift = models.BooleanField(null=True, blank=True)
    share_drifted = models.FloatField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    library_versions = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = MonitorScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"run {self.pk} of {self.monitor_id} ({self.status})"

    @classmethod
    def restricted_q(cls) -> Q:
        return version_restricted_q("monitor__") | Q(monitor__reference_asset__sensitivity=RESTRICTED)


class MonitorResult(models.Model):
    """One outcome of a run: a feature's drift (method, score, threshold and its source, ``flagged`` =
    drifted), a data-quality check (``flagged`` = failed), or a performance metric against its bounds.
    ``details`` holds sample sizes, binning, bounds -- never data values."""

    run = models.ForeignKey(MonitorRun, on_delete=models.CASCADE, related_name="results")
    kind = models.CharField(max_length=16, choices=ResultKind.choices)
    name = models.CharField(max_length=200, help_text="feature, check or metric")
    method = models.CharField(max_length=64, blank=True)
    score = models.FloatField(null=True, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    threshold_source = models.CharField(max_length=200, blank=True)
    flagged = models.BooleanField(default=False, db_index=True)
    details = models.JSONField(default=dict, blank=True)

    objects = RunScopedQuerySet.as_manager()

    class Meta:
        ordering = ["run_id", "kind", "name", "id"]
        constraints = [models.CheckConstraint(condition=Q(kind__in=ResultKind.values), name="monitoring_result_kind_valid")]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}: {self.score} ({'flagged' if self.flagged else 'ok'})"

    @classmethod
    def restricted_q(cls) -> Q:
        return version_restricted_q("run__monitor__") | Q(run__monitor__reference_asset__sensitivity=RESTRICTED)


class Alert(models.Model):
    """A flagged result that needs a person: open until acknowledged (with a reason) and resolved. One
    alert per monitor, kind and subject is open at a time; a run that flags it again updates ``last_run``.
    Every state change is an audit event."""

    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=16, choices=ResultKind.choices)
    subject = models.CharField(max_length=200, help_text="feature, check or metric")
    state = models.CharField(max_length=16, choices=AlertState.choices, default=AlertState.OPEN, db_index=True)
    message = models.TextField()
    first_run = models.ForeignKey(MonitorRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_run = models.ForeignKey(MonitorRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_result = models.ForeignKey(MonitorResult, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    opened_at = models.DateTimeField(auto_now_add=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledge_reason = models.TextField(blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolve_reason = models.TextField(blank=True)

    objects = MonitorScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=AlertState.values), name="monitoring_alert_state_valid"),
            models.CheckConstraint(
                condition=~Q(state=AlertState.ACKNOWLEDGED) | ~Q(acknowledge_reason=""),
                name="monitoring_alert_ack_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(state=AlertState.RESOLVED) | ~Q(resolve_reason=""), name="monitoring_alert_resolve_has_reason"
            ),
            models.UniqueConstraint(
                fields=["monitor", "kind", "subject"],
                condition=~Q(state=AlertState.RESOLVED),
                name="monitoring_alert_one_unresolved",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.state} {self.kind} alert on {self.subject} ({self.monitor_id})"

    @classmethod
    def restricted_q(cls) -> Q:
        return version_restricted_q("monitor__") | Q(monitor__reference_asset__sensitivity=RESTRICTED)


class MonitorChunk(models.Model):
    """The running statistics of a monitor's chunk of production data (near real time): the mergeable
    profile of its features (monitoring.stats.profile.DatasetProfile as JSON) and the data-quality counts,
    updated batch by batch so a check of the open chunk never re-reads the batches already merged.
    ``batch_ids`` lists the merged batches (a redelivered update of one of them is a no-op). One open
    chunk per monitor; it closes once it holds ``Monitor.chunk_rows`` rows (or ``chunk_minutes`` passed)."""

    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    is_open = models.BooleanField(default=True)
    rows = models.PositiveBigIntegerField(default=0)
    batch_ids = models.JSONField(default=list, blank=True)
    reference_sha256 = models.CharField(max_length=64, blank=True)
    profile = models.JSONField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True, help_text="quality counts: per column outside range / new values")
    opened_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = MonitorScopedQuerySet.as_manager()

    class Meta:
        ordering = ["monitor_id", "-index"]
        constraints = [
            models.UniqueConstraint(fields=["monitor", "index"], name="monitoring_chunk_unique_index"),
            models.UniqueConstraint(fields=["monitor"], condition=Q(is_open=True), name="monitoring_chunk_one_open"),
        ]

    def __str__(self) -> str:
        return f"chunk {self.index} of {self.monitor_id} ({self.rows} rows, {'open' if self.is_open else 'closed'})"

    @classmethod
    def restricted_q(cls) -> Q:
        return version_restricted_q("monitor__") | Q(monitor__reference_asset__sensitivity=RESTRICTED)


class MonitorRunPart(models.Model):
    """One part of a fanned-out run (a group of feature columns, or the joint checks over all of them),
    computed by whichever worker takes its task; ``result`` holds its outcomes as JSON. The last part to
    finish merges them into the run (as scans merge their chunks)."""

    run = models.ForeignKey(MonitorRun, on_delete=models.CASCADE, related_name="parts")
    index = models.PositiveIntegerField()
    columns = models.JSONField(default=list, blank=True, help_text="feature columns of this part; empty: the joint part")
    done = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)

    objects = RunScopedQuerySet.as_manager()

    class Meta:
        ordering = ["run_id", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="monitoring_run_part_unique_index")]

    def __str__(self) -> str:
        return f"part {self.index} of run {self.run_id} ({'done' if self.done else 'pending'})"

    @classmethod
    def restricted_q(cls) -> Q:
        return version_restricted_q("run__monitor__") | Q(run__monitor__reference_asset__sensitivity=RESTRICTED)


# --- per-asset data-quality suites (monitoring.services.quality_suites) ----------------------------


def suite_restricted_q(prefix: str) -> Q:
    """Q for rows whose suite (at ``prefix``) checks, or compares with, a restricted asset."""
    return Q(**{f"{prefix}asset__sensitivity": RESTRICTED}) | Q(**{f"{prefix}reference_asset__sensitivity": RESTRICTED})


class SuiteScopedQuerySet(RestrictedQuerySet):
    """``restrict`` of quality-suite rows: a restricted one is hidden from users without
    ``view_restricted``, except from the checked asset's owners (they see their alerts)."""

    suite_path = ""

    def restrict(self, user: Any, action: str = VIEW) -> RestrictedQuerySet:
        if not user_can(user, action):
            return self.none()
        if user_can(user, VIEW_RESTRICTED):
            return self
        owned = self.model.objects.filter(**{f"{self.suite_path}asset__owners": user}).values("pk")
        return self.filter(~self.model.restricted_q() | Q(pk__in=owned))


class QualitySuite(models.Model):
    """The stored data-quality checks of one cataloged asset (monitoring.stats.quality): which columns,
    which checks with which thresholds (``checks``, the ``quality_checks`` JSON of a monitor), and the
    baseline they compare with -- a summary (types, null shares, ranges, categories) of the reference
    asset's rows, or of the asset's own rows when the suite was created, so a run reads only the
    asset. Runs on a schedule (``schedule_minutes``) and/or when the asset's file changed
    (``on_new_data``), from the ``monitoring.monitors_due`` tick."""

    asset = models.ForeignKey("catalog.DataAsset", on_delete=models.CASCADE, related_name="quality_suites")
    name = models.CharField(max_length=200)
    reference_asset = models.ForeignKey("catalog.DataAsset", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    columns = models.JSONField(default=list, blank=True, help_text="checked columns; empty: every baseline column")
    checks = models.JSONField(default=dict, blank=True, help_text="quality_checks JSON (docs/monitoring.md)")
    baseline = models.JSONField(default=dict, blank=True, help_text="the baseline's summary (no rows)")
    baseline_label = models.CharField(max_length=200, blank=True)
    baseline_sha256 = models.CharField(max_length=64, blank=True)
    schedule_minutes = models.PositiveIntegerField(default=1440, help_text="0: no schedule")
    on_new_data = models.BooleanField(default=True, help_text="run when the asset's file changed")
    data_marker = models.CharField(max_length=100, blank=True, help_text="size and mtime of the file last checked")
    active = models.BooleanField(default=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SuiteScopedQuerySet.as_manager()

    class Meta:
        ordering = ["asset_id", "name", "id"]
        constraints = [models.UniqueConstraint(fields=["asset", "name"], name="monitoring_quality_suite_unique_name")]

    def __str__(self) -> str:
        return f"quality suite {self.name} of asset {self.asset_id}"

    @classmethod
    def restricted_q(cls) -> Q:
        return suite_restricted_q("")


class SuiteRowQuerySet(SuiteScopedQuerySet):
    suite_path = "suite__"


class RunRowQuerySet(SuiteScopedQuerySet):
    suite_path = "run__suite__"


class QualityRun(Run):
    """One run of a quality suite over the asset's rows as read then (their SHA-256 and count)."""

    suite = models.ForeignKey(QualitySuite, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=16, default="manual")  # manual, schedule, new_data
    rows = models.PositiveBigIntegerField(default=0)
    current_sha256 = models.CharField(max_length=64, blank=True)
    baseline_sha256 = models.CharField(max_length=64, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    library_versions = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = SuiteRowQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"quality run {self.pk} of suite {self.suite_id} ({self.status})"

    @classmethod
    def restricted_q(cls) -> Q:
        return suite_restricted_q("suite__")


class QualityCheckResult(models.Model):
    """One check of a quality run: ``name`` is ``check`` or ``check:column``; ``score`` None = not
    checked (``details.not_checked`` says why); ``flagged`` = failed. Never data values."""

    run = models.ForeignKey(QualityRun, on_delete=models.CASCADE, related_name="results")
    name = models.CharField(max_length=200)
    check_name = models.CharField(max_length=32, help_text="schema, null_share, ... (monitoring.stats.quality.CHECKS)")
    column = models.CharField(max_length=200, blank=True)
    score = models.FloatField(null=True, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    threshold_source = models.CharField(max_length=200, blank=True)
    flagged = models.BooleanField(default=False, db_index=True)
    details = models.JSONField(default=dict, blank=True)

    objects = RunRowQuerySet.as_manager()

    class Meta:
        ordering = ["run_id", "name", "id"]

    def __str__(self) -> str:
        return f"{self.name}: {self.score} ({'failed' if self.flagged else 'ok'})"

    @classmethod
    def restricted_q(cls) -> Q:
        return suite_restricted_q("run__suite__")


class QualityAlert(models.Model):
    """A failed check of a quality suite that needs a person, as monitor alerts: one unresolved alert per
    suite and check name; open until acknowledged (with a reason) and resolved (by a run that passes
    the check, or by a person with a reason). Every state change is an audit event."""

    suite = models.ForeignKey(QualitySuite, on_delete=models.CASCADE, related_name="alerts")
    subject = models.CharField(max_length=200, help_text="check name, e.g. null_share:income")
    state = models.CharField(max_length=16, choices=AlertState.choices, default=AlertState.OPEN, db_index=True)
    message = models.TextField()
    first_run = models.ForeignKey(QualityRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_run = models.ForeignKey(QualityRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_result = models.ForeignKey(QualityCheckResult, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    opened_at = models.DateTimeField(auto_now_add=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledge_reason = models.TextField(blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolve_reason = models.TextField(blank=True)

    objects = SuiteRowQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=AlertState.values), name="monitoring_quality_alert_state_valid"),
            models.CheckConstraint(
                condition=~Q(state=AlertState.ACKNOWLEDGED) | ~Q(acknowledge_reason=""),
                name="monitoring_quality_alert_ack_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(state=AlertState.RESOLVED) | ~Q(resolve_reason=""),
                name="monitoring_quality_alert_resolve_has_reason",
            ),
            models.UniqueConstraint(
                fields=["suite", "subject"],
                condition=~Q(state=AlertState.RESOLVED),
                name="monitoring_quality_alert_one_unresolved",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.state} quality alert on {self.subject} ({self.suite_id})"

    @classmethod
    def restricted_q(cls) -> Q:
        return suite_restricted_q("suite__")
