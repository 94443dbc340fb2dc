"""Explanations and fairness for model versions (issue 16): native TreeSHAP, sampled Shapley, a
LIME-style surrogate, scikit-learn's global inspection, group fairness metrics, and safe artifact
loading. The algorithms here work on arrays and loaded models only; they catalog nothing."""
