"""Row splits shared by `ingest` (one file -> train/test) and `run` (train -> sealed slices).

Index math only (numpy, imported in functions): callers read and write the tables. With a time
column the held-out rows are always the latest ones; without one, a seeded shuffle
(stratified by class for classification targets).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

#: Usual target column names (a single file without --target; checked in this order).
TARGET_NAMES = ("target", "label", "labels", "y", "class", "outcome", "saleprice", "price", "churn")
#: Rows below which Loom seals nothing (the run is ranked on self-reported metrics only).
MIN_SEALED_ROWS = 20
#: Largest selection or final slice: beyond this more rows buy little precision.
MAX_SLICE_ROWS = 50_000


def test_rows(n: int, fraction: float, seed: int, times: "np.ndarray | None" = None) -> "np.ndarray":
    """Sorted indices of the test rows of one table: the latest `fraction` by time, else a seeded draw."""
    import numpy as np

    n_test = max(1, int(round(n * fraction)))
    if times is not None:
        return np.sort(time_order(times)[n - n_test:])
    return np.sort(np.random.RandomState(seed).permutation(n)[:n_test])


def time_order(times: "np.ndarray") -> "np.ndarray":
    """Row indices from the earliest to the latest time (unparsed times count as earliest; stable)."""
    import numpy as np

    keys = np.asarray(times, dtype="datetime64[ns]").astype(np.int64)  # NaT is the smallest int64
    return np.argsort(keys, kind="stable")


def slice_sizes(n: int, share: float | None = None) -> tuple[int, int]:
    """(selection rows, final rows) for `n` labelled rows; (0, 0) when too few to seal.

    Small data seals a larger share (0.3 below 1,000 rows, else 0.2) so the final estimate has
    rows to stand on; each slice is capped at MAX_SLICE_ROWS. `share` overrides the share.
    """
    if n < MIN_SEALED_ROWS:
        return 0, 0
    share = share if share is not None else (0.3 if n < 1000 else 0.2)
    sealed = int(round(n * share))
    selection = min(sealed // 2, MAX_SLICE_ROWS)
    final = min(sealed - sealed // 2, MAX_SLICE_ROWS)
    if selection < 3 or final < 3 or n - selection - final < 10:
        return 0, 0
    return selection, final


def sealing_order(n: int, seed: int, *, strata: "np.ndarray | None" = None,
                  times: "np.ndarray | None" = None, count: int | None = None) -> "np.ndarray":
    """Row indices in the order they are sealed (the first `count` of them, or all): latest first
    by time; else a seeded order in which every prefix holds each class in proportion (a
    stratified draw of any size)."""
    import numpy as np

    count = n if count is None else min(count, n)
    if times is not None:
        t = np.asarray(times, dtype="datetime64[ns]").astype(np.int64)
        keys = np.where(t == np.iinfo(np.int64).min, np.iinfo(np.int64).max, -t)  # latest first; unparsed last
    else:
        rng = np.random.default_rng(seed)
        if strata is None:
            return rng.permutation(n)[:count]
        codes = np.asarray(strata)
        keys = np.empty(n)
        for code in np.unique(codes):
            rows = np.flatnonzero(codes == code)
            ranks = rng.permutation(len(rows))
            keys[rows] = (ranks + rng.random(len(rows))) / len(rows)  # spread evenly over [0, 1)
    if count < n:  # only the sealed rows need ordering
        first = np.argpartition(keys, count - 1)[:count] if count else np.zeros(0, dtype=np.int64)
        return first[np.argsort(keys[first], kind="stable")]
    return np.argsort(keys, kind="stable")


def sealed_slices(n: int, seed: int, *, strata: "np.ndarray | None" = None, times: "np.ndarray | None" = None,
                  share: float | None = None, groups: "np.ndarray | None" = None) -> "np.ndarray":
    """Per row: 0 = the candidates' train, 1 = the selection slice, 2 = the final slice. With
    `groups` (a code per row) whole groups are sealed, drawn in a seeded order until each slice has
    its rows: no group has rows on both sides."""
    import numpy as np

    selection, final = slice_sizes(n, share)
    out = np.zeros(n, dtype=np.int8)
    if selection and groups is not None:
        _, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
        order = np.random.default_rng(seed).permutation(len(counts))
        ends = np.cumsum(counts[order])
        n_final = int(np.searchsorted(ends, final)) + 1  # groups until the slice holds `final` rows
        n_sel = int(np.searchsorted(ends, ends[n_final - 1] + selection)) + 1 - n_final
        if n_final + n_sel >= len(counts) or n - ends[min(n_final + n_sel, len(ends)) - 1] < 10:
            return out  # too few groups to seal any and keep some to train on
        of_group = np.zeros(len(counts), dtype=np.int8)
        of_group[order[:n_final]] = 2
        of_group[order[n_final:n_final + n_sel]] = 1
        return of_group[inverse]
    if selection:
        order = sealing_order(n, seed, strata=strata, times=times, count=final + selection)
        out[order[:final]] = 2  # by time: the very latest rows estimate the future
        out[order[final:final + selection]] = 1
    return out
