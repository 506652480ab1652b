"""Confidence intervals for a mean and for a paired before/after difference on the same items.

Two methods (see docs/evaluation.md for why the paired one is the default):

* ``paired-t``: the mean of the per-item differences ``d_i = after_i - before_i`` plus/minus
  ``t(0.975, n-1) * sd(d) / sqrt(n)``. Deterministic and checkable by hand; the differences of the same
  items cancel the items' own difficulty, which is why it is much narrower than comparing two
  independent means.
* ``bootstrap``: the 2.5th and 97.5th percentiles of the mean difference over ``resamples`` resamplings
  of the items with replacement (seeded, so repeatable). No normality assumption; for small ``n`` it is
  too narrow (a percentile bootstrap under-covers below ~30 items).

Student's t quantile is computed here (regularized incomplete beta by a continued fraction, then
bisection), so the core needs no scipy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

CIMethod = Literal["paired-t", "bootstrap"]


@dataclass(frozen=True)
class Interval:
    """An estimate with its confidence interval (``low``/``high`` None when ``n`` < 2)."""

    estimate: float
    low: float | None
    high: float | None
    n: int
    method: str
    level: float = 0.95

    def to_json(self, digits: int = 6) -> dict[str, object]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, digits)

        return {"estimate": r(self.estimate), "ci": [r(self.low), r(self.high)], "n": self.n,
                "method": self.method, "level": self.level}


def _betacf(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        num = m * (b - m) * x / ((a + m2 - 1) * (a + m2))
        for step in (num, -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1))):
            d = 1.0 + step * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + step / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function ``I_x(a, b)``."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """Student's t distribution function with ``df`` degrees of freedom."""
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t (bisection on :func:`t_cdf`; 1e-10 accurate)."""
    if not 0 < p < 1:
        raise ValueError("p must be in (0, 1)")
    if p < 0.5:
        return -t_quantile(1 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return (lo + hi) / 2


def mean_interval(values: Sequence[float], *, method: CIMethod = "paired-t", level: float = 0.95,
                  resamples: int = 10_000, seed: int = 0) -> Interval:
    """The mean of ``values`` with its confidence interval (the values are per-item differences when the
    comparison is paired)."""
    n = len(values)
    if n == 0:
        return Interval(math.nan, None, None, 0, method, level)
    mean = math.fsum(values) / n
    if n < 2:
        return Interval(mean, None, None, n, method, level)
    if method == "bootstrap":
        import numpy as np

        data = np.asarray(values, dtype=np.float64)
        rng = np.random.default_rng(seed)
        means = np.empty(resamples)
        step = max(1, 2_000_000 // n)  # resample in blocks: bounded memory for any n
        for start in range(0, resamples, step):
            size = min(step, resamples - start)
            means[start:start + size] = data[rng.integers(0, n, size=(size, n))].mean(axis=1)
        alpha = (1 - level) / 2
        low, high = np.quantile(means, [alpha, 1 - alpha])
        return Interval(mean, float(low), float(high), n, method, level)
    var = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    half = t_quantile(1 - (1 - level) / 2, n - 1) * math.sqrt(var / n)
    return Interval(mean, mean - half, mean + half, n, method, level)


def paired_delta(before: Sequence[float], after: Sequence[float], *, method: CIMethod = "paired-t",
                 level: float = 0.95, resamples: int = 10_000, seed: int = 0) -> Interval:
    """``mean(after - before)`` over the same items, with its confidence interval."""
    if len(before) != len(after):
        raise ValueError("paired values must have the same length")
    diffs = [a - b for a, b in zip(after, before, strict=True)]
    return mean_interval(diffs, method=method, level=level, resamples=resamples, seed=seed)
