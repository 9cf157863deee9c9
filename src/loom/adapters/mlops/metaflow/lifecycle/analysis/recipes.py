"""Feature recipes: drop the flagged leaky columns, then derive features the same way on train and test.

- minimal: drop flagged columns; split each datetime into year/month/day-of-week (the raw time
  column stays, so `validate` can still split by time).
- full: minimal + a missing-indicator per column with gaps, log1p of skewed positive numbers,
  and frequency encoding of high-cardinality text columns.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from loom.application.evaluation import frames
from loom.domain.lifecycle import DROP_KINDS, LeakageFlag

if TYPE_CHECKING:
    import pandas as pd

RECIPES = ("minimal", "full")


def columns_to_drop(flags: list[dict[str, Any]], target: str, keep: list[str]) -> tuple[list[dict[str, Any]],
                                                                                          list[dict[str, Any]]]:
    """(the flags whose column `features` drops, the flags it keeps: a suspected near-perfect predictor
    short of CERTAIN_LEAK, `LeakageFlag.certain`). Never the target, never a declared id column."""
    dropped, kept, seen = [], [], set()
    for f in flags:
        col = f["column"]
        if f["kind"] not in DROP_KINDS or col == target or col in keep or col in seen:
            continue
        flag = LeakageFlag(col, f["kind"], f.get("detail", ""), f.get("score"))
        (dropped if flag.certain else kept).append(f)
        seen.add(col)
    return dropped, kept


def apply(
    train: "pd.DataFrame",
    test: "pd.DataFrame | None",
    *,
    target: str,
    drop: list[str],
    recipe: str,
) -> tuple["pd.DataFrame", "pd.DataFrame | None", list[str]]:
    """(train', test', added columns). Statistics are learned on train only."""
    import numpy as np
    import pandas as pd

    tr = train.drop(columns=[c for c in drop if c in train.columns])
    te = test.drop(columns=[c for c in drop if c in test.columns]) if test is not None else None
    added: list[str] = []

    def add(name: str, make: Any) -> None:
        nonlocal tr, te
        tr = tr.assign(**{name: make(tr)})
        if te is not None:
            te = te.assign(**{name: make(te)})
        added.append(name)

    times = frames.time_columns(tr.drop(columns=[target], errors="ignore"))
    for col in times:
        for part, fn in (("year", lambda t: t.dt.year), ("month", lambda t: t.dt.month), ("dow", lambda t: t.dt.dayofweek)):
            add(f"{col}_{part}", lambda d, c=col, f=fn: f(frames.as_datetime(d[c])) if c in d.columns else np.nan)
    if recipe == "full":
        for col in [c for c in tr.columns if c != target and c not in times and c not in added]:
            s = tr[col]
            if s.isna().any():
                add(f"{col}_missing", lambda d, c=col: d[c].isna().astype("int8") if c in d.columns else 1)
            if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s) and s.min() >= 0 and abs(s.skew()) > 1:
                add(f"{col}_log1p", lambda d, c=col: np.log1p(d[c].astype(float)) if c in d.columns else np.nan)
            elif not pd.api.types.is_numeric_dtype(s) and s.nunique() > 20:
                freq = s.astype("string").value_counts(normalize=True)
                add(f"{col}_freq", lambda d, c=col, m=freq: d[c].astype("string").map(m).astype(float).fillna(0.0))
    return tr, te, added


def fingerprint(train: "pd.DataFrame", test: "pd.DataFrame | None") -> str:
    """sha256 over the derived tables' contents (same input + recipe -> same fingerprint)."""
    import pandas as pd

    h = hashlib.sha256()
    for df in (train, test):
        if df is None:
            h.update(b"<none>")
            continue
        h.update(",".join(map(str, df.columns)).encode())
        h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()
