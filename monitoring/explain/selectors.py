"""Reads of monitoring.explain, always scoped by ``restrict(user, action)``."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.permissions import VIEW
from core.types import Actor

from .models import Explanation, FairnessAssessment, FairnessFinding, ModelArtifact


def artifact_list(*, user: Actor) -> QuerySet[ModelArtifact]:
    """Artifacts of model versions ``user`` may see (``model_version_list``)."""
    return (
        ModelArtifact.objects.restrict(user, VIEW)
        .filter(model_version__in=model_version_list(user=user).values("pk"))
        .select_related("model_version", "model_version__model")
    )


def explanation_list(*, user: Actor) -> QuerySet[Explanation]:
    """Explanations of model versions ``user`` may see."""
    return (
        Explanation.objects.restrict(user, VIEW)
        .filter(model_version__in=model_version_list(user=user).values("pk"))
        .select_related("model_version", "artifact")
    )


def fairness_list(*, user: Actor) -> QuerySet[FairnessAssessment]:
    """Fairness assessments of model versions ``user`` may see, and those of no model version."""
    from django.db.models import Q

    visible = model_version_list(user=user).values("pk")
    return (
        FairnessAssessment.objects.restrict(user, VIEW)
        .filter(Q(model_version__isnull=True) | Q(model_version__in=visible))
        .select_related("model_version")
    )


def fairness_finding_list(*, user: Actor) -> QuerySet[FairnessFinding]:
    """Fairness findings of model versions ``user`` may see."""
    return (
        FairnessFinding.objects.restrict(user, VIEW)
        .filter(model_version__in=model_version_list(user=user).values("pk"))
        .select_related("assessment", "alert")
    )


# GDPR Art. 9/10 special categories (every category the gdpr pack marks sensitive) and CCPA's
# "protected classifications" (category C); read from the loaded regulation packs, not hard-coded.
PROTECTED_CATEGORIES = {"gdpr": None, "ccpa": {"C"}}  # pack code -> category codes (None: every sensitive one)


def protected_entity_types() -> set[str]:
    from compliance.policies.models import RegulationCategory

    types: set[str] = set()
    for category in RegulationCategory.objects.filter(pack__code__in=PROTECTED_CATEGORIES).select_related("pack"):
        wanted = PROTECTED_CATEGORIES[category.pack.code]
        if (wanted is None and category.sensitive) or (wanted is not None and category.code in wanted):
            types.update(category.entity_types)
    return types


def protected_columns(*, asset, user: Actor) -> list[str]:
    """Names of ``asset``'s columns with a confirmed classification in a protected category (see
    PROTECTED_CATEGORIES), in column order; empty when the user may not see the asset."""
    from catalog.choices import ClassificationState
    from catalog.models import Column, DataAsset

    if not DataAsset.objects.restrict(user, VIEW).filter(pk=asset.pk).exists():
        return []
    types = protected_entity_types()
    return list(
        Column.objects.filter(
            asset=asset,
            classifications__state=ClassificationState.CONFIRMED,
            classifications__entity_type__in=types,
        )
        .order_by("position", "name")
        .values_list("name", flat=True)
        .distinct()
    )


def model_version_list(*, user: Actor):
    """Model versions ``user`` may see: catalog's ``restrict`` plus monitoring's rule (a version trained
    or evaluated on a restricted asset is hidden from users without ``view_restricted``, except from
    the ML model's owner)."""
    from django.db.models import Q

    from accounts.permissions import VIEW_RESTRICTED, user_can
    from catalog.choices import Sensitivity
    from catalog.models import ModelVersion
    from catalog.selectors import model_version_list as catalog_versions

    qs = catalog_versions(user=user)
    if isinstance(user, str) or user_can(user, VIEW_RESTRICTED):
        return qs
    restricted = ModelVersion.objects.filter(
        Q(training_datasets__sensitivity=Sensitivity.RESTRICTED) | Q(evaluation_datasets__sensitivity=Sensitivity.RESTRICTED)
    ).values("pk")
    return qs.exclude(Q(pk__in=restricted) & ~Q(model__owner=user))
