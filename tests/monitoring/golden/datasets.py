"""Seeded test data for the Evidently comparison (imported by the tests and by oracle.py in Evidently's venv).

Plain numpy + pandas, no Django: oracle.py runs it inside a separate venv with pandas < 3. Each case is a
(reference, current, kinds) triple; `fingerprint` hashes the values so a test fails loudly if the data a
test generates is not the data the golden file was computed on.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd


def _with_gaps(rng: np.random.Generator, values: np.ndarray, share: float, inf: bool = False) -> np.ndarray:
    out = values.astype(float)
    out[rng.random(out.size) < share] = np.nan
    if inf:
        out[rng.random(out.size) < share / 2] = np.inf
        out[rng.random(out.size) < share / 2] = -np.inf
    return out


def _frame(rng: np.random.Generator, n: int, drift: bool) -> pd.DataFrame:
    s = 1.0 if drift else 0.0
    colors = np.array(["red", "green", "blue", "black", "white", "amber", "teal"])
    p_colors = np.array([0.3, 0.2, 0.15, 0.1, 0.1, 0.1, 0.05])
    if drift:
        p_colors = np.array([0.2, 0.25, 0.15, 0.1, 0.1, 0.1, 0.1])
    cities = np.array(["Oslo", "Lima", "Pune", "Kyiv"] + (["Baku"] if drift else []))
    return pd.DataFrame(
        {
            "num_same": rng.normal(0.0, 1.0, n),
            "num_shift": rng.normal(0.35 * s, 1.0, n),
            "num_scale": rng.normal(0.0, 1.0 + 0.3 * s, n),
            "num_lognormal": rng.lognormal(0.0 + 0.1 * s, 1.0, n),
            "num_gaps": _with_gaps(rng, rng.normal(10.0, 3.0, n), 0.08, inf=True),
            "int_wide": rng.integers(0, 60 + int(10 * s), n),
            "int_twelve": rng.integers(0, 12, n),
            "num_15": rng.integers(0, 15, n).astype(float),
            "num_10": rng.integers(0, 10 - int(2 * s), n).astype(float),
            "num_4": _with_gaps(
                rng, rng.choice([1.0, 2.0, 3.0, 4.0], n, p=[0.4, 0.3, 0.2, 0.1] if not drift else [0.3, 0.3, 0.2, 0.2]), 0.05
            ),
            "num_binary": rng.binomial(1, 0.3 + 0.08 * s, n).astype(float),
            "num_constant": np.full(n, 5.0),
            "cat_color": rng.choice(colors, n, p=p_colors),
            "cat_city": rng.choice(cities, n),
            "cat_yesno": rng.choice(np.array(["yes", "no"]), n, p=[0.6, 0.4] if not drift else [0.52, 0.48]),
            "cat_int": rng.integers(1, 6, n),
            "cat_gaps": pd.Series(rng.choice(np.array(["a", "b", "c"]), n)).where(rng.random(n) > 0.1).to_numpy(dtype=object),
        }
    )


KINDS = {
    "num_same": "num",
    "num_shift": "num",
    "num_scale": "num",
    "num_lognormal": "num",
    "num_gaps": "num",
    "int_wide": "num",
    "int_twelve": "num",
    "num_15": "num",
    "num_10": "num",
    "num_4": "num",
    "num_binary": "num",
    "num_constant": "num",
    "cat_color": "cat",
    "cat_city": "cat",
    "cat_yesno": "cat",
    "cat_int": "cat",
    "cat_gaps": "cat",
}

# (name, reference rows, current rows, seed): "small" exercises the <= 1000-row rules, "large" the others
CASES = [("small", 800, 600, 11), ("large", 5000, 3000, 12)]


def case(name: str) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    for case_name, n_ref, n_cur, seed in CASES:
        if case_name == name:
            rng = np.random.default_rng(seed)
            return _frame(rng, n_ref, drift=False), _frame(rng, n_cur, drift=True), dict(KINDS)
    raise KeyError(name)


def fingerprint(frame: pd.DataFrame) -> str:
    """SHA-256 over every column's name and values (floats by their bytes, others by their text)."""
    h = hashlib.sha256()
    for col in frame.columns:
        h.update(str(col).encode() + b"\x00")
        values = frame[col].to_numpy()
        if values.dtype.kind in "fiub":
            h.update(str(values.dtype).encode() + values.tobytes())
        else:
            h.update("\x1f".join("\x00" if v is None or v != v else str(v) for v in values).encode())
    return h.hexdigest()
