"""Native TreeSHAP for the ensembles of :mod:`monitoring.explain.trees`, exact, in vectorised numpy.

**Why this algorithm** (rather than porting Lundberg's recursive Algorithm 2 or a C extension): per
leaf, TreeSHAP is the Shapley value of a product game over the leaf path's distinct features,
``v(S) = value * prod_{j in S} o_j * prod_{j not in S} z_j``, where ``o_j`` in {0, 1} says whether the
row satisfies the path's splits on feature j and ``z_j`` is the zero fraction. Since every ``o_j`` is 0
or 1, a leaf's contribution to a row depends only on the row's *pattern* (which path features it
satisfies): at most ``2**depth`` cases per leaf. This is Fast TreeSHAP v2's idea (Yang, 2021): compute
every leaf's contribution for every pattern once (a table), then explaining a row is a gather per
(leaf, path feature) plus a sparse sum into features, ``O(T L D)`` per row instead of the
recursion's ``O(T L D^2)``, and all of it runs as array operations over rows. For a handful of rows
(explaining one decision) the table costs more than it saves, so the same formula is evaluated only at
the rows' own patterns.

The per-leaf Shapley values use the polynomial form of the product game (as Linear TreeSHAP does):
``F(y) = prod_j (z_j + o_j y)``; feature p's value is ``value * (o_p - z_p) * sum_k w(k, d) g_k`` where
``g = F / (z_p + o_p y)`` and ``w(k, d) = k! (d-k-1)! / d!``. The division runs top-down
(``g_{k-1} = f_k - z_p g_k``), which is stable because ``0 < z_p <= 1``.

**Interventional** TreeSHAP (with a background sample) is the mean over background rows r of the exact
Shapley values of ``S -> f(x_S, r_rest)``. Per leaf, with A the row's pattern and B the background row's,
the leaf is reachable only when ``A | B`` covers the path; then its game is a unanimity game: features
only x satisfies (the complement of B) must be taken from x, those only r satisfies (the complement of
A) from r, giving ``+value * (a-1)! b! / (a+b)!`` and ``-value * a! (b-1)! / (a+b)!`` with a, b the
sizes of those two sets. This is the same definition shap's ``feature_perturbation="interventional"``
computes by its paired traversal.

Both are checked against shap 0.51 to 1e-9 in tests/monitoring/explain/test_treeshap.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import factorial

import numpy as np
from scipy import sparse

from .trees import TreeEnsemble, from_model

_CHUNK_CELLS = 1 << 22  # rows x entries processed at once (~32 MB per float64 array)
TABLE_MAX_DEPTH = 12  # leaves with more distinct path features are evaluated per row (a table would be 2^d x d)


def _weights(d: int) -> np.ndarray:
    return np.array([factorial(k) * factorial(d - k - 1) / factorial(d) for k in range(d)])


def leaf_contributions(z: np.ndarray, o: np.ndarray) -> np.ndarray:
    """Shapley values of the product game ``prod_j (o_j if j in S else z_j)`` for N leaves of one
    depth d: ``z`` and ``o`` are (N, d), the result (N, d) is per unit leaf value."""
    n, d = z.shape
    zt, ot = np.ascontiguousarray(z.T), np.ascontiguousarray(o.T)  # (d, N): every step is a contiguous vector
    f = np.zeros((d + 1, n))
    f[0] = 1.0
    for q in range(d):  # multiply by (z_q + o_q y), highest degree first so f[k-1] is still the old one
        for k in range(q + 1, 0, -1):
            f[k] = f[k] * zt[q] + f[k - 1] * ot[q]
        f[0] *= zt[q]
    w = _weights(d)
    off_sum = w @ f[:d]  # sum_k w_k f_k: with o_p = 0, g = F / z_p, so s = off_sum / z_p
    out = np.empty((d, n))
    with np.errstate(divide="ignore", invalid="ignore"):
        for p in range(d):
            zp = zt[p]
            # o_p = 1: g = F / (z_p + y), top-down: g_{d-1} = f_d, g_{k-1} = f_k - z_p g_k; s = sum_k w_k g_k.
            g = f[d].copy()
            s_on = w[d - 1] * g
            for k in range(d - 1, 0, -1):
                g = f[k] - zp * g
                s_on += w[k - 1] * g
            on = ot[p] > 0
            s = np.where(on, s_on, off_sum / zp)
            out[p] = np.where(on | (zp > 0), (ot[p] - zp) * s, 0.0)
    return out.T


@dataclass
class ShapResult:
    """Per row: ``values`` (n_rows, n_features) with ``base_value + values.sum(1) == prediction`` up to
    ``residual`` (the additivity residual, computed, not assumed)."""

    values: np.ndarray
    base_value: float
    prediction: np.ndarray
    residual: np.ndarray
    output: str
    method: str


class TreeExplainer:
    """Exact TreeSHAP for one fitted model; ``background`` switches to the interventional mode.

    The explainer keeps the ensemble and, once built, the path-dependent pattern table, so repeated
    calls (one decision at a time through the API) pay for the model's conversion once.
    """

    def __init__(self, model, *, background=None):
        self.ensemble: TreeEnsemble = model if isinstance(model, TreeEnsemble) else from_model(model)
        self.background = None if background is None else self.ensemble.prepare(background)
        self._table: np.ndarray | None = None
        self._table_offset: np.ndarray | None = None
        ens = self.ensemble
        leaf_of_entry = ens.entry_leaf
        self._entry_leaf = leaf_of_entry
        depth = ens.max_depth
        self._pattern_type = np.uint8 if depth <= 8 else np.uint16 if depth <= 16 else np.uint32 if depth <= 32 else np.uint64
        self._scatter = sparse.csr_matrix(
            (np.ones(len(leaf_of_entry)), (ens.entry_feature, np.arange(len(leaf_of_entry)))),
            shape=(ens.n_features, len(leaf_of_entry)),
        )

    @property
    def method(self) -> str:
        return "interventional" if self.background is not None else "path-dependent"

    # -- base value -----------------------------------------------------------------------------
    def expected_value(self) -> float:
        if self.background is None:
            return float(self.ensemble.expected_value()[0])
        return float(self.ensemble.predict(self.background)[:, 0].mean())

    # -- path-dependent -------------------------------------------------------------------------
    def _build_table(self) -> None:
        ens = self.ensemble
        d = ens.leaf_depth
        sizes = np.where(d <= TABLE_MAX_DEPTH, (1 << np.minimum(d, TABLE_MAX_DEPTH)) * d, 0)
        offset = np.zeros(len(d) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offset[1:])
        table = np.zeros(offset[-1])
        value = ens.leaf_value[:, 0]
        for depth in range(1, min(ens.max_depth, TABLE_MAX_DEPTH) + 1):
            leaves = np.flatnonzero(d == depth)
            if not len(leaves):
                continue
            patterns = np.arange(1 << depth)
            o = ((patterns[:, None] >> np.arange(depth)) & 1).astype(np.float64)  # (2^d, d)
            per_chunk = max(1, _CHUNK_CELLS // ((1 << depth) * (depth + 1)))
            for lo in range(0, len(leaves), per_chunk):
                chunk = leaves[lo : lo + per_chunk]
                z = ens.entry_zero[ens.leaf_start[chunk][:, None] + np.arange(depth)]  # (N, d)
                zz = np.repeat(z, 1 << depth, axis=0)
                oo = np.tile(o, (len(chunk), 1))
                c = leaf_contributions(zz, oo).reshape(len(chunk), -1) * value[chunk, None]
                idx = offset[chunk][:, None] + np.arange(sizes[chunk[0]])
                table[idx] = c
        self._table, self._table_offset = table, offset[:-1]

    def _path_dependent(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(phi (rows, features), prediction (rows,)) for prepared rows."""
        ens = self.ensemble
        n = X.shape[0]
        n_entries = len(ens.entry_pos)
        phi = np.zeros((n, ens.n_features))
        prediction = np.full(n, ens.base_offset[0])
        if n_entries == 0:
            return phi, prediction + ens.leaf_value[:, 0].sum()
        shallow = ens.leaf_depth <= TABLE_MAX_DEPTH
        total_patterns = int(((1 << np.where(shallow, ens.leaf_depth, 0)) * ens.leaf_depth * shallow).sum())
        use_table = self._table is not None or n * n_entries >= total_patterns
        if use_table and self._table is None:
            self._build_table()
        deep = bool((~shallow).any())
        step = max(1, _CHUNK_CELLS // n_entries)
        XT = np.ascontiguousarray(X.T)
        leaf_of = self._entry_leaf
        d_of = ens.leaf_depth[leaf_of]
        if use_table:
            index_type = np.int32 if len(self._table) < 2**31 - 1 else np.int64
            base_index = (self._table_offset[leaf_of] + ens.entry_pos).astype(index_type)[:, None]
            d_of_t = d_of.astype(index_type)[:, None]
        for lo in range(0, n, step):
            A = self._patterns_t(XT[:, lo : lo + step])  # (n_leaves, rows)
            prediction[lo : lo + step] += self._leaf_hits(A)
            if use_table:
                idx = base_index + A[leaf_of].astype(index_type) * d_of_t
                if deep:  # leaves too deep for the table: looked up at 0, then evaluated per row
                    deep_entry = d_of > TABLE_MAX_DEPTH
                    idx[deep_entry] = 0
                vals = self._table[idx]  # (entries, rows)
                if deep:
                    vals[deep_entry] = self._direct(A, min_depth=TABLE_MAX_DEPTH + 1)[deep_entry]
            else:
                vals = self._direct(A)
            phi[lo : lo + step] = (self._scatter @ vals).T
        return phi, prediction

    def _leaf_hits(self, A: np.ndarray) -> np.ndarray:
        """Sum over trees of the leaf value each row lands in (the leaf whose whole path it satisfies)."""
        ens = self.ensemble
        full = ((1 << ens.leaf_depth) - 1).astype(A.dtype)
        return ens.leaf_value[:, 0] @ (full[:, None] == A)

    def _patterns_t(self, xt: np.ndarray) -> np.ndarray:
        """(n_leaves, rows) patterns for rows given as columns (features x rows), in the narrowest
        unsigned type that holds the deepest path (the gathers and sums run on it)."""
        ens = self.ensemble
        xv = xt[ens.entry_feature]
        ok = (xv > ens.entry_lo[:, None]) & (xv <= ens.entry_hi[:, None])
        nan = np.isnan(xv)
        if nan.any():
            ok = np.where(nan, ens.entry_nan[:, None], ok)
        kind = self._pattern_type
        bits = ok.astype(kind) << ens.entry_pos.astype(kind)[:, None]
        A = np.zeros((len(ens.leaf_depth), xt.shape[1]), dtype=kind)
        nonempty = ens.leaf_depth > 0
        A[nonempty] = np.add.reduceat(bits, ens.leaf_start[:-1][nonempty], axis=0)
        return A

    def _direct(self, A: np.ndarray, *, min_depth: int = 1) -> np.ndarray:
        """(entries, rows) contributions evaluated at the rows' own patterns (no table), for the leaves
        with at least ``min_depth`` distinct path features (zero elsewhere)."""
        ens = self.ensemble
        n_rows = A.shape[1]
        vals = np.zeros((len(ens.entry_pos), n_rows))
        value = ens.leaf_value[:, 0]
        for depth in range(min_depth, ens.max_depth + 1):
            leaves = np.flatnonzero(ens.leaf_depth == depth)
            if not len(leaves):
                continue
            entries = ens.leaf_start[leaves][:, None] + np.arange(depth)  # (N, d)
            z = np.repeat(ens.entry_zero[entries], n_rows, axis=0)  # (N*rows, d) leaf-major
            pat = A[leaves].reshape(-1)  # (N*rows,)
            o = ((pat[:, None] >> np.arange(depth)) & 1).astype(np.float64)
            c = leaf_contributions(z, o) * np.repeat(value[leaves], n_rows)[:, None]
            c = c.reshape(len(leaves), n_rows, depth).transpose(0, 2, 1).reshape(-1, n_rows)
            vals[entries.reshape(-1)] = c
        return vals

    # -- interventional -------------------------------------------------------------------------
    def _interventional(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(phi (rows, features), prediction (rows,)) for prepared rows, against the background."""
        ens = self.ensemble
        bg = self.background
        n, m = X.shape[0], bg.shape[0]
        phi = np.zeros((n, ens.n_features))
        prediction = np.full(n, ens.base_offset[0])
        n_entries = len(ens.entry_pos)
        if n_entries == 0:
            return phi, prediction + ens.leaf_value[:, 0].sum()
        d = ens.leaf_depth
        full = (1 << d) - 1
        value = ens.leaf_value[:, 0]
        leaf_of = self._entry_leaf
        fact = np.array([factorial(k) for k in range(2 * ens.max_depth + 2)], dtype=np.float64)
        B = self._patterns_t(np.ascontiguousarray(bg.T))  # (leaves, m)
        popB = _popcount(B)
        XT = np.ascontiguousarray(X.T)
        bit = (1 << ens.entry_pos)[:, None, None]
        rows_step = max(1, _CHUNK_CELLS // (n_entries * m))
        for lo in range(0, n, rows_step):
            A = self._patterns_t(XT[:, lo : lo + rows_step])  # (leaves, rows)
            prediction[lo : lo + rows_step] += self._leaf_hits(A)
            popA = _popcount(A)
            reach = (A[:, :, None] | B[:, None, :]) == full[:, None, None]  # (leaves, rows, m)
            a = d[:, None, None] - popB[:, None, :]  # features only x satisfies
            b = d[:, None, None] - popA[:, :, None]  # features only r satisfies
            ab = a + b
            with np.errstate(divide="ignore", invalid="ignore"):
                w_x = np.where(a > 0, fact[np.maximum(a - 1, 0)] * fact[b] / fact[ab], 0.0)
                w_r = np.where(b > 0, fact[a] * fact[np.maximum(b - 1, 0)] / fact[ab], 0.0)
            w_x = np.where(reach, w_x, 0.0) * value[:, None, None]
            w_r = np.where(reach, w_r, 0.0) * value[:, None, None]
            # entry p of leaf l: +w_x where background row r lacks p, -w_r where the row x lacks p.
            lacks_b = (B[leaf_of][:, None, :] & bit) == 0  # (entries, 1, m)
            lacks_a = (A[leaf_of][:, :, None] & bit) == 0  # (entries, rows, 1)
            vals = (np.where(lacks_b, w_x[leaf_of], 0.0) - np.where(lacks_a, w_r[leaf_of], 0.0)).mean(axis=2)
            phi[lo : lo + rows_step] = (self._scatter @ vals).T
        return phi, prediction

    # -- public ---------------------------------------------------------------------------------
    def shap_values(self, X) -> ShapResult:
        """Exact SHAP values of the explained output for every row of ``X`` (see module docstring)."""
        Xp = self.ensemble.prepare(X)
        phi, prediction = self._interventional(Xp) if self.background is not None else self._path_dependent(Xp)
        base = self.expected_value()
        residual = prediction - (base + phi.sum(axis=1))
        return ShapResult(phi, base, prediction, residual, self.ensemble.output, self.method)


def _popcount(a: np.ndarray) -> np.ndarray:
    """Bits set per element of a non-negative int64 array (patterns have at most 63 bits)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(a).astype(np.int64)
    count = np.zeros_like(a)
    v = a.copy()
    while v.any():
        count += v & 1
        v >>= 1
    return count
