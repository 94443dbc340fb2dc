"""TreeSHAP speed and exactness: Custos's native TreeSHAP against shap's C TreeExplainer on the same
forest and rows, in the same run; and the cost of one "explain this decision" call.

    .venv/bin/python bench/explain.py [--rows 10000] [--trees 200] [--depth 8] [--features 20] [--calls 50]

* Model: ``RandomForestClassifier(n_estimators=--trees, max_depth=--depth)`` fitted on --rows x
  --features generated rows (seeded); the explained output is the class-1 probability.
* **Custos**: ``monitoring.explain.treeshap.TreeExplainer(model).shap_values(X)`` on all --rows rows,
  path-dependent; the time includes converting the model and building the per-leaf pattern tables.
* **Baseline**: ``shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
  .shap_values(X)`` (shap 0.51, its C extension) on the same rows.
* Exactness: the largest absolute difference between the two (target: 1e-9), and our additivity
  residual. Target speed: within 2x of shap.
* One decision: a skops artifact of the model is loaded (SHA-256 checked) and one row explained,
  --calls times; p50/p95 for a cold call (load + convert + explain) and a warm one (the explainer
  kept, as the API keeps it per artifact). Target: under 200 ms p95 end to end.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("CUSTOS_ENV", "development")


def pct(values, q):
    return float(np.percentile(np.asarray(values) * 1000, q))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--trees", type=int, default=200)
    parser.add_argument("--depth", type=int, default=8)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    import shap
    import skops.io as sio
    from sklearn.ensemble import RandomForestClassifier

    from monitoring.explain.artifacts import load_bytes, sha256_of
    from monitoring.explain.treeshap import TreeExplainer

    rng = np.random.default_rng(args.seed)
    X = rng.normal(size=(args.rows, args.features))
    y = (X[:, 0] + X[:, 1] * X[:, 2] - X[:, 3] ** 2 + rng.normal(size=args.rows) > 0).astype(int)
    t0 = time.perf_counter()
    model = RandomForestClassifier(n_estimators=args.trees, max_depth=args.depth, n_jobs=2, random_state=args.seed).fit(X, y)
    leaves = np.mean([e.tree_.n_leaves for e in model.estimators_])
    print(
        f"model: {args.trees} trees, max depth {args.depth}, {leaves:.0f} leaves per tree on average (fit {time.perf_counter() - t0:.1f} s)"
    )
    print(f"rows explained: {args.rows:,} x {args.features} features")

    t0 = time.perf_counter()
    ours = TreeExplainer(model).shap_values(X)
    t_ours = time.perf_counter() - t0
    print(f"Custos native TreeSHAP:    {t_ours:8.2f} s  ({t_ours / args.rows * 1000:.2f} ms/row, conversion and tables included)")

    t0 = time.perf_counter()
    explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    theirs = np.asarray(explainer.shap_values(X, check_additivity=False))[..., 1]
    t_shap = time.perf_counter() - t0
    print(
        f"shap {shap.__version__} C TreeExplainer: {t_shap:8.2f} s  ({t_shap / args.rows * 1000:.2f} ms/row; baseline, same run)"
    )

    diff = float(np.abs(ours.values - theirs).max())
    ratio = t_ours / t_shap
    print(f"max |Custos - shap| = {diff:.2e} (target 1e-9); max additivity residual {np.abs(ours.residual).max():.2e}")
    speed_ok = ratio <= 2
    print(f"time ratio Custos/shap = {ratio:.2f} (target <= 2) -> {'met' if speed_ok and diff <= 1e-9 else 'NOT met'}")

    data = sio.dumps(model)
    digest = sha256_of(data)
    row = X[:1]
    cold, warm = [], []
    cached = None
    for i in range(args.calls):
        x = X[i : i + 1]
        t0 = time.perf_counter()
        loaded = load_bytes(data, expected_sha256=digest)
        res = TreeExplainer(loaded.estimator).shap_values(x)
        cold.append(time.perf_counter() - t0)
        if cached is None:
            cached = TreeExplainer(loaded.estimator)
        t0 = time.perf_counter()
        res = cached.shap_values(x)
        warm.append(time.perf_counter() - t0)
    assert abs(res.residual[0]) < 1e-9 and row.shape == (1, args.features)
    print(
        f"one decision, cold (load skops + SHA-256 + convert + explain): p50 {pct(cold, 50):.0f} ms, p95 {pct(cold, 95):.0f} ms"
    )
    print(
        f"one decision, warm (explainer kept per artifact):             p50 {pct(warm, 50):.1f} ms, p95 {pct(warm, 95):.1f} ms  (target p95 < 200 ms)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
