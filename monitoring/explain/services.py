"""Services of monitoring.explain: each checks the actor's permission, validates, writes and appends
its audit event in one transaction. Audit details hold ids, digests, counts and method names only.

* ``artifact_upload``      ADD     store a model version's artifact (skops/ONNX checked loadable; a
                                    pickle/joblib is stored untrusted and refused at load)
* ``artifact_mark_trusted`` ADMINISTER  let a pickle/joblib artifact load (reason required)
* ``explanation_create``   ADD     explain rows with a model version's artifact, stored as evidence
* ``explanation_global_create`` ADD  permutation importance, PDP and ICE on a dataset location
* ``fairness_assess``      ADD     fairness of decisions in a dataset location, stored as evidence; failed
                                    checks of a model version become findings (``findings``)
* ``fairness_check_production`` ADD  the same on a version's logged prediction batches, feeding its
                                    monitors' alerts (``findings``)
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import pandas as pd
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction

from accounts.permissions import ADD, ADMINISTER, require
from audit import services as audit
from core.types import Actor

from .artifacts import ArtifactRefused, LoadedModel, load_bytes, sha256_of, sniff
from .choices import ArtifactFormat, ArtifactSource, ExplanationScope
from .engine import ExplainInputError, align, explain_frame, frame_hash
from .fairness import FairnessInputError, fairness_from_frame
from .models import Explanation, FairnessAssessment, ModelArtifact
from .treeshap import TreeExplainer

MAX_UPLOAD_BYTES = 256 * 1024 * 1024
MAX_EXPLAIN_ROWS = 1000


def artifact_upload(
    *,
    actor: Actor,
    model_version,
    data: bytes,
    source: str = ArtifactSource.UPLOAD,
    source_uri: str = "",
) -> ModelArtifact:
    """Store ``data`` as an artifact of ``model_version``; the format comes from the bytes."""
    require(actor, ADD, "model artifacts")
    if not data:
        raise ValidationError("the artifact is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError(f"the artifact is larger than {MAX_UPLOAD_BYTES} bytes")
    kind = sniff(data)
    if kind == "unknown":
        raise ValidationError("the artifact is neither a skops, an ONNX, nor a pickle/joblib file")
    digest = sha256_of(data)
    if kind in ("skops", "onnx"):
        try:
            load_bytes(data, expected_sha256=digest)  # refuses untrusted types before storing anything
        except ArtifactRefused as exc:
            raise ValidationError(str(exc)) from exc
    if ModelArtifact.objects.filter(model_version=model_version, sha256=digest).exists():
        raise ValidationError("this model version already has an artifact with these bytes")
    artifact = ModelArtifact(
        model_version=model_version,
        format=kind,
        sha256=digest,
        size=len(data),
        source=source,
        source_uri=source_uri,
        uploaded_by=actor if not isinstance(actor, str) else None,
    )
    artifact.file.save("artifact", ContentFile(data), save=False)
    artifact.full_clean()
    with transaction.atomic():
        artifact.save()
        audit.record(
            actor=actor,
            action="explain.artifact_upload",
            target=artifact,
            details={"model_version": model_version.pk, "format": kind, "sha256": digest, "size": len(data), "source": source},
        )
    return artifact


def artifact_mark_trusted(*, actor: Actor, artifact: ModelArtifact, reason: str) -> ModelArtifact:
    """Allow a pickle/joblib artifact to be loaded (admins only; the reason is audited)."""
    require(actor, ADMINISTER, "artifact trust")
    if artifact.format not in (ArtifactFormat.PICKLE, ArtifactFormat.JOBLIB):
        raise ValidationError("only pickle and joblib artifacts need to be marked trusted")
    if not reason.strip():
        raise ValidationError("a reason is required to trust a pickle artifact")
    with transaction.atomic():
        artifact = ModelArtifact.objects.select_for_update().get(pk=artifact.pk)
        artifact.trusted = True
        artifact.trusted_reason = reason.strip()
        artifact.trusted_by = actor if not isinstance(actor, str) else None
        artifact.full_clean()
        artifact.save(update_fields=["trusted", "trusted_reason", "trusted_by"])
        audit.record(
            actor=actor,
            action="explain.artifact_trust",
            target=artifact,
            reason=artifact.trusted_reason,
            details={"sha256": artifact.sha256, "format": artifact.format},
        )
    return artifact


# Loaded models and tree explainers, per artifact digest: converting a 200-tree forest costs ~0.3 s,
# explaining one decision with the kept explainer a few ms. The bytes are re-hashed at every load.
_CACHE: OrderedDict[str, tuple[LoadedModel, TreeExplainer | None]] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8


def artifact_load(artifact: ModelArtifact) -> tuple[LoadedModel, TreeExplainer | None]:
    """The artifact's model (and its path-dependent tree explainer when it is a tree ensemble), after
    checking the stored bytes against the recorded SHA-256 (raises ArtifactRefused)."""
    with artifact.file.open("rb") as fh:
        data = fh.read()
    if sha256_of(data) != artifact.sha256:
        raise ArtifactRefused("the artifact's SHA-256 does not match the recorded digest (tampered or replaced)")
    with _CACHE_LOCK:
        hit = _CACHE.get(artifact.sha256)
        if hit is not None:
            _CACHE.move_to_end(artifact.sha256)
            return hit
    pickled = artifact.format in (ArtifactFormat.PICKLE, ArtifactFormat.JOBLIB)
    if pickled and not artifact.trusted:
        raise ArtifactRefused("this pickle/joblib artifact is not marked trusted by an admin; it is not loaded")
    loaded = load_bytes(data, expected_sha256=artifact.sha256, allow_pickle=pickled and artifact.trusted)
    from .trees import is_tree_model

    tree = TreeExplainer(loaded.estimator) if loaded.estimator is not None and is_tree_model(loaded.estimator) else None
    with _CACHE_LOCK:
        _CACHE[artifact.sha256] = (loaded, tree)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return loaded, tree


def explanation_create(
    *,
    actor: Actor,
    artifact: ModelArtifact,
    rows: pd.DataFrame,
    method: str | None = None,
    background: pd.DataFrame | None = None,
    seed: int = 0,
    n_permutations: int = 64,
    provenance: dict | None = None,
) -> Explanation:
    """Explain ``rows`` with ``artifact``'s model; the explanation is stored and audited. ``provenance``
    (ids and digests only, e.g. a logged prediction's id and its batch's SHA-256) is kept in
    ``parameters["source"]`` and in the audit event's ``source``."""
    require(actor, ADD, "explanations")
    if len(rows) > MAX_EXPLAIN_ROWS:
        raise ValidationError(f"at most {MAX_EXPLAIN_ROWS} rows per explanation")
    try:
        loaded, tree = artifact_load(artifact)
        result = explain_frame(
            loaded, rows, method=method, background=background, seed=seed, n_permutations=n_permutations, tree_explainer=tree
        )
        dataset_hash = frame_hash(align(rows, loaded))
    except (ArtifactRefused, ExplainInputError) as exc:
        raise ValidationError(str(exc)) from exc
    explanation = Explanation(
        model_version=artifact.model_version,
        artifact=artifact,
        scope=ExplanationScope.LOCAL,
        explainer=result.explainer,
        engine_version=result.version,
        output=result.output,
        base_value=result.base_value,
        rows=[{"prediction": r.prediction, "contributions": r.contributions, "residual": r.residual} for r in result.rows],
        parameters={**result.parameters, **({"source": provenance} if provenance else {})},
        dataset_sha256=dataset_hash,
        sample_size=len(rows),
        background_sha256=result.background_sha256 or "",
        background_size=result.background_size,
        seed=seed,
        max_abs_residual=result.max_abs_residual,
        summary=result.in_words(0),
        created_by=actor if not isinstance(actor, str) else None,
    )
    explanation.full_clean()
    with transaction.atomic():
        explanation.save()
        audit.record(
            actor=actor,
            action="explain.explanation_create",
            target=explanation,
            details={
                "model_version": artifact.model_version_id,
                "artifact_sha256": artifact.sha256,
                "explainer": result.explainer,
                "rows": len(rows),
                "dataset_sha256": dataset_hash,
                "background_sha256": result.background_sha256 or "",
                "background_size": result.background_size,
                "seed": seed,
                **({"source": provenance} if provenance else {}),
            },
        )
    return explanation


