"""Loading model artifacts without executing untrusted code.

Rules (docs/explain.md "Safe loading"):
* The artifact's SHA-256 is computed from the bytes actually loaded and, when an expected digest is
  given (a cataloged artifact always has one), compared first: a mismatch is refused before parsing.
* **skops** files (``.skops``: a zip with ``schema.json``) are loaded with ``skops.io.loads`` and an
  explicit trusted-types list: skops' own audited defaults (builtins, numpy, the scikit-learn
  estimators it vets) plus exactly :data:`TRUSTED_TYPES`. Any other type in the file is refused, the
  message listing the type names (never data), and nothing is constructed. The two trusted tree types
  are then checked (``check_tree_structures``: child and feature indices in range, children after
  their parent) before the object is returned: a crafted file is refused before predict() runs.
* **ONNX** files are opened with onnxruntime (a graph interpreter: no Python code runs).
* **pickle / joblib** bytes are refused whatever the file is called: unpickling runs arbitrary code.
  (A cataloged artifact can be marked trusted by an admin, audited; this module's loader still refuses
  pickles unless the caller passes ``allow_pickle=True``, which only that path does.)
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TRUSTED_TYPES = (
    # Tree internals scikit-learn's forests and boosters hold; skops reconstructs them from arrays.
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)

MAX_ARTIFACT_BYTES = 512 * 1024 * 1024


class ArtifactRefused(ValueError):  # noqa: N818 -- reads as the sentence it raises
    """The artifact is not loaded; the message says which rule refused it."""


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sniff(data: bytes) -> str:
    """ "skops", "onnx", "pickle", "joblib" or "unknown", from the bytes (never from the file name)."""
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                if "schema.json" in zf.namelist():
                    return "skops"
        except zipfile.BadZipFile:
            return "unknown"
        return "unknown"
    if data[:1] == b"\x80" and len(data) > 1 and data[1] <= 5:  # pickle protocol 2..5 header
        return "pickle"
    zlib_header = len(data) > 1 and data[0] & 0x0F == 8 and (data[0] * 256 + data[1]) % 31 == 0
    if zlib_header or data[:3] in (b"\x1f\x8b\x08", b"BZh", b"]\x00\x00") or data[:6] == b"\xfd7zXZ\x00":
        return "joblib"  # joblib's compressed pickles (zlib, gzip, bz2, lzma, xz)
    if data[:1] in (b"(", b"]", b"}", b"c") and data.rstrip().endswith(b"."):
        return "pickle"  # protocol 0/1 pickles
    if _looks_like_onnx(data):
        return "onnx"
    return "unknown"


def _looks_like_onnx(data: bytes) -> bool:
    try:
        import onnx

        model = onnx.load_model_from_string(data)
    except Exception:  # noqa: BLE001 -- any parse failure means "not ONNX"
        return False
    return bool(model.graph.node)


@dataclass
class LoadedModel:
    """A loaded artifact: ``predict_output(X)`` gives the output explained for non-tree methods (a
    classifier's positive-class probability, a regressor's prediction); ``estimator`` is the
    scikit-learn object when there is one (tree explainers read it)."""

    kind: str
    sha256: str
    estimator: object | None
    session: object | None
    n_features: int | None
    feature_names: list[str] | None
    is_classifier: bool
    output: str

    def predict_output(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if self.estimator is not None:
            if self.is_classifier:
                return self.estimator.predict_proba(X)[:, 1]
            return np.asarray(self.estimator.predict(X), dtype=np.float64).reshape(-1)
        sess = self.session
        name = sess.get_inputs()[0].name
        outs = sess.run(None, {name: X.astype(np.float32)})
        if self.is_classifier:
            probs = outs[1]
            if isinstance(probs, list):  # a ZipMap output: one {label: probability} per row
                return np.array([list(p.values())[-1] for p in probs], dtype=np.float64)
            return np.asarray(probs, dtype=np.float64)[:, -1]
        return np.asarray(outs[0], dtype=np.float64).reshape(-1)


def read_bytes(path: str | Path) -> bytes:
    path = Path(path)
    if not path.is_file():
        raise ArtifactRefused("the model artifact is not a readable file")
    if path.stat().st_size > MAX_ARTIFACT_BYTES:
        raise ArtifactRefused(f"the model artifact is larger than {MAX_ARTIFACT_BYTES} bytes")
    return path.read_bytes()


def load_bytes(data: bytes, *, expected_sha256: str | None = None, allow_pickle: bool = False) -> LoadedModel:
    """Load an artifact's bytes under the module's rules (raises :class:`ArtifactRefused`)."""
    digest = sha256_of(data)
    if expected_sha256 is not None and digest != expected_sha256.lower():
        raise ArtifactRefused("the artifact's SHA-256 does not match the recorded digest (tampered or replaced)")
    kind = sniff(data)
    if kind in ("pickle", "joblib"):
        if not allow_pickle:
            raise ArtifactRefused(
                f"{kind} artifacts are refused: loading one runs arbitrary code; save the model with skops or ONNX"
            )
        return _from_estimator(_load_trusted_pickle(data), kind, digest)
    if kind == "skops":
        return _from_estimator(_load_skops(data), kind, digest)
    if kind == "onnx":
        return _load_onnx(data, digest)
    raise ArtifactRefused("the artifact is neither a skops nor an ONNX model")


def load_file(path: str | Path, *, expected_sha256: str | None = None) -> LoadedModel:
    return load_bytes(read_bytes(path), expected_sha256=expected_sha256)


def _load_skops(data: bytes):
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:  # noqa: BLE001 -- a broken archive is refused, whatever skops raised
        raise ArtifactRefused("the skops file cannot be read") from exc
    refused = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if refused:
        raise ArtifactRefused("the skops file holds types outside the trusted list: " + ", ".join(refused[:10]))
    try:
        est = sio.loads(data, trusted=[t for t in untrusted if t in TRUSTED_TYPES])
    except Exception as exc:  # noqa: BLE001
        raise ArtifactRefused("the skops file cannot be loaded") from exc
    check_tree_structures(est)
    return est


# --- the two trusted tree types are checked before anything indexes into them --------------------
#
# skops leaves both out of its defaults for one reason: they hold raw node indices (children, feature)
# that scikit-learn's Cython code follows without bounds checks, so a crafted file loads fine and then
# reads out of bounds (or crashes) at predict(). Every Tree and TreePredictor reachable from the loaded
# object is checked here, and the file refused, before the object is returned to anyone.

MAX_WALK_OBJECTS = 200_000


def _tree_problem(tree, n_features_in: int | None) -> str | None:
    """Why a ``sklearn.tree._tree.Tree`` is unsafe to traverse, or None."""
    state = tree.__getstate__()
    nodes, values = state.get("nodes"), state.get("values")
    n = int(state.get("node_count", -1))
    if nodes is None or values is None or n < 1 or len(nodes) != n or len(values) != n:
        return "a tree's node arrays do not match its node count"
    left = nodes["left_child"].astype(np.int64)
    right = nodes["right_child"].astype(np.int64)
    feature = nodes["feature"].astype(np.int64)
    leaf = left == -1
    if not np.array_equal(leaf, right == -1):
        return "a tree node has exactly one child"
    idx = np.arange(n)
    inner = ~leaf
    # children come after their parent (scikit-learn's builders number them so): no cycle, no way out
    if (
        np.any(left[inner] <= idx[inner])
        or np.any(right[inner] <= idx[inner])
        or np.any(left[inner] >= n)
        or np.any(right[inner] >= n)
    ):
        return "a tree's child index is out of range"
    width = int(tree.n_features)
    if n_features_in is not None and width != n_features_in:
        return "a tree's feature count differs from its estimator's"
    if np.any(feature[inner] < 0) or np.any(feature[inner] >= width):
        return "a tree's split feature index is out of range"
    if int(np.max(tree.n_classes)) > int(tree.max_n_classes) or values.shape[1:] != (tree.n_outputs, tree.max_n_classes):
        return "a tree's value array has the wrong shape"
    return None


def _predictor_problem(predictor, n_features_in: int | None) -> str | None:
    """Why a HistGradientBoosting ``TreePredictor`` is unsafe to traverse, or None."""
    nodes = getattr(predictor, "nodes", None)
    names = getattr(getattr(nodes, "dtype", None), "names", None) or ()
    if nodes is None or nodes.ndim != 1 or len(nodes) < 1 or not {"left", "right", "feature_idx", "is_leaf"} <= set(names):
        return "a boosted tree's node array is malformed"
    n = len(nodes)
    idx = np.arange(n)
    inner = nodes["is_leaf"] == 0
    left, right = nodes["left"].astype(np.int64), nodes["right"].astype(np.int64)
    if (
        np.any(left[inner] <= idx[inner])
        or np.any(right[inner] <= idx[inner])
        or np.any(left[inner] >= n)
        or np.any(right[inner] >= n)
    ):
        return "a boosted tree's child index is out of range"
    feature = nodes["feature_idx"].astype(np.int64)
    if np.any(feature[inner] < 0) or (n_features_in is not None and np.any(feature[inner] >= n_features_in)):
        return "a boosted tree's split feature index is out of range"
    if n_features_in is None:
        return "a boosted tree is not inside an estimator that records its feature count"
    if "is_categorical" in names and np.any(nodes["is_categorical"][inner] != 0):
        return "boosted trees with categorical splits are not loaded (their bitset indices are not checked)"
    return None


def check_tree_structures(obj) -> None:
    """Refuse (``ArtifactRefused``) a loaded object holding a Tree or TreePredictor whose indices would
    send scikit-learn out of bounds; a walk over attributes, lists, tuples, dicts and object arrays."""
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
    from sklearn.tree._tree import Tree

    seen: set[int] = set()
    stack: list[tuple[object, int | None]] = [(obj, None)]
    while stack:
        item, width = stack.pop()
        if id(item) in seen or isinstance(item, (str, bytes, int, float, bool, type(None))):
            continue
        seen.add(id(item))
        if len(seen) > MAX_WALK_OBJECTS:
            raise ArtifactRefused("the model holds too many objects to check")
        if isinstance(item, Tree):
            problem = _tree_problem(item, width)
        elif isinstance(item, TreePredictor):
            problem = _predictor_problem(item, width)
        else:
            problem = None
        if problem:
            raise ArtifactRefused(f"the skops file is refused: {problem}")
        if isinstance(item, (Tree, TreePredictor)):
            continue
        if isinstance(item, np.ndarray):
            if item.dtype == object:
                stack.extend((x, width) for x in item.ravel())
            continue
        if isinstance(item, dict):
            stack.extend((v, width) for v in item.values())
            continue
        if isinstance(item, (list, tuple, set, frozenset)):
            stack.extend((x, width) for x in item)
            continue
        attrs = getattr(item, "__dict__", None)
        if isinstance(attrs, dict):
            own = attrs.get("n_features_in_")
            inner_width = int(own) if isinstance(own, (int, np.integer)) else width
            stack.extend((v, inner_width) for v in attrs.values())


def _load_trusted_pickle(data: bytes):
    # Reached only for an artifact an admin marked trusted (audited); see the module docstring.
    import pickle  # noqa: S403

    return pickle.loads(data)  # noqa: S301


def _from_estimator(est, kind: str, digest: str) -> LoadedModel:
    if not hasattr(est, "predict"):
        raise ArtifactRefused("the artifact does not hold a fitted model with predict()")
    is_classifier = hasattr(est, "predict_proba") and hasattr(est, "classes_")
    if is_classifier and len(est.classes_) != 2:
        raise ArtifactRefused("only binary classifiers and regressors are explained")
    names = getattr(est, "feature_names_in_", None)
    return LoadedModel(
        kind=kind,
        sha256=digest,
        estimator=est,
        session=None,
        n_features=getattr(est, "n_features_in_", None),
        feature_names=[str(n) for n in names] if names is not None else None,
        is_classifier=is_classifier,
        output="probability" if is_classifier else "raw",
    )


def _load_onnx(data: bytes, digest: str) -> LoadedModel:
    import onnxruntime as ort

    try:
        sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001
        raise ArtifactRefused("the ONNX model cannot be opened") from exc
    inputs = sess.get_inputs()
    if len(inputs) != 1 or len(inputs[0].shape) != 2:
        raise ArtifactRefused("the ONNX model must take one 2-D float tensor of features")
    width = inputs[0].shape[1]
    outputs = sess.get_outputs()
    is_classifier = len(outputs) >= 2  # skl2onnx classifiers: label, probabilities
    return LoadedModel(
        kind="onnx",
        sha256=digest,
        estimator=None,
        session=sess,
        n_features=width if isinstance(width, int) else None,
        feature_names=None,
        is_classifier=is_classifier,
        output="probability" if is_classifier else "raw",
    )
