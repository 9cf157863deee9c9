"""Leakage detection: columns that will not exist (or not mean the same) at prediction time.

One set of detectors for every verb: `eda` and `validate` report them, `features` drops them,
and `loom run` screens the training table with them before the first candidate (`screen`).

Each finding is a `LeakageFlag(column, kind, detail)`:
- target_duplicate: the column is the target again (equal, or a one-to-one relabelling);
- target_derived: a numeric column that is (almost) a linear function of a numeric target;
- near_perfect_predictor: a single feature predicts the target almost perfectly (a shallow tree, CV);
- id_like: an undeclared unique-per-row key (row counters, uuids) that only memorises rows
  (the schema's declared id columns are the ids, not flagged);
- constant: one value everywhere, no information;
- time_leakage: a date recorded after the main time column (information from the future), or a
  train/test split whose periods overlap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loom.application.evaluation import frames
from loom.domain.lifecycle import SCREEN_KINDS, LeakageFlag

if TYPE_CHECKING:
    import pandas as pd

NEAR_PERFECT = 0.98
_SAMPLE = 5000


def detect(
    train: "pd.DataFrame",
    target: str,
    kind: str,
    *,
    test: "pd.DataFrame | None" = None,
    schema: dict[str, Any] | None = None,
    seed: int = 0,
) -> list[LeakageFlag]:
    import pandas as pd

    df = train.sample(n=_SAMPLE, random_state=seed) if len(train) > _SAMPLE else train
    df = df[df[target].notna()]
    y = df[target]
    declared_ids = set(frames.id_columns(schema, df))
    times = frames.time_columns(df)
    flags: list[LeakageFlag] = []
    for col in df.columns:
        if col == target:
            continue
        s = df[col]
        name = str(col)
        if s.nunique(dropna=False) <= 1:
            flags.append(LeakageFlag(name, "constant", "one value in every row"))
            continue
        if name in times:
            continue
        if _duplicate_of(s, y):
            flags.append(LeakageFlag(name, "target_duplicate", f"a one-to-one relabelling of '{target}'"))
            continue
        if name in declared_ids:
            continue  # the data's declared row key: kept as the id, never used as a feature
        if _id_like(s, name):
            flags.append(LeakageFlag(name, "id_like", f"{s.nunique()} distinct values in {len(s)} rows: a row key"))
            continue
        if kind == "regression" and pd.api.types.is_numeric_dtype(s):
            corr = _corr(s, y)
            if corr is not None and abs(corr) >= 0.99:
                flags.append(LeakageFlag(name, "target_derived", f"Pearson r={corr:.3f} with '{target}': computed from the target"))
                continue
        score = _single_feature_score(s, y, kind, seed)
        if score is not None and score >= NEAR_PERFECT:
            label = "ROC-AUC" if kind == "classification" and y.nunique() == 2 else ("accuracy" if kind == "classification" else "R²")
            flags.append(LeakageFlag(name, "near_perfect_predictor", f"alone it reaches {label} {score:.3f} (3-fold CV)",
                                     score=round(float(score), 4)))
    flags.extend(_time_leakage(train, test, times))
    return flags


def screen(
    train: "pd.DataFrame",
    target: str,
    kind: str,
    *,
    test: "pd.DataFrame | None" = None,
    id_column: str | None = None,
    seed: int = 0,
) -> list[LeakageFlag]:
    """The leak screen of `loom run`: the same detectors, keeping the kinds the run acts on
    (`--leaks drop` / `fail`); `id_column` is the task's row key, never flagged."""
    schema = {"id_columns": [id_column] if id_column else []}
    return [f for f in detect(train, target, kind, test=test, schema=schema, seed=seed) if f.kind in SCREEN_KINDS]


def _duplicate_of(s: "pd.Series", y: "pd.Series") -> bool:
    pair = s.notna() & y.notna()
    if pair.mean() < 0.95:
        return False
    a, b = s[pair], y[pair]
    if a.astype(str).equals(b.astype(str)):
        return True
    if a.nunique() != b.nunique() or a.nunique() > 50:
        return False
    # one-to-one mapping: every value of a maps to one value of b and vice versa
    return bool(a.groupby(b.astype(str)).nunique().max() == 1 and b.groupby(a.astype(str)).nunique().max() == 1)


