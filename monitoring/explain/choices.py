from django.db import models


class ArtifactFormat(models.TextChoices):
    SKOPS = "skops", "skops"
    ONNX = "onnx", "ONNX"
    PICKLE = "pickle", "pickle (refused unless an admin marks it trusted)"
    JOBLIB = "joblib", "joblib (refused unless an admin marks it trusted)"


class ArtifactSource(models.TextChoices):
    UPLOAD = "upload", "uploaded"
    MLFLOW = "mlflow", "MLflow model registry"


class ExplanationScope(models.TextChoices):
    LOCAL = "local", "local (per decision)"
    GLOBAL = "global", "global (permutation importance, PDP, ICE)"
