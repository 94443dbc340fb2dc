"""Reads of monitoring.explain, always scoped by ``restrict(user, action)``."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.permissions import VIEW
from core.types import Actor

from .models import Explanation, FairnessAssessment, ModelArtifact


def artifact_list(*, user: Actor) -> QuerySet[ModelArtifact]:
    return ModelArtifact.objects.restrict(user, VIEW).select_related("model_version", "model_version__model")


def explanation_list(*, user: Actor) -> QuerySet[Explanation]:
    return Explanation.objects.restrict(user, VIEW).select_related("model_version", "artifact")


def fairness_list(*, user: Actor) -> QuerySet[FairnessAssessment]:
    return FairnessAssessment.objects.restrict(user, VIEW).select_related("model_version")
