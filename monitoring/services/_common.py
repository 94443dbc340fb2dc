"""What every monitoring service shares: the visibility check on a model version, library versions,
and the drift options a monitor stores."""

from __future__ import annotations

import hashlib
from importlib.metadata import version
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q

from accounts.permissions import VIEW, VIEW_RESTRICTED, user_can
from catalog.choices import Sensitivity
from core.types import Actor
from monitoring.stats.drift import DriftOptions

OPTION_KEYS = frozenset(DriftOptions.__dataclass_fields__)
LIBRARIES = ("numpy", "scipy", "pandas", "scikit-learn", "pyarrow")


def user_or_none(actor: Actor | str):
    return None if isinstance(actor, str) else actor


def check_visible(actor: Actor | str, *, model_version, asset=None) -> None:
    """Refuse (as *unknown*, so nothing leaks) a model version or asset the actor may not see: a restricted
    one for a user without ``view_restricted`` who does not own the ML model."""
    from catalog.models import DataAsset, ModelVersion

    if isinstance(actor, str) or user_can(actor, VIEW_RESTRICTED):
        return
    if not user_can(actor, VIEW):
        raise PermissionDenied(f"{getattr(actor, 'role', None) or 'anonymous'} may not view model versions")
    restricted = Q(training_datasets__sensitivity=Sensitivity.RESTRICTED) | Q(
        evaluation_datasets__sensitivity=Sensitivity.RESTRICTED
    )
    owned = model_version.model.owner_id == actor.pk
    if not owned and ModelVersion.objects.filter(pk=model_version.pk).filter(restricted).exists():
        raise ValidationError({"model_version": "no such model version"})
    if asset is not None and not DataAsset.objects.restrict(actor, VIEW).filter(pk=asset.pk).exists():
        raise ValidationError({"asset": "no such asset"})


def drift_options(stored: dict[str, Any]) -> DriftOptions:
    """A monitor's stored options as DriftOptions; unknown keys or bad values are a ValidationError."""
    unknown = set(stored) - OPTION_KEYS
    if unknown:
        raise ValidationError({"drift_options": f"unknown option(s): {', '.join(sorted(unknown))}"})
    try:
        return DriftOptions(**stored)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"drift_options": str(exc).splitlines()[0]}) from None


def library_versions() -> dict[str, str]:
    return {name: version(name) for name in LIBRARIES}


def digest_of(parts: list[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