def explanation_global_create(
    *,
    actor: Actor,
    artifact: ModelArtifact,
    location: str,
    label: str,
    scoring: str | None = None,
    n_repeats: int = 5,
    seed: int = 0,
    sample_size: int | None = 2000,
    features: list[str] | None = None,
) -> Explanation:
    """Global explanation (scikit-learn's permutation importance, PDP and ICE) of ``artifact``'s model on
    the rows at ``location`` (read through compliance.datasets); stored with its provenance, audited."""
    from compliance import datasets

    from .inspection import global_explain

    require(actor, ADD, "explanations")
    try:
        loaded, _ = artifact_load(artifact)
    except ArtifactRefused as exc:
        raise ValidationError(str(exc)) from exc
    if loaded.estimator is None:
        raise ValidationError("global explanations need a scikit-learn model (a skops artifact)")
    try:
        frame = datasets.read_frame(datasets.resolve(location))
    except datasets.ReadError as exc:
        raise ValidationError(f"the data cannot be read ({type(exc).__name__})") from exc
    if label not in frame.columns:
        raise ValidationError(f"label column {label!r} is not in the data")
    try:
        X = align(frame.drop(columns=[label]), loaded)
    except ExplainInputError as exc:
        raise ValidationError(str(exc)) from exc
    if features and (unknown := [f for f in features if f not in X.columns]):
        raise ValidationError(f"unknown feature columns: {', '.join(unknown[:10])}")
    if loaded.is_classifier:
        y = _labels_like(frame[label], loaded.estimator.classes_)
    else:
        y = pd.to_numeric(frame[label], errors="coerce")
        if y.isna().any():
            raise ValidationError("the label column has missing or non-numeric values")
    result = global_explain(
        loaded.estimator, X, y, scoring=scoring, n_repeats=n_repeats, seed=seed, sample_size=sample_size, features=features
    )
    explanation = Explanation(
        model_version=artifact.model_version,
        artifact=artifact,
        scope=ExplanationScope.GLOBAL,
        explainer="sklearn-inspection",
        engine_version=_sklearn_version(),
        result=result,
        parameters={k: result[k] for k in ("scoring", "n_repeats", "grid_resolution")},
        dataset_sha256=result["dataset_sha256"],
        sample_size=result["sample_size"],
        seed=seed,
        summary="permutation importance: "
        + ", ".join(
            f"{r['feature']} {r['mean']:.3g}" for r in sorted(result["permutation_importance"], key=lambda r: -r["mean"])[:3]
        ),
        created_by=actor if not isinstance(actor, str) else None,
    )
    explanation.full_clean()
    with transaction.atomic():
        explanation.save()
        audit.record(
            actor=actor,
            action="explain.explanation_create",
            target=explanation,
            details={
                "model_version": artifact.model_version_id,
                "artifact_sha256": artifact.sha256,
                "explainer": "sklearn-inspection",
                "rows": result["sample_size"],
                "dataset_sha256": result["dataset_sha256"],
                "seed": seed,
            },
        )
    return explanation


