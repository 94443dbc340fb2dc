""" "Explain this decision": a logged prediction id -> the input row monitoring logged for it -> a local
explanation stored as evidence (``services.explanation_create``) with the prediction id and the digest
of the batch it was read from.

Contract of ``explain_prediction`` (ADD, like every explanation):

* the artifact's model version must be visible to the actor (monitoring's rule: a version trained or
  evaluated on a restricted asset is hidden from users without ``view_restricted`` unless they own the
  ML model); otherwise, and when no visible prediction batch of that version holds the id, it raises
  ``PredictionNotFound`` (an ``Http404``: the API answers 404 in the error shape, nothing leaks);
* batches are found through ``monitoring.selectors.batch_list`` (``restrict()``-scoped), newest first,
  and read through ``compliance.datasets``; the batch file's SHA-256 is checked against the recorded one
  before its rows are used (a mismatch is a ValidationError);
* the id column and the output columns to drop are the version's monitor's (``id_column``,
  ``prediction_column``, ``probability_column``, ``label_column``), else the defaults
  ``prediction_id``/``prediction``/``probability``/``label``;
* non-tree methods take their background from the same batch (up to 100 rows, ``seed``);
* evidence: ``parameters["source"] = {"prediction_id", "batch_id", "batch_sha256", "row"}`` and the
  same block in the audit event. The words (``summary``) name features and contributions, never the
  row's values.
"""

from __future__ import annotations

import hashlib

from django.core.exceptions import ValidationError
from django.http import Http404

from accounts.permissions import ADD, require
from core.types import Actor

from . import services
from .models import Explanation, ModelArtifact

DEFAULT_COLUMNS = {"id": "prediction_id", "prediction": "prediction", "probability": "probability", "label": "label"}
BACKGROUND_ROWS = 100


class PredictionNotFound(Http404):
    """No visible logged prediction with that id for the artifact's model version."""


def version_visible(actor: Actor, model_version) -> bool:
    """Whether ``actor`` may see ``model_version`` (selectors.model_version_list)."""
    from .selectors import model_version_list

    if isinstance(actor, str):
        return True
    return model_version_list(user=actor).filter(pk=model_version.pk).exists()


def output_columns(model_version) -> dict[str, str]:
    """The id and output column names of the version's (first) monitor, else the defaults."""
    from monitoring.models import Monitor

    monitor = Monitor.objects.filter(model_version=model_version).order_by("id").first()
    if monitor is None:
        return dict(DEFAULT_COLUMNS)
    return {
        "id": monitor.id_column or DEFAULT_COLUMNS["id"],
        "prediction": monitor.prediction_column or DEFAULT_COLUMNS["prediction"],
        "probability": monitor.probability_column or DEFAULT_COLUMNS["probability"],
        "label": monitor.label_column or DEFAULT_COLUMNS["label"],
    }


def find_logged_row(*, actor: Actor, model_version, prediction_id: str):
    """(batch, row frame of one row, position in the batch) for ``prediction_id``; PredictionNotFound
    when the version is invisible to ``actor`` or no visible prediction batch holds the id."""
    from compliance import datasets
    from monitoring.choices import BatchKind
    from monitoring.selectors import batch_list

    if not version_visible(actor, model_version):
        raise PredictionNotFound("no such logged prediction")
    id_col = output_columns(model_version)["id"]
    wanted = str(prediction_id)
    batches = batch_list(user=actor).filter(model_version=model_version, kind=BatchKind.PREDICTIONS)
    for batch in batches.order_by("-received_at", "-id"):
        if id_col not in batch.columns:
            continue
        try:
            loc = datasets.resolve(batch.location)
            if hashlib.sha256(loc.path.read_bytes()).hexdigest() != batch.sha256:
                raise ValidationError(f"logged batch {batch.pk} does not match its recorded SHA-256 (changed since logging)")
            ids = datasets.read_frame(loc, columns=[id_col])[id_col]
        except (datasets.ReadError, datasets.LocationRefused, OSError) as exc:
            raise ValidationError(f"logged batch {batch.pk} cannot be read ({type(exc).__name__})") from None
        hits = (ids.astype(str) == wanted).to_numpy().nonzero()[0]
        if len(hits) == 0:
            continue
        frame = datasets.read_frame(loc).reset_index(drop=True)
        position = int(hits[0])
        return batch, frame, position
    raise PredictionNotFound("no such logged prediction")


def explain_prediction(
    *,
    actor: Actor,
    artifact: ModelArtifact,
    prediction_id: str,
    method: str | None = None,
    seed: int = 0,
    n_permutations: int = 64,
) -> Explanation:
    """Explain the logged decision ``prediction_id`` with ``artifact`` (see the module docstring)."""
    require(actor, ADD, "explanations")
    version = artifact.model_version
    batch, frame, position = find_logged_row(actor=actor, model_version=version, prediction_id=prediction_id)
    names = output_columns(version)
    features = frame.drop(columns=[c for c in names.values() if c in frame.columns])
    row = features.iloc[[position]]
    background = None
    if method in ("permutation", "lime") or (method is None and not _is_tree(artifact)):
        others = features.drop(index=position)
        if len(others):
            background = others.sample(n=min(BACKGROUND_ROWS, len(others)), random_state=seed)
    provenance = {"prediction_id": str(prediction_id), "batch_id": batch.pk, "batch_sha256": batch.sha256, "row": position}
    return services.explanation_create(
        actor=actor,
        artifact=artifact,
        rows=row,
        method=method,
        background=background,
        seed=seed,
        n_permutations=n_permutations,
        provenance=provenance,
    )


def _is_tree(artifact: ModelArtifact) -> bool:
    """Whether the artifact's model is a tree ensemble. Read from the loaded-model cache when the
    artifact is there (explanation_create re-checks the bytes' SHA-256 in any case), else loaded."""
    from .artifacts import ArtifactRefused

    with services._CACHE_LOCK:
        hit = services._CACHE.get(artifact.sha256)
    if hit is not None:
        return hit[1] is not None
    try:
        _, tree = services.artifact_load(artifact)
    except ArtifactRefused as exc:
        raise ValidationError(str(exc)) from exc
    return tree is not None


__all__ = ["PredictionNotFound", "explain_prediction", "find_logged_row", "output_columns", "version_visible"]
