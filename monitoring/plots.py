"""Server-rendered SVG plots people can read without Grafana (no script, no external asset):

* ``over_time_svg``: a score per run over time for one feature or metric, its threshold as a dashed
  line, an optional band (lower/upper) shaded, flagged runs drawn as red dots;
* ``distribution_svg``: reference vs current distribution of one feature: shared-bin histograms
  (numeric; from raw values or from a stored profile's exact counts or sketch centroids) or category
  shares (categorical, the 20 largest), as proportions.

Text is escaped; labels are feature, metric and category names the caller passes (category names of a
monitored feature are shown, as on any distribution chart; the caller decides whether a column may be
plotted).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

import numpy as np

W, H, PAD_L, PAD_R, PAD_T, PAD_B = 640, 260, 56, 16, 28, 44
REF_COLOUR, CUR_COLOUR, FLAG_COLOUR = "#4c78a8", "#f58518", "#d62728"


def _frame(title: str, body: list[str], y_lo: float, y_hi: float, x_labels: list[tuple[float, str]]) -> str:
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" '
        f'aria-label="{escape(title)}" font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<text x="{PAD_L}" y="16" font-size="13">{escape(title)}</text>',
        f'<line x1="{PAD_L}" y1="{H - PAD_B}" x2="{W - PAD_R}" y2="{H - PAD_B}" stroke="#999"/>',
        f'<line x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{H - PAD_B}" stroke="#999"/>',
    ]
    for frac in (0.0, 0.5, 1.0):
        v = y_lo + frac * (y_hi - y_lo)
        y = _y(v, y_lo, y_hi)
        out.append(f'<text x="{PAD_L - 4}" y="{y + 4:.1f}" text-anchor="end">{v:.3g}</text>')
    for x, label in x_labels:
        out.append(f'<text x="{x:.1f}" y="{H - PAD_B + 14}" text-anchor="middle">{escape(label)}</text>')
    return "\n".join(out + body + ["</svg>"])


def _y(v: float, lo: float, hi: float) -> float:
    span = hi - lo or 1.0
    return H - PAD_B - (v - lo) / span * (H - PAD_T - PAD_B)


def over_time_svg(
    title: str,
    times: Sequence[datetime],
    scores: Sequence[float],
    *,
    flagged: Sequence[bool] | None = None,
    threshold: float | None = None,
    band: tuple[float, float] | None = None,
) -> str:
    """One line of ``scores`` at ``times`` (ascending)."""
    if not scores:
        return _frame(f"{title} (no runs yet)", [], 0.0, 1.0, [])
    values = [float(s) for s in scores]
    extra = [threshold] if threshold is not None else []
    extra += list(band) if band else []
    lo, hi = min(values + extra + [0.0]), max(values + extra)
    hi = hi if hi > lo else lo + 1.0
    n = len(values)
    xs = [PAD_L + (i + 0.5) / n * (W - PAD_L - PAD_R) for i in range(n)]
    body = []
    if band:
        y1, y2 = _y(band[1], lo, hi), _y(band[0], lo, hi)
        body.append(f'<rect x="{PAD_L}" y="{y1:.1f}" width="{W - PAD_L - PAD_R}" height="{y2 - y1:.1f}" fill="#e6eef7"/>')
    if threshold is not None:
        y = _y(threshold, lo, hi)
        body.append(f'<line x1="{PAD_L}" y1="{y:.1f}" x2="{W - PAD_R}" y2="{y:.1f}" stroke="#666" stroke-dasharray="4 3"/>')
        body.append(f'<text x="{W - PAD_R}" y="{y - 3:.1f}" text-anchor="end">threshold {threshold:.3g}</text>')
    points = " ".join(f"{x:.1f},{_y(v, lo, hi):.1f}" for x, v in zip(xs, values, strict=True))
    body.append(f'<polyline points="{points}" fill="none" stroke="{REF_COLOUR}" stroke-width="1.5"/>')
    flags = flagged or [False] * n
    for x, v, f in zip(xs, values, flags, strict=True):
        colour = FLAG_COLOUR if f else REF_COLOUR
        body.append(f'<circle cx="{x:.1f}" cy="{_y(v, lo, hi):.1f}" r="3" fill="{colour}"><title>{v:.6g}</title></circle>')
    step = max(1, n // 6)
    labels = [(xs[i], times[i].strftime("%m-%d %H:%M")) for i in range(0, n, step)]
    return _frame(title, body, lo, hi, labels)


def numeric_histograms(ref_values, ref_weights, cur_values, cur_weights, bins: int = 20):
    """Proportions per shared bin of two weighted samples; returns (edges, ref shares, cur shares)."""
    ref_values, cur_values = np.asarray(ref_values, float), np.asarray(cur_values, float)
    both = np.concatenate([ref_values, cur_values])
    both = both[np.isfinite(both)]
    lo, hi = (float(both.min()), float(both.max())) if both.size else (0.0, 1.0)
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    r, _ = np.histogram(ref_values, edges, weights=ref_weights)
    c, _ = np.histogram(cur_values, edges, weights=cur_weights)
    return edges, r / max(r.sum(), 1e-300), c / max(c.sum(), 1e-300)


def distribution_svg(title: str, labels: Sequence[str], ref_shares: Sequence[float], cur_shares: Sequence[float]) -> str:
    """Side-by-side bars: reference (blue) and current (orange) share per bin or category."""
    k = len(labels)
    hi = max(list(ref_shares) + list(cur_shares) + [1e-9])
    slot = (W - PAD_L - PAD_R) / max(k, 1)
    body = []
    for i, (r, c) in enumerate(zip(ref_shares, cur_shares, strict=True)):
        x = PAD_L + i * slot
        for j, (v, colour) in enumerate(((r, REF_COLOUR), (c, CUR_COLOUR))):
            y = _y(v, 0.0, hi)
            body.append(
                f'<rect x="{x + 1 + j * slot / 2:.1f}" y="{y:.1f}" width="{max(slot / 2 - 2, 1):.1f}" '
                f'height="{H - PAD_B - y:.1f}" fill="{colour}"><title>{escape(labels[i])}: {v:.3f}</title></rect>'
            )
    body.append(f'<text x="{W - PAD_R - 150}" y="16" fill="{REF_COLOUR}">■ reference</text>')
    body.append(f'<text x="{W - PAD_R - 70}" y="16" fill="{CUR_COLOUR}">■ current</text>')
    step = max(1, k // 8)
    xl = [(PAD_L + (i + 0.5) * slot, labels[i]) for i in range(0, k, step)]
    return _frame(title, body, 0.0, hi, xl)
