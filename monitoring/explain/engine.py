"""One entry point for local explanations: pick the explainer, align the columns, run it, and return
the numbers with everything needed to reproduce them (the evidence fields).

Outputs explained (``Explanation.output``): tree models, their raw output as TreeSHAP sees it
(``"probability"`` for forests' averaged class-1 probability, ``"log-odds"`` for boosted classifiers'
class-1 margin, ``"raw"`` for regressors); other models, a classifier's class-1 probability
(``"probability"``) or a regressor's prediction (``"raw"``).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from .artifacts import LoadedModel
from .lime import LimeExplainer
from .shapley import PermutationExplainer
from .trees import UnsupportedModel, is_tree_model
from .treeshap import TreeExplainer

ENGINE_VERSION = "custos-explain 1"
METHODS = ("tree", "permutation", "lime")
DEFAULT_BACKGROUND_ROWS = 100


class ExplainInputError(ValueError):
    """Bad input for an explanation (the message names columns or rules, never data values)."""


@dataclass
class RowExplanation:
    prediction: float
    contributions: dict[str, float]
    residual: float


@dataclass
class Explanation:
    explainer: str
    version: str
    output: str
    base_value: float
    rows: list[RowExplanation]
    features: list[str]
    parameters: dict = field(default_factory=dict)
    background_sha256: str | None = None
    background_size: int = 0
    seed: int = 0

    @property
    def max_abs_residual(self) -> float:
        return max((abs(r.residual) for r in self.rows), default=0.0)

    def contract(self) -> dict:
        """The ``model_explain --json`` shape (docs/explain.md), plus the evidence fields."""
        return {
            "explainer": self.explainer,
            "output": self.output,
            "base_value": self.base_value,
            "rows": [asdict(r) for r in self.rows],
            "version": self.version,
            "parameters": self.parameters,
            "background_sha256": self.background_sha256,
            "background_size": self.background_size,
            "seed": self.seed,
            "max_abs_residual": self.max_abs_residual,
        }

    def top(self, row: int = 0, k: int = 5) -> list[tuple[str, float]]:
        items = sorted(self.rows[row].contributions.items(), key=lambda kv: -abs(kv[1]))
        return items[:k]

    def in_words(self, row: int = 0, k: int = 3) -> str:
        """One sentence naming the largest contributions, for a person reading the decision."""
        r = self.rows[row]
        parts = [f"{name} {'raised' if v > 0 else 'lowered'} it by {abs(v):.4g}" for name, v in self.top(row, k)]
        return (
            f"The model's {self.output} output was {r.prediction:.4g} against a base value of {self.base_value:.4g}; "
            + ("; ".join(parts) if parts else "no feature contributed")
            + f" ({self.explainer}, additivity residual {r.residual:.2g})."
        )


def frame_hash(frame: pd.DataFrame) -> str:
    h = hashlib.sha256()
    h.update("\x1f".join(map(str, frame.columns)).encode())
    h.update(np.ascontiguousarray(frame.to_numpy(dtype=np.float64)).tobytes())
    return h.hexdigest()


def align(frame: pd.DataFrame, model: LoadedModel, *, what: str = "data") -> pd.DataFrame:
    """The feature columns in the model's order, as floats (refusing missing or non-numeric columns)."""
    if model.feature_names:
        missing = [c for c in model.feature_names if c not in frame.columns]
        if missing:
            raise ExplainInputError(f"the {what} lacks the model's feature columns: {', '.join(missing[:10])}")
        frame = frame[model.feature_names]
    elif model.n_features is not None and frame.shape[1] != model.n_features:
        raise ExplainInputError(f"the model takes {model.n_features} features; the {what} has {frame.shape[1]} columns")
    if all(pd.api.types.is_bool_dtype(t) or pd.api.types.is_numeric_dtype(t) for t in frame.dtypes):
        # all numeric: one conversion of the block instead of one per column (a logged row: ~1 ms, not ~15)
        return pd.DataFrame(frame.to_numpy(dtype=np.float64, na_value=np.nan), columns=frame.columns, index=frame.index)
    # Readers may hand CSV columns over as text: numbers are parsed here, anything else is refused.
    out, bad = {}, []
    for col in frame.columns:
        values = frame[col]
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            out[col] = values.astype(np.float64)
            continue
        parsed = pd.to_numeric(values.replace("", np.nan), errors="coerce")
        if (parsed.isna() & values.notna() & (values != "")).any():
            bad.append(str(col))
        out[col] = parsed.astype(np.float64)
    if bad:
        raise ExplainInputError(f"non-numeric values in the {what}'s feature columns: {', '.join(bad[:10])}")
    return pd.DataFrame(out, index=frame.index)


