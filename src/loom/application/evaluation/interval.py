"""A 95% interval for a score: a seeded percentile bootstrap over the rows, with a floor.

The bootstrap resamples rows with replacement (as weights, so a resample costs O(rows)); the
number of resamples shrinks for large slices (1,000 up to 30k rows, never below 200). For
scores bounded by a perfect 1 (accuracy, ROC-AUC, F1, ...) and the error rate the interval is never
narrower than the Wilson score interval of a proportion with the same value on the same rows: 19 of
19 right reads [0.83, 1.00], not the bootstrap's degenerate [1.00, 1.00] (0 of 19 wrong: [0, 0.17]).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from loom.application.evaluation.metrics import Scorer, ScoringError

if TYPE_CHECKING:
    import numpy as np

Z95 = 1.959964
#: Rows x resamples the bootstrap may spend.
WORK = 30_000_000


def wilson(p: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion `p` observed on `n` rows."""
    p = min(max(p, 0.0), 1.0)
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, center - half), min(1.0, center + half)


def bootstrap(scorer: Scorer, seed: int, *, groups: "np.ndarray | None" = None,
              ) -> tuple[float, float | None, float | None, int, str]:
    """(value, low, high, resamples, method) for `scorer`'s rows. With `groups` (a code per row)
    whole groups are resampled (a cluster bootstrap): rows of one group are not independent."""
    import numpy as np

    value = scorer()
    n = scorer.n
    resamples = int(min(1000, max(200, WORK // max(n, 1))))
    rng = np.random.default_rng(seed)
    values = []
    k = int(groups.max()) + 1 if groups is not None and len(groups) == n else 0
    for _ in range(resamples):
        if k:
            weights = np.bincount(rng.integers(0, k, k), minlength=k)[groups]
        else:
            weights = np.bincount(rng.integers(0, n, n), minlength=n)
        try:
            values.append(scorer(weights))
        except ScoringError:  # a resample with one class only: skipped
            continue
    over = f"{n} rows in {k} groups (whole groups resampled)" if k else f"{n} rows"
    method = f"percentile bootstrap over {over} ({len(values)} resamples, seed {seed})"
    if len(values) < resamples // 2:
        return value, None, None, len(values), method + "; too few resamples could be scored"
    low, high = (float(v) for v in np.percentile(values, [2.5, 97.5]))
    if scorer.spec.bounded and 0.0 <= value <= 1.0:
        w_low, w_high = wilson(value, k or n)  # independent units: the groups, if any
        if w_low < low or w_high > high:
            method += "; widened to the Wilson interval of a proportion on the same rows"
        low, high = min(low, w_low), max(high, w_high)
    return value, min(low, value), max(high, value), len(values), method


def is_wide(value: float, low: float | None, high: float | None, bounded: bool) -> bool:
    """Wide: over 0.15 across for a score bounded by 1, else over 30% of the value (or no interval)."""
    if low is None or high is None:
        return True
    width = high - low
    return width > 0.15 if bounded else width > 0.3 * max(abs(value), 1e-12)
