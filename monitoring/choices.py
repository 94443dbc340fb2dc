"""Vocabularies of the monitoring app."""

from django.db import models


class ModelTask(models.TextChoices):
    CLASSIFICATION = "classification", "binary classification"
    REGRESSION = "regression", "regression"


class BatchKind(models.TextChoices):
    PREDICTIONS = "predictions", "inputs and predictions"
    LABELS = "labels", "labels joined by prediction id"


class BatchSource(models.TextChoices):
    API = "api", "JSON rows through the API"
    UPLOAD = "upload", "uploaded CSV/Parquet"
    ASSET = "asset", "read from a cataloged asset"


class ResultKind(models.TextChoices):
    DRIFT = "drift", "per-feature drift"
    DATASET_DRIFT = "dataset_drift", "dataset drift"
    MULTIVARIATE = "multivariate", "multivariate drift"
    QUALITY = "quality", "data-quality check"
    PERFORMANCE = "performance", "realized performance"
    ESTIMATED = "estimated", "estimated performance (CBPE)"
    CONCEPT = "concept", "concept drift"
    FAIRNESS = "fairness", "group fairness check"


class AlertState(models.TextChoices):
    OPEN = "open", "open"
    ACKNOWLEDGED = "acknowledged", "acknowledged"
    RESOLVED = "resolved", "resolved"