def explain_frame(
    model: LoadedModel,
    data: pd.DataFrame,
    *,
    method: str | None = None,
    background: pd.DataFrame | None = None,
    seed: int = 0,
    n_permutations: int = 64,
    lime_samples: int = 5000,
    tree_explainer: TreeExplainer | None = None,
) -> Explanation:
    """Explain every row of ``data`` (see the module docstring for what output is explained).
    ``tree_explainer``: a kept path-dependent explainer of the same model (used without background)."""
    if len(data) == 0:
        raise ExplainInputError("the data has no rows")
    X = align(data, model)
    features = [str(c) for c in X.columns]
    # a kept tree explainer already proves the model is a supported ensemble (converting one costs ~30 ms)
    tree_ok = tree_explainer is not None or (model.estimator is not None and is_tree_model(model.estimator))
    method = method or ("tree" if tree_ok else "permutation")
    if method not in METHODS:
        raise ExplainInputError(f"unknown method; choose one of {', '.join(METHODS)}")
    bg = None
    if background is not None:
        bg = align(background, model, what="background")
        if len(bg) == 0:
            raise ExplainInputError("the background has no rows")
    elif method != "tree":
        bg = X.sample(n=min(DEFAULT_BACKGROUND_ROWS, len(X)), random_state=seed)
    bg_fields = {"background_sha256": frame_hash(bg) if bg is not None else None, "background_size": 0 if bg is None else len(bg)}

    if method == "tree":
        if not tree_ok:
            raise ExplainInputError("method 'tree' needs a scikit-learn tree ensemble saved with skops")
        try:
            if tree_explainer is not None and bg is None:
                explainer = tree_explainer
            else:
                explainer = TreeExplainer(model.estimator, background=None if bg is None else bg.to_numpy())
        except UnsupportedModel as exc:
            raise ExplainInputError(str(exc)) from exc
        res = explainer.shap_values(X.to_numpy())
        rows = _rows(res.prediction, res.values, res.residual, features)
        return Explanation(
            explainer=f"treeshap-{res.method}",
            version=ENGINE_VERSION,
            output=res.output,
            base_value=res.base_value,
            rows=rows,
            features=features,
            parameters={"feature_perturbation": res.method, "trees": explainer.ensemble.n_trees},
            seed=seed,
            **bg_fields,
        )
    if method == "permutation":
        res = PermutationExplainer(model.predict_output, bg.to_numpy(), n_permutations=n_permutations, seed=seed).shap_values(
            X.to_numpy()
        )
        return Explanation(
            explainer="permutation-shapley",
            version=ENGINE_VERSION,
            output=model.output,
            base_value=res.base_value,
            rows=_rows(res.prediction, res.values, res.residual, features),
            features=features,
            parameters={"n_permutations": res.n_permutations, "exact": res.exact, "antithetic": not res.exact},
            seed=seed,
            **bg_fields,
        )
    lime = LimeExplainer(model.predict_output, bg.to_numpy(), n_samples=lime_samples, seed=seed)
    rows, bases, scores = [], [], []
    for x in X.to_numpy():
        r = lime.explain(x)
        rows.append(RowExplanation(r.prediction, dict(zip(features, map(float, r.contributions), strict=True)), r.residual))
        bases.append(r.base_value)
        scores.append(r.score)
    return Explanation(
        explainer="lime-ridge-quartile",
        version=ENGINE_VERSION,
        output=model.output,
        base_value=float(np.mean(bases)),  # per-row surrogates: each has its own intercept
        rows=rows,
        features=features,
        parameters={
            "n_samples": lime_samples,
            "kernel_width": 0.75 * np.sqrt(len(features)),
            "ridge_alpha": 1.0,
            "intercepts": bases,
            "scores": scores,
        },
        seed=seed,
        **bg_fields,
    )


def _rows(prediction, values, residual, features) -> list[RowExplanation]:
    return [
        RowExplanation(float(p), dict(zip(features, map(float, v), strict=True)), float(r))
        for p, v, r in zip(prediction, values, residual, strict=True)
    ]
