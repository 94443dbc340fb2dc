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
  before its rows are used (a mismatch is a ValidationError). The verified rows are kept per batch
  (``_ROWS``) and reused only while the file's stat signature (inode, size, mtime, ctime) is unchanged,
  so a call costs an index look-up, not a read of the batch; any write to the file sends the next call
  back to hashing it;
* the id column and the output columns to drop are the version's monitor's (``id_column``,
  ``prediction_column``, ``probability_column``, ``label_column``), else the defaults
  ``prediction_id``/``prediction``/``probability``/``label``;
* non-tree methods take their background from the same batch (up to 100 other rows, drawn with
  ``numpy.random.default_rng(seed)``);
* evidence: ``parameters["source"] = {"prediction_id", "batch_id", "batch_sha256", "row"}`` and the
  same block in the audit event. The words (``summary``) name features and contributions, never the
  row's values.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd
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


@dataclass(frozen=True)
class _BatchRows:
    """A logged batch's rows as read once, with the file signature and digest they were verified under."""

    signature: tuple[int, int, int, int]
    frame: pd.DataFrame
    positions: pd.Index  # the id column as text; position = get_loc(id)


# Batches read for "explain this decision", per (batch id, digest, path, id column): reading and hashing a
# 100,000-row batch costs ~100-250 ms, looking one id up in the kept rows well under 1 ms. An entry is
# used only while the file's signature (inode, size, mtime, ctime) is the one its bytes were verified
# under: any write to the file changes its ctime (which no user-space call can set back), so a changed
# file is re-hashed -- and refused -- before any of its rows are used. Bounded by rows kept.
_ROWS: OrderedDict[tuple[int, str, str, str], _BatchRows] = OrderedDict()
_ROWS_LOCK = threading.Lock()
MAX_CACHED_ROWS = 2_000_000


def _signature(path) -> tuple[int, int, int, int]:
    st = os.stat(path)
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _batch_rows(batch, id_col: str) -> _BatchRows:
    """The rows of ``batch`` (kept, or read through compliance.datasets once the file's SHA-256 matched
    the digest recorded at logging); ValidationError when the file changed or cannot be read."""
    from compliance import datasets

    try:
        loc = datasets.resolve(batch.location)  # the location rule, checked at every call
        signature = _signature(loc.path)
        key = (batch.pk, batch.sha256, str(loc.path), id_col)
        with _ROWS_LOCK:
            kept = _ROWS.get(key)
            if kept is not None and kept.signature == signature:
                _ROWS.move_to_end(key)
                return kept
        with open(loc.path, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        if digest != batch.sha256:
            raise ValidationError(f"logged batch {batch.pk} does not match its recorded SHA-256 (changed since logging)")
        frame = datasets.read_frame(loc).reset_index(drop=True)
        if _signature(loc.path) != signature:  # written to while being hashed or read
            raise ValidationError(f"logged batch {batch.pk} changed while it was read")
    except (datasets.ReadError, datasets.LocationRefused, OSError) as exc:
        raise ValidationError(f"logged batch {batch.pk} cannot be read ({type(exc).__name__})") from None
    if id_col not in frame.columns:
        raise ValidationError(f"logged batch {batch.pk} has no column {id_col!r}")
    entry = _BatchRows(signature=signature, frame=frame, positions=pd.Index(frame[id_col].astype(str)))
    with _ROWS_LOCK:
        _ROWS[key] = entry
        _ROWS.move_to_end(key)
        while len(_ROWS) > 1 and sum(len(e.frame) for e in _ROWS.values()) > MAX_CACHED_ROWS:
            _ROWS.popitem(last=False)
    return entry


def _position(entry: _BatchRows, wanted: str) -> int | None:
    try:
        hit = entry.positions.get_loc(wanted)
    except KeyError:
        return None
    if isinstance(hit, slice):  # ids are unique within a batch (batch_log); the first one otherwise
        return int(hit.start)
    if not isinstance(hit, int | np.integer):
        return int(np.flatnonzero(hit)[0])
    return int(hit)


def find_logged_row(*, actor: Actor, model_version, prediction_id: str, columns: dict[str, str] | None = None):
    """(batch, the batch's rows, position of the row) for ``prediction_id``; PredictionNotFound when
    the version is invisible to ``actor`` or no visible prediction batch holds the id. The rows frame
    is shared (kept between calls): callers must not modify it."""
    from monitoring.choices import BatchKind
    from monitoring.selectors import batch_list

    if not version_visible(actor, model_version):
        raise PredictionNotFound("no such logged prediction")
    id_col = (columns or output_columns(model_version))["id"]
    wanted = str(prediction_id)
    batches = batch_list(user=actor).filter(model_version=model_version, kind=BatchKind.PREDICTIONS)
    for batch in batches.order_by("-received_at", "-id"):
        if id_col not in batch.columns:
            continue
        entry = _batch_rows(batch, id_col)
        position = _position(entry, wanted)
        if position is not None:
            return batch, entry.frame, position
    raise PredictionNotFound("no such logged prediction")


def _background_positions(n: int, position: int, size: int, seed: int) -> np.ndarray:
    """``size`` distinct positions among the ``n`` rows other than ``position``, seeded, in row order."""
    picks = np.random.default_rng(seed).choice(n - 1, size=size, replace=False)
    picks[picks >= position] += 1
    return np.sort(picks)


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
    names = output_columns(version)
    batch, frame, position = find_logged_row(actor=actor, model_version=version, prediction_id=prediction_id, columns=names)
    feature_columns = [c for c in frame.columns if c not in set(names.values())]
    row = frame.iloc[[position]][feature_columns]
    background = None
    wants_background = method in ("permutation", "lime") or (method is None and not _is_tree(artifact))
    if wants_background and len(frame) > 1:
        picks = _background_positions(len(frame), position, min(BACKGROUND_ROWS, len(frame) - 1), seed)
        background = frame.iloc[picks][feature_columns]
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
