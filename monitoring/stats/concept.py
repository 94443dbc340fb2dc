"""Concept drift: a streaming detector on the error stream, and the "performance fell while inputs held" rule.

- Page-Hinkley (increase in the mean of a stream, e.g. absolute errors): m_t = sum_{i<=t}(x_i - mean_t -
  delta), M_t = min_{i<=t} m_i; drift when m_t - M_t > lambda after `min_instances` values.
- DDM (Gama et al. 2004) on a 0/1 error stream: p_t the error rate, s_t = sqrt(p_t (1 - p_t) / t); with
  (p_min, s_min) where p + s was smallest, warning when p_t + s_t >= p_min + 2 s_min and drift when
  >= p_min + 3 s_min, after `min_instances` values. Both reset after a drift.
- `concept_drift_suspected`: a failed performance test while the dataset shows no input drift.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass
class PageHinkley:
    delta: float = 0.005
    threshold: float = 50.0
    min_instances: int = 30

    def __post_init__(self):
        self.reset()

    def reset(self) -> None:
        self.n = 0
        self.mean = 0.0
        self.cum = 0.0
        self.cum_min = 0.0

    def update(self, x: float) -> bool:
        """Feed one value; True when a drift is detected (the detector then resets)."""
        self.n += 1
        self.mean += (x - self.mean) / self.n
        self.cum += x - self.mean - self.delta
        self.cum_min = min(self.cum_min, self.cum)
        if self.n >= self.min_instances and self.cum - self.cum_min > self.threshold:
            self.reset()
            return True
        return False

    def run(self, stream: Iterable[float]) -> list[int]:
        """Positions (0-based) at which drift was detected."""
        return [i for i, x in enumerate(stream) if self.update(x)]


@dataclass
class DDM:
    warning_level: float = 2.0
    drift_level: float = 3.0
    min_instances: int = 30

    def __post_init__(self):
        self.reset()

    def reset(self) -> None:
        self.n = 0
        self.p = 1.0
        self.s = 0.0
        self.p_min = math.inf
        self.s_min = math.inf
        self.warning = False

    def update(self, error: int | bool) -> bool:
        self.n += 1
        self.p += (float(error) - self.p) / self.n
        self.s = math.sqrt(self.p * (1 - self.p) / self.n)
        if self.n < self.min_instances:
            return False
        if self.p + self.s <= self.p_min + self.s_min:
            self.p_min, self.s_min = self.p, self.s
        level = self.p + self.s
        if level >= self.p_min + self.drift_level * self.s_min:
            self.reset()
            return True
        self.warning = level >= self.p_min + self.warning_level * self.s_min
        return False

    def run(self, stream: Iterable[int | bool]) -> list[int]:
        return [i for i, e in enumerate(stream) if self.update(e)]


def concept_drift_suspected(*, performance_failed: bool, dataset_drift: bool) -> bool:
    return performance_failed and not dataset_drift
