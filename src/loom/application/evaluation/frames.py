"""Table helpers shared by every lifecycle verb: target and task inference, input checks, X/y.

Everything raises `UsageError` (exit 2, one line) on bad input: an empty table, no target,
a constant target. pandas/numpy are imported inside functions (module import stays cheap).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loom.domain.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

_TARGET_NAMES = ("target", "label", "y", "class", "outcome", "price", "saleprice", "churn", "default")
ISO_DATE = r"^\d{4}-\d{2}-\d{2}"
TIME_HINTS = ("date", "time", "timestamp", "_at", "day", "month")
#: Written for "no value" in exports pandas does not read as missing ("?" in UCI files), lower case. The
#: baseline candidates read them as missing too (baseline_program/data.py keeps its own copy: a test keeps them equal).
MISSING_TEXT = frozenset({"?", "??", "-", "--", "---", ".", "..", "...", "*", "n/a", "na", "n.a.", "nan", "none",
                          "null", "nil", "missing", "unknown", "not available", "#n/a", "#na", "#value!", "#div/0!"})


def check_table(df: "pd.DataFrame | None", what: str = "dataset") -> "pd.DataFrame":
    if df is None or len(df) == 0 or len(df.columns) == 0:
        raise UsageError(f"the {what} is empty (0 rows or 0 columns); ingest a non-empty table")
    return df


def infer_target(train: "pd.DataFrame", test: "pd.DataFrame | None", schema: dict[str, Any] | None, explicit: str | None) -> str:
    """--target wins; then the schema's target; then the one train column missing from test; then a usual name."""
    if explicit:
        if explicit not in train.columns:
            raise UsageError(f"target column '{explicit}' is not in the dataset; columns: {', '.join(map(str, train.columns[:12]))}")
        return explicit
    target = (schema or {}).get("target")
    if target and target in train.columns:
        return str(target)
    if test is not None and len(test.columns):
        extra = [c for c in train.columns if c not in set(test.columns)]
        if len(extra) == 1:
            return str(extra[0])
    lowered = {str(c).lower(): str(c) for c in train.columns}
    for name in _TARGET_NAMES:
        if name in lowered:
            return lowered[name]
    raise UsageError("no target column found; pass --target COL")


def check_target(train: "pd.DataFrame", target: str) -> None:
    y = train[target]
    if y.notna().sum() == 0:
        raise UsageError(f"target column '{target}' is empty")
    if y.nunique(dropna=True) < 2:
        raise UsageError(f"target column '{target}' is constant; there is nothing to learn")


def task_type(y: "pd.Series", schema: dict[str, Any] | None = None) -> str:
    """'classification' or 'regression' (the schema's word wins when it has one)."""
    import pandas as pd

    declared = str((schema or {}).get("task_type") or "").lower()
    if declared.startswith("class") or declared in ("binary", "multiclass"):
        return "classification"
    if declared.startswith("regr"):
        return "regression"
    if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
        return "classification"
    values = y.dropna()
    if values.nunique() <= 20 and (values.round() == values).all():
        return "classification"
    return "regression"


def id_columns(schema: dict[str, Any] | None, df: "pd.DataFrame") -> list[str]:
    ids = [c for c in (schema or {}).get("id_columns") or [] if c in df.columns]
    return [str(c) for c in ids]


def time_columns(df: "pd.DataFrame") -> list[str]:
    """Datetime columns, and string columns named like a time that parse as dates."""
    import pandas as pd

    found = []
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            found.append(str(col))
        elif s.dtype == object or pd.api.types.is_string_dtype(s):
            head = s.dropna().astype(str).head(200)
            named = any(h in str(col).lower() for h in TIME_HINTS)
            if len(head) and (named or head.str.match(ISO_DATE).mean() > 0.95):
                parsed = parse_dates(head)
                if parsed.notna().mean() > 0.95:
                    found.append(str(col))
    return found


#: A date written with its first two fields as numbers: "13/01/2023", "05.01.23", "1-2-2023 10:00".
NUMERIC_DATE = r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-]\d{2,4}\b"


def day_first(values: Any) -> bool:
    """True when numeric dates are written day first: some first field is above 12 and no second
    one is ("13/01/2023"). pandas reads "05/01/2023" as 1 May and "13/01/2023" as 13 January in one
    column otherwise. Ambiguous columns (every field <= 12) and month-first ones: False (pandas'
    default). The baseline candidates decide the same way (baseline_program/data.py)."""
    import pandas as pd

    text = pd.Series(values, dtype=object).dropna().astype(str)
    fields = text.str.extract(NUMERIC_DATE).dropna().astype(int)
    return bool(len(fields)) and int(fields[0].max()) > 12 and int(fields[1].max()) <= 12


def as_datetime(s: "pd.Series") -> "pd.Series":
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(s):
        return s
    return parse_dates(s)


def parse_dates(s: "pd.Series") -> "pd.Series":
    """Date text -> naive datetime64 in UTC (NaT where unreadable), day first by `day_first`. Values
    written with several offsets (a daylight-saving change) are instants like any other: pandas 2
    leaves them as objects with a warning, pandas 3 refuses them without utc=True."""
    import warnings

    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(s, errors="coerce", format="mixed", dayfirst=day_first(s), utc=True)
    return parsed.dt.tz_localize(None)


def feature_matrix(df: "pd.DataFrame", drop: list[str]) -> "pd.DataFrame":
    """Model-ready numbers: datetimes -> parts, strings -> category codes, bools -> ints."""
    import pandas as pd

    X = df.drop(columns=[c for c in drop if c in df.columns])
    out = {}
    times = set(time_columns(X))
    for col in X.columns:
        s = X[col]
        if str(col) in times:
            t = as_datetime(s)
            out[f"{col}__year"] = t.dt.year
            out[f"{col}__month"] = t.dt.month
            out[f"{col}__dow"] = t.dt.dayofweek
        elif pd.api.types.is_bool_dtype(s):
            out[col] = s.astype("int8")
        elif pd.api.types.is_numeric_dtype(s):
            out[col] = s
        else:
            out[col] = s.astype("string").astype("category").cat.codes.replace(-1, pd.NA).astype("Float64")
    frame = pd.DataFrame(out, index=X.index)
    return frame.astype("float64")


def encode_target(y: "pd.Series", kind: str) -> tuple[Any, list[Any]]:
    """Classification labels -> 0..k-1 codes (and the classes); regression -> floats."""
    import numpy as np

    if kind == "regression":
        return y.astype("float64").to_numpy(), []
    classes = sorted(y.dropna().unique().tolist(), key=lambda v: str(v))
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[v] for v in y]), classes
