"""Drift over time: data cut into chunks (NannyML style), each chunk's drift score, and alert bands.

Chunking: by size (`size` rows each; a short last chunk is merged into the one before, as NannyML does),
by number (`number` chunks of near-equal size; the default is 10), or by period (`period`, a pandas
frequency such as "D", "W", "M", on a timestamp column). Fewer than 6 chunks gives a warning: the band
below stands on too few points to mean much.

Alert band: the method's score is computed for every reference chunk against the whole reference; the
band is mean +/- 3 standard deviations of those scores (lower end clipped at 0, scores being >= 0). A
current chunk whose score is outside the band raises an alert; the method's own threshold still gives the
drift decision, so a result carries both. A chunk's score depends on its row count (a smaller sample
scores further from the reference by chance alone), so the band only fits current chunks of about the
reference chunks' size: `column_over_time` warns when the mean sizes differ by more than 10 %; chunk both
by the same `size` to avoid it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .drift import DriftOptions, column_drift, dist_of
from .kinds import ColumnKind

DEFAULT_CHUNKS = 10
MIN_CHUNKS = 6
BAND_SIGMAS = 3.0


@dataclass(frozen=True)
class Chunk:
    key: str
    start: int  # positional row range [start, stop)
    stop: int
    period_start: str | None = None
    period_end: str | None = None

    @property
    def rows(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class Chunking:
    chunks: list[Chunk]
    warnings: list[str]


def make_chunks(
    frame: pd.DataFrame,
    *,
    size: int | None = None,
    number: int | None = None,
    period: str | None = None,
    timestamp: str | None = None,
) -> Chunking:
    """Cut `frame` (in its row order) into chunks; exactly one of size, number, period (default: 10 chunks)."""
    if sum(x is not None for x in (size, number, period)) > 1:
        raise ValueError("give one of size, number or period")
    n = len(frame)
    chunks: list[Chunk] = []
    if period is not None:
        if timestamp is None or timestamp not in frame.columns:
            raise ValueError("chunking by period needs a timestamp column")
        ts = pd.to_datetime(frame[timestamp])
        if not ts.is_monotonic_increasing:
            raise ValueError("chunking by period needs rows ordered by the timestamp")
        keys = ts.dt.to_period(period)
        bounds = np.flatnonzero(np.concatenate(([True], keys.to_numpy()[1:] != keys.to_numpy()[:-1]))).tolist() + [n]
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            p = keys.iloc[a]
            chunks.append(Chunk(str(p), a, b, p.start_time.isoformat(), p.end_time.isoformat()))
    else:
        if size is not None:
            if size < 1:
                raise ValueError("chunk size must be at least 1")
            starts = list(range(0, n, size))
            if len(starts) > 1 and n - starts[-1] < size:
                starts.pop()  # the short tail joins the last full chunk
            bounds = starts + [n]
        else:
            number = DEFAULT_CHUNKS if number is None else number
            if number < 1:
                raise ValueError("number of chunks must be at least 1")
            bounds = np.linspace(0, n, min(number, max(n, 1)) + 1).round().astype(int).tolist()
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            if b > a:
                chunks.append(Chunk(f"[{a}:{b}]", a, b))
    warnings = []
    if len(chunks) < MIN_CHUNKS:
        warnings.append(f"only {len(chunks)} chunks (fewer than {MIN_CHUNKS}): the alert band rests on too few points")
    return Chunking(chunks, warnings)


@dataclass(frozen=True)
class Band:
    lower: float
    upper: float
    mean: float
    std: float
    n_chunks: int

    def contains(self, x: float) -> bool:
        return self.lower <= x <= self.upper


def band_from(
    values: Sequence[float], *, sigmas: float = BAND_SIGMAS, floor: float | None = 0.0, ceiling: float | None = None
) -> Band:
    v = np.asarray(values, dtype=float)
    mean, std = float(v.mean()), float(v.std())
    lower, upper = mean - sigmas * std, mean + sigmas * std
    if floor is not None:
        lower = max(lower, floor)
    if ceiling is not None:
        upper = min(upper, ceiling)
    return Band(lower, upper, mean, std, int(v.size))


@dataclass(frozen=True)
class ChunkScore:
    chunk: Chunk
    score: float
    drifted: bool
    alert: bool


@dataclass(frozen=True)
class ColumnOverTime:
    name: str
    method: str
    threshold: float
    band: Band
    reference: list[ChunkScore]
    current: list[ChunkScore]
    warnings: list[str]


def column_over_time(
    name: str,
    kind: ColumnKind,
    reference: pd.Series,
    current: pd.Series,
    *,
    reference_chunks: Chunking,
    current_chunks: Chunking,
    options: DriftOptions | None = None,
) -> ColumnOverTime:
    """Per-chunk drift of one column against the whole reference, with the band from the reference chunks.

    The method is the one the whole reference and whole current data would get (so every chunk is scored
    the same way), unless options name one.
    """
    options = options or DriftOptions()
    ref_dist = dist_of(reference, kind)
    whole = column_drift(name, kind, ref_dist, dist_of(current, kind), options)
    if whole.method is None:
        raise ValueError(f"column {name!r}: {whole.skipped}")
    fixed = DriftOptions(per_column_method={name: whole.method}, per_column_threshold={name: whole.threshold})

    def scores(series: pd.Series, chunking: Chunking) -> list[tuple[Chunk, float, bool]]:
        out = []
        for ch in chunking.chunks:
            part = series.iloc[ch.start : ch.stop]
            r = column_drift(name, kind, ref_dist, dist_of(part, kind), fixed)
            out.append((ch, float("nan") if r.score is None else r.score, r.drifted))
        return out

    warnings = reference_chunks.warnings + current_chunks.warnings
    mismatch = size_mismatch(reference_chunks, current_chunks)
    if mismatch:
        warnings.append(mismatch)
    ref_scores = scores(reference, reference_chunks)
    p_value = whole.score_kind == "p_value"
    band = band_from([s for _, s, _ in ref_scores], floor=0.0, ceiling=1.0 if p_value else None)
    wrap: Callable[[tuple[Chunk, float, bool]], ChunkScore] = lambda t: ChunkScore(t[0], t[1], t[2], not band.contains(t[1]))  # noqa: E731
    return ColumnOverTime(
        name=name,
        method=whole.method,
        threshold=whole.threshold,
        band=band,
        reference=[wrap(t) for t in ref_scores],
        current=[wrap(t) for t in scores(current, current_chunks)],
        warnings=warnings,
    )


def size_mismatch(reference_chunks: Chunking, current_chunks: Chunking, tolerance: float = 0.1) -> str | None:
    """A warning when the mean chunk sizes differ by more than `tolerance` (relative), else None."""
    if not reference_chunks.chunks or not current_chunks.chunks:
        return None
    ref = np.mean([c.rows for c in reference_chunks.chunks])
    cur = np.mean([c.rows for c in current_chunks.chunks])
    if abs(cur - ref) > tolerance * ref:
        return f"reference chunks average {ref:.0f} rows, current chunks {cur:.0f}: the band was measured on another size"
    return None
