"""Data drift of a batch vs a reference: PSI per column (+ KS for numbers), new/missing columns.

PSI uses the reference's decile edges (numbers) or its top categories (+ "other"); a column
drifts when PSI >= 0.2, the usual "material shift" threshold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loom.domain.lifecycle import PSI_ATTENTION, DriftColumn

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

_EPS = 1e-4


def psi(expected: "np.ndarray", actual: "np.ndarray") -> float:
    import numpy as np

    e = np.clip(expected / max(expected.sum(), 1), _EPS, None)
    a = np.clip(actual / max(actual.sum(), 1), _EPS, None)
    return float(np.sum((a - e) * np.log(a / e)))


def ks_statistic(a: "np.ndarray", b: "np.ndarray") -> float:
    """The two-sample Kolmogorov-Smirnov statistic D = max |F_a(x) - F_b(x)|, as scipy's ks_2samp computes it.

    A few lines of numpy instead of importing scipy.stats (about half a second in every flow process
    that checks drift); tests/unit/test_lifecycle_analysis.py holds it equal to scipy's.
    """
    import numpy as np

    a, b = np.sort(np.asarray(a, dtype=float)), np.sort(np.asarray(b, dtype=float))
    both = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, both, side="right") / len(a)
    cdf_b = np.searchsorted(b, both, side="right") / len(b)
    return float(np.max(np.abs(cdf_a - cdf_b)))


def column_drift(ref: "pd.Series", cur: "pd.Series", name: str) -> tuple[DriftColumn, dict[str, Any]]:
    import numpy as np
    import pandas as pd

    r, c = ref.dropna(), cur.dropna()
    few_values = r.nunique() <= 10  # flags and codes: compare category shares, not deciles
    if (pd.api.types.is_numeric_dtype(r) and pd.api.types.is_numeric_dtype(c) and not pd.api.types.is_bool_dtype(r)
            and not few_values):
        edges = np.unique(np.quantile(r.astype(float), np.linspace(0, 1, 11)))
        if len(edges) < 2:
            edges = np.array([r.min() - 0.5, r.max() + 0.5])
        edges[0], edges[-1] = -np.inf, np.inf
        e_counts = np.histogram(r.astype(float), bins=edges)[0]
        a_counts = np.histogram(c.astype(float), bins=edges)[0]
        value = psi(e_counts, a_counts)
        ks = ks_statistic(r.astype(float), c.astype(float)) if len(r) and len(c) else None
        kind = "numeric"
        hist = {"reference": (e_counts / max(e_counts.sum(), 1)).round(4).tolist(),
                "current": (a_counts / max(a_counts.sum(), 1)).round(4).tolist()}
    else:
        top = r.astype("string").value_counts().head(20).index.tolist()
        def counts(s: "pd.Series") -> "np.ndarray":
            v = s.astype("string").where(s.astype("string").isin(top), "<other>")
            vc = v.value_counts()
            return np.array([vc.get(k, 0) for k in [*top, "<other>"]], dtype=float)
        e_counts, a_counts = counts(r), counts(c)
        value, kind = psi(e_counts, a_counts), "categorical"
        ks = None
        if pd.api.types.is_numeric_dtype(r) and pd.api.types.is_numeric_dtype(c) and len(r) and len(c):
            ks = ks_statistic(r.astype(float), c.astype(float))
        hist = {"reference": (e_counts / max(e_counts.sum(), 1)).round(4).tolist(),
                "current": (a_counts / max(a_counts.sum(), 1)).round(4).tolist()}
    col = DriftColumn(name, kind, round(value, 6), None if ks is None else round(ks, 6), value >= PSI_ATTENTION)
    return col, hist


def compare(reference: "pd.DataFrame", current: "pd.DataFrame", skip: list[str] | None = None) -> dict[str, Any]:
    skip_set = set(skip or [])
    ref_cols = [c for c in reference.columns if c not in skip_set]
    cur_cols = [c for c in current.columns if c not in skip_set]
    shared = [c for c in ref_cols if c in set(cur_cols)]
    columns, hists = [], {}
    for col in shared:
        d, h = column_drift(reference[col], current[col], str(col))
        columns.append(d)
        hists[str(col)] = h
    return {
        "columns": columns,
        "histograms": hists,
        "new_columns": [str(c) for c in cur_cols if c not in set(ref_cols)],
        "missing_columns": [str(c) for c in ref_cols if c not in set(cur_cols)],
    }