def _sklearn_version() -> str:
    import sklearn

    return f"scikit-learn {sklearn.__version__}"


def _labels_like(values: pd.Series, classes) -> pd.Series:
    """Labels read as text (CSV) turned into the classifier's own class values."""
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        lookup = {str(c): c for c in classes}
        mapped = values.map(lambda v: lookup.get(str(v)))
        if mapped.isna().any():
            raise ValidationError("the label column has values that are not among the model's classes")
        return mapped
    return values


def fairness_assess(
    *,
    actor: Actor,
    location: str | None = None,
    asset=None,
    prediction: str,
    group: list[str] | None = None,
    label: str | None = None,
    positive=None,
    model_version=None,
    reference: str | None = None,
    n_boot: int = 0,
    seed: int = 0,
    min_group_size: int = 30,
    limits: dict[str, float] | None = None,
) -> FairnessAssessment:
    """Assess the decisions stored at ``location``, or in cataloged ``asset`` (read through
    compliance.datasets, so its location rule applies); the report is stored and audited.

    Without ``group``, the asset's protected columns are used: columns with a confirmed
    classification in a GDPR Art. 9/10 special category or a CCPA protected classification
    (selectors.protected_columns); each is assessed on its own and the reports are stored together,
    keyed by column. With a ``model_version``, failed checks become findings (``findings``)."""
    from compliance import datasets

    from .selectors import protected_columns

    require(actor, ADD, "fairness assessments")
    if (location is None) == (asset is None):
        raise ValidationError("give a location or an asset")
    if not group:
        if asset is None:
            raise ValidationError(
                "group columns are required for a location (an asset's protected columns are found in the catalog)"
            )
        group = protected_columns(asset=asset, user=actor) if not isinstance(actor, str) else []
        if not group:
            raise ValidationError("the asset has no column confirmed as a protected attribute; name the group columns")
        per_attribute = True
    else:
        per_attribute = False
    columns = [prediction, *group, *([label] if label else [])]
    try:
        loc = datasets.resolve_asset(asset) if asset is not None else datasets.resolve(location)
        frame = datasets.read_frame(loc, columns=list(dict.fromkeys(columns)))
    except datasets.ReadError as exc:
        raise ValidationError(f"the data cannot be read ({type(exc).__name__})") from exc
    return fairness_assess_frame(
        actor=actor,
        frame=frame,
        location_label=(f"asset {asset.pk}" if asset is not None else loc.label),
        prediction=prediction,
        group=group,
        per_attribute=per_attribute,
        label=label,
        positive=positive,
        model_version=model_version,
        reference=reference,
        n_boot=n_boot,
        seed=seed,
        min_group_size=min_group_size,
        limits=limits,
    )