def _id_like(s: "pd.Series", name: str) -> bool:
    import pandas as pd

    n = len(s)
    if n < 20:
        return False
    ratio = s.nunique() / n
    lowered = name.lower()
    named = lowered == "id" or lowered.endswith(("_id", "id", "uuid", "key"))
    if pd.api.types.is_float_dtype(s) and not named:
        return False
    if ratio >= 0.999 and (named or not pd.api.types.is_numeric_dtype(s)):
        # one date per row (daily data) or a sentence per row (reviews, notes) is a feature, not a key
        return named or not (_reads_as_dates(s) or _free_text(s))
    if ratio >= 0.999 and pd.api.types.is_integer_dtype(s):
        ordered = s.sort_values().diff().dropna()
        return bool(len(ordered) and (ordered == ordered.iloc[0]).mean() > 0.95)  # a counter
    return named and ratio > 0.9


def _free_text(s: "pd.Series") -> bool:
    """Words, not codes: on average at least three whitespace-separated words a value (as the
    baseline candidates class a text column: TF-IDF, not a key)."""
    head = s.dropna().astype(str).head(500)
    return bool(len(head)) and float(head.str.strip().str.count(r"\s+").mean()) >= 2


def _reads_as_dates(s: "pd.Series") -> bool:
    """Text that parses as dates in any common format (12/31/2020, 31.12.2020 14:00, ...)."""
    import warnings

    import pandas as pd

    head = s.dropna().astype(str).head(200)
    if not len(head) or not head.str.contains(r"\d").all():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = pd.to_datetime(head, errors="coerce", format="mixed")
        except (TypeError, ValueError, OverflowError):
            return False
    return bool(parsed.notna().mean() >= 0.95)


def _corr(s: "pd.Series", y: "pd.Series") -> float | None:
    pair = s.notna() & y.notna()
    if pair.sum() < 10 or s[pair].std() == 0:
        return None
    value = float(s[pair].astype(float).corr(y[pair].astype(float)))
    return None if value != value else value


def _single_feature_score(s: "pd.Series", y: "pd.Series", kind: str, seed: int) -> float | None:
    import numpy as np
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    x = frames.feature_matrix(s.to_frame(), []).fillna(-1e12).to_numpy()
    if x.shape[1] != 1:
        return None
    if kind == "classification":
        codes, classes = frames.encode_target(y, kind)
        counts = np.bincount(codes)
        if counts.min() < 3:
            return None
        scoring = "roc_auc" if len(classes) == 2 else "accuracy"
        cv = StratifiedKFold(3, shuffle=True, random_state=seed)
        model = DecisionTreeClassifier(max_depth=4, random_state=seed)
        target = codes
    else:
        scoring, cv = "r2", KFold(3, shuffle=True, random_state=seed)
        model = DecisionTreeRegressor(max_depth=6, random_state=seed)
        target = y.astype(float).to_numpy()
    try:
        return float(np.mean(cross_val_score(model, x, target, scoring=scoring, cv=cv)))
    except ValueError:
        return None


def _time_leakage(train: "pd.DataFrame", test: "pd.DataFrame | None", times: list[str]) -> list[LeakageFlag]:
    if not times:
        return []
    flags = []
    main = times[0]
    t0 = frames.as_datetime(train[main])
    for other in times[1:]:
        t1 = frames.as_datetime(train[other])
        pair = t0.notna() & t1.notna()
        if pair.sum() and (t1[pair] > t0[pair]).mean() > 0.5:
            share = (t1[pair] > t0[pair]).mean()
            flags.append(LeakageFlag(other, "time_leakage", f"recorded after '{main}' in {share:.0%} of rows: information from the future"))
    if test is not None and main in test.columns:
        tt = frames.as_datetime(test[main])
        if tt.notna().any() and t0.notna().any() and tt.min() < t0.max():
            overlap = float((tt < t0.max()).mean())
            if overlap > 0.2:
                flags.append(LeakageFlag(main, "time_split", f"{overlap:.0%} of test rows predate the last train row: use a time-ordered split"))
    return flags
