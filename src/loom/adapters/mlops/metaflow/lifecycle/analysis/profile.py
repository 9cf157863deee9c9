"""The EDA profile of one table: shape, dtypes, missingness, target, per-column stats, correlations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loom.application.evaluation import frames, leakage

if TYPE_CHECKING:
    import pandas as pd


def profile(
    train: "pd.DataFrame",
    *,
    test: "pd.DataFrame | None" = None,
    schema: dict[str, Any] | None = None,
    target: str | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Everything `eda` stores, as plain JSON-able values (the flow stores it as artifacts)."""
    import pandas as pd

    frames.check_table(train)
    target = frames.infer_target(train, test, schema, target)
    frames.check_target(train, target)
    y = train[target]
    kind = frames.task_type(y, schema)
    columns = []
    for col in train.columns:
        s = train[col]
        entry: dict[str, Any] = {
            "name": str(col),
            "dtype": str(s.dtype),
            "missing": round(float(s.isna().mean()), 4),
            "unique": int(s.nunique(dropna=True)),
        }
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            d = s.describe()
            entry.update({k: _num(d.get(k)) for k in ("mean", "std", "min", "50%", "max")})
            entry["median"] = entry.pop("50%")
        else:
            top = s.astype("string").value_counts(dropna=True).head(5)
            entry["top"] = {str(k): int(v) for k, v in top.items()}
            markers = missing_text(s)
            if markers:  # "?" and "n/a" say "no value": counted as missing, and named
                entry["missing_text"] = markers
                entry["missing"] = round(float(s.isna().mean()) + sum(markers.values()) / max(1, len(s)), 4)
        columns.append(entry)
    flags = leakage.detect(train, target, kind, test=test, schema=schema, seed=seed)
    return {
        "target": target,
        "task_type": kind,
        "rows": int(len(train)),
        "cols": int(len(train.columns)),
        "test_rows": int(len(test)) if test is not None else 0,
        "dtypes": {str(c): str(t) for c, t in train.dtypes.items()},
        "missing": {c["name"]: c["missing"] for c in columns},
        "columns": columns,
        "target_summary": target_summary(y, kind),
        "correlations": correlations(train, target),
        "time_columns": frames.time_columns(train),
        "leakage": [f.as_dict() for f in flags],
    }


def missing_text(s: "pd.Series") -> dict[str, int]:
    """{value: rows} of the text values of a column that say "no value" ("?", "-", "n/a": frames.MISSING_TEXT)."""
    text = s.dropna().astype(str).str.strip()
    found = text[text.str.lower().isin(frames.MISSING_TEXT) | (text == "")]
    return {str(k): int(v) for k, v in found.value_counts().items()}


def target_summary(y: "pd.Series", kind: str) -> dict[str, Any]:
    if kind == "classification":
        counts = y.astype("string").value_counts(dropna=True)
        total = int(counts.sum())
        return {
            "kind": kind,
            "classes": {str(k): int(v) for k, v in counts.items()},
            "balance": {str(k): round(int(v) / total, 4) for k, v in counts.items()},
            "minority_share": round(float(counts.min() / total), 4),
        }
    d = y.astype(float).describe()
    return {"kind": kind, **{k: _num(d.get(k)) for k in ("mean", "std", "min", "25%", "50%", "75%", "max")},
            "skew": _num(y.astype(float).skew())}


def correlations(train: "pd.DataFrame", target: str, limit: int = 15) -> dict[str, Any]:
    """Pearson matrix over the numeric columns (the `limit` most target-correlated) + target ranking."""
    import pandas as pd

    numeric = frames.feature_matrix(train, [])
    if target in train.columns and not pd.api.types.is_numeric_dtype(train[target]):
        codes, _ = frames.encode_target(train[target].fillna("?"), "classification")
        numeric[target] = codes
    numeric = numeric.loc[:, numeric.std(numeric_only=True).fillna(0) > 0]
    if target not in numeric.columns or numeric.shape[1] < 2:
        return {"columns": [], "matrix": [], "with_target": {}}
    with_target = numeric.corr()[target].drop(target).dropna()
    ranked = with_target.abs().sort_values(ascending=False)
    keep = [target] + [str(c) for c in ranked.index[: limit - 1]]
    matrix = numeric[keep].corr().round(4)
    return {
        "columns": keep,
        "matrix": [[_num(v) for v in row] for row in matrix.to_numpy().tolist()],
        "with_target": {str(c): _num(with_target[c]) for c in ranked.index[:limit]},
    }


def _num(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if f != f else round(f, 6)