def fairness_assess_frame(
    *,
    actor: Actor,
    frame: pd.DataFrame,
    location_label: str,
    prediction: str,
    group: list[str],
    per_attribute: bool = False,
    label: str | None = None,
    positive=None,
    model_version=None,
    reference: str | None = None,
    n_boot: int = 0,
    seed: int = 0,
    min_group_size: int = 30,
    limits: dict[str, float] | None = None,
    production_batches=None,
) -> FairnessAssessment:
    """The stored, audited assessment of decisions already read (``fairness_assess`` and
    ``fairness_check_production`` read them); with a ``model_version`` its checks open and
    resolve findings, and with ``production_batches`` they feed the version's monitoring alerts, all
    in the assessment's transaction."""
    from . import findings
    from .findings import DIFFERENCE_METRICS, fairness_findings_sync

    require(actor, ADD, "fairness assessments")
    if limits and (unknown := sorted(set(limits) - set(DIFFERENCE_METRICS))):
        raise ValidationError({"limits": f"unknown metric(s) {', '.join(unknown)}; choose among {', '.join(DIFFERENCE_METRICS)}"})
    try:
        options = {"prediction": prediction, "label": label, "positive": positive, "reference": reference}
        options |= {"n_boot": n_boot, "seed": seed, "min_group_size": min_group_size}
        if per_attribute:
            reports = {col: fairness_from_frame(frame, group=[col], **options).as_dict() for col in group}
            doc = {
                "by_attribute": reports,
                "n": len(frame),
                "groups": [g for r in reports.values() for g in r["groups"]],
                "four_fifths": {"flag": any(r["four_fifths"]["flag"] for r in reports.values())},
                "protected_columns_from": "catalog classifications (GDPR Art. 9/10, CCPA protected classifications)",
            }
        else:
            doc = fairness_from_frame(frame, group=group, **options).as_dict()
    except FairnessInputError as exc:
        raise ValidationError(str(exc)) from exc
    digest = frame_hash_any(frame)
    assessment = FairnessAssessment(
        model_version=model_version,
        attributes=list(group),
        prediction_column=prediction,
        label_column=label or "",
        report=doc,
        flagged=bool(doc["four_fifths"]["flag"]),
        dataset_sha256=digest,
        n=doc["n"],
        location_label=location_label[:300],
        created_by=actor if not isinstance(actor, str) else None,
    )
    assessment.full_clean()
    with transaction.atomic():
        assessment.save()
        audit.record(
            actor=actor,
            action="explain.fairness_assess",
            target=assessment,
            details={
                "model_version": getattr(model_version, "pk", None),
                "attributes": list(group),
                "rows": doc["n"],
                "groups": len(doc["groups"]),
                "dataset_sha256": digest,
                "four_fifths_flag": assessment.flagged,
                "n_boot": n_boot,
                "seed": seed,
                **({"limits": dict(limits)} if limits else {}),
                **({"production_batches": [b.pk for b in production_batches]} if production_batches else {}),
                **({"alerts": "fed" if findings.alerts_supported() else findings.NOT_FED} if production_batches else {}),
            },
        )
        _, touched = fairness_findings_sync(actor=actor, assessment=assessment, limits=limits)
        if production_batches and model_version is not None:
            findings.feed_alerts(actor=actor, assessment=assessment, batches=production_batches, touched=touched)
    return assessment


def fairness_check_production(
    *,
    actor: Actor,
    model_version,
    group: list[str],
    prediction: str | None = None,
    label: str | None = None,
    positive=None,
    limits: dict[str, float] | None = None,
    batch_ids: list[int] | None = None,
    n_boot: int = 0,
    seed: int = 0,
    min_group_size: int = 30,
) -> FairnessAssessment:
    """Assess the version's logged decisions (all its visible prediction batches, or ``batch_ids``),
    store the assessment, sync its findings and feed its monitors' alerts (``findings``). The returned
    assessment carries ``production_batch_ids`` (not stored on it: its audit event and the fairness
    run of each monitor record them)."""
    from .decisions import output_columns
    from .findings import production_frame

    require(actor, ADD, "fairness assessments")
    if not group:
        raise ValidationError({"group": "name the protected attribute column(s) of the logged batches"})
    prediction = prediction or output_columns(model_version)["prediction"]
    frame, batches = production_frame(
        actor=actor, model_version=model_version, columns=[prediction, *group], label=label, batch_ids=batch_ids
    )
    assessment = fairness_assess_frame(
        actor=actor,
        frame=frame,
        location_label=f"production batches {','.join(str(b.pk) for b in batches)}"[:300],
        prediction=prediction,
        group=group,
        label=label,
        positive=positive,
        model_version=model_version,
        n_boot=n_boot,
        seed=seed,
        min_group_size=min_group_size,
        limits=limits,
        production_batches=batches,
    )
    assessment.production_batch_ids = [b.pk for b in batches]
    return assessment


def frame_hash_any(frame: pd.DataFrame) -> str:
    """SHA-256 over the column names and pandas' row hashes (any dtypes)."""
    from .inspection import dataset_sha256

    return dataset_sha256(frame)
