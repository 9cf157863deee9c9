"""Validation: a sealed holdout + K-fold CV (stratified, or time-ordered), calibration, slices.

The holdout is cut first and never seen by CV; the final model is fit on the rest and scored
once on it. With a time column the holdout is the latest period and the folds are
forward-chaining (TimeSeriesSplit), so no fold trains on its future. When train's rows repeat
one another's features and test's rows do not repeat train's as often (`copies.judge`, as a run
seals them), each set of copies stays on one side of the holdout and of every fold: a model that
memorised a row is not scored on its copy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loom.application.evaluation import frames
from loom.domain.lifecycle import SUSPICIOUS_SCORE

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def copy_groups(train: "pd.DataFrame", test: "pd.DataFrame | None", skip: list[str]) -> "np.ndarray | None":
    """Per train row, its set of identical rows (by the features train and test share), when a run
    would seal copies whole; else None."""
    import pandas as pd

    from loom.application.run_search.copies import judge

    shared = [c for c in train.columns if c not in skip and test is not None and c in test.columns]
    if not shared or test is None or not len(test):
        return None

    def keys(frame: "pd.DataFrame") -> "np.ndarray":  # numbers as floats: an int column with blanks is float
        numbers = {c: frame[c].astype("float64") for c in shared
                   if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])}
        return pd.util.hash_pandas_object(frame[shared].assign(**numbers), index=False).to_numpy()

    return judge(keys(train), keys(test)).codes


class _Grouped:
    """A group splitter that takes the groups of the rows it is given (`split(X, y)` as KFold's)."""

    def __init__(self, splitter: Any, groups: "np.ndarray") -> None:
        self.splitter, self.groups = splitter, groups

    def split(self, X: Any, y: Any = None) -> Any:  # noqa: N803 - scikit-learn's name
        return self.splitter.split(X, y, groups=self.groups)


def metric_for(kind: str, n_classes: int) -> tuple[str, bool]:
    if kind == "regression":
        return "rmse", False
    return ("roc_auc", True) if n_classes == 2 else ("accuracy", True)


def score(metric: str, y: "np.ndarray", pred: "np.ndarray") -> float:
    import numpy as np
    from sklearn.metrics import accuracy_score, mean_squared_error, roc_auc_score

    if metric == "roc_auc":
        if len(np.unique(y)) < 2:
            return float("nan")
        return float(roc_auc_score(y, pred))
    if metric == "accuracy":
        return float(accuracy_score(y, pred))
    return float(np.sqrt(mean_squared_error(y, pred)))


def cross_validate(
    train: "pd.DataFrame",
    target: str,
    kind: str,
    predictor: Any,
    *,
    time_column: str | None = None,
    sensitive: str | None = None,
    folds: int = 5,
    holdout_fraction: float = 0.2,
    seed: int = 0,
    test: "pd.DataFrame | None" = None,
    ids: "list[str] | tuple[str, ...]" = (),
) -> dict[str, Any]:
    """Scores and curves as plain values (what the ValidateFlow stores as artifacts)."""
    import numpy as np
    from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit, train_test_split

    df = train[train[target].notna()].reset_index(drop=True)
    y_all, classes = frames.encode_target(df[target], kind)
    metric, greater = metric_for(kind, len(classes))
    if time_column:
        order = np.argsort(frames.as_datetime(df[time_column]).to_numpy(), kind="stable")
        df, y_all = df.iloc[order].reset_index(drop=True), y_all[order]
        cut = int(len(df) * (1 - holdout_fraction))
        dev_idx, hold_idx = np.arange(cut), np.arange(cut, len(df))
        splitter: Any = TimeSeriesSplit(n_splits=folds)
        split = "time-ordered"
    elif (groups := copy_groups(df, test, [target, *ids])) is not None:
        from sklearn.model_selection import GroupKFold, GroupShuffleSplit

        dev_idx, hold_idx = next(GroupShuffleSplit(1, test_size=holdout_fraction, random_state=seed)
                                 .split(df, groups=groups))
        splitter = _Grouped(GroupKFold(folds), groups[dev_idx])
        split = "copies"
    else:
        strat = y_all if kind == "classification" and np.bincount(y_all).min() >= 2 else None
        dev_idx, hold_idx = train_test_split(
            np.arange(len(df)), test_size=holdout_fraction, random_state=seed, stratify=strat
        )
        if kind == "classification" and np.bincount(y_all[dev_idx]).min() >= folds:
            splitter, split = StratifiedKFold(folds, shuffle=True, random_state=seed), "stratified"
        else:
            splitter, split = KFold(folds, shuffle=True, random_state=seed), "k-fold"
    dev, hold = df.iloc[dev_idx].reset_index(drop=True), df.iloc[hold_idx].reset_index(drop=True)
    y_dev, y_hold = y_all[dev_idx], y_all[hold_idx]
    cv_scores = []
    for tr, va in splitter.split(dev, y_dev):
        pred = predictor.fit_predict(dev.iloc[tr], dev.iloc[va])
        cv_scores.append(score(metric, y_dev[va], pred))
    hold_pred = predictor.fit_predict(dev, hold)
    holdout = score(metric, y_hold, hold_pred)
    result: dict[str, Any] = {
        "metric": metric,
        "greater_is_better": greater,
        "split": split,
        "folds": folds,
        "cv_scores": [round(s, 6) for s in cv_scores],
        "holdout_score": round(holdout, 6),
        "holdout_rows": int(len(hold)),
        "trivial_baseline": round(_trivial(metric, y_dev, y_hold), 6),
        "classes": [str(c) for c in classes],
        "near_perfect": _near_perfect(metric, kind, y_hold, hold_pred, holdout),
        "holdout_truth": y_hold.tolist(),
        "holdout_pred": [float(v) for v in hold_pred],
    }
    if metric == "roc_auc":
        result.update(calibration(y_hold, hold_pred))
    if sensitive:
        result["slices"], result["slice_gap"] = slices(hold, sensitive, metric, y_hold, hold_pred)
    return result


def _trivial(metric: str, y_dev: "np.ndarray", y_hold: "np.ndarray") -> float:
    import numpy as np

    if metric == "roc_auc":
        return 0.5
    if metric == "accuracy":
        return float((y_hold == np.bincount(y_dev).argmax()).mean())
    return float(np.sqrt(np.mean((y_hold - y_dev.mean()) ** 2)))


def _near_perfect(metric: str, kind: str, y: "np.ndarray", pred: "np.ndarray", holdout: float) -> bool:
    from sklearn.metrics import r2_score

    if metric in ("roc_auc", "accuracy"):
        return holdout >= SUSPICIOUS_SCORE
    return kind == "regression" and float(r2_score(y, pred)) >= SUSPICIOUS_SCORE


def calibration(y: "np.ndarray", proba: "np.ndarray", bins: int = 10) -> dict[str, Any]:
    import numpy as np
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import brier_score_loss

    p = np.clip(proba, 0, 1)
    frac_pos, mean_pred = calibration_curve(y, p, n_bins=bins, strategy="quantile")
    return {
        "brier": round(float(brier_score_loss(y, p)), 6),
        "calibration": {"mean_predicted": mean_pred.round(4).tolist(), "fraction_positive": frac_pos.round(4).tolist()},
    }


def slices(
    hold: "pd.DataFrame", column: str, metric: str, y: "np.ndarray", pred: "np.ndarray", min_rows: int = 20
) -> tuple[list[dict[str, Any]], float | None]:
    from loom.domain.errors import UsageError

    if column not in hold.columns:
        raise UsageError(f"--sensitive column '{column}' is not in the dataset")
    values = hold[column].astype("string").fillna("<missing>")
    out = []
    for value in values.value_counts().head(12).index:
        mask = (values == value).to_numpy()
        n = int(mask.sum())
        s = score(metric, y[mask], pred[mask]) if n >= 2 else float("nan")
        out.append({"slice": str(value), "rows": n, metric: None if s != s else round(s, 6)})
    usable: list[float] = [float(row[metric]) for row in out  # type: ignore[arg-type]
                           if int(row["rows"]) >= min_rows and row[metric] is not None]  # type: ignore[call-overload]
    gap = round(max(usable) - min(usable), 6) if len(usable) >= 2 else None
    return out, gap
