"""Validation: a sealed holdout + K-fold CV (stratified, or time-ordered), calibration, slices.

The holdout is cut first and never seen by CV; the final model is fit on the rest and scored
once on it. With a time column the holdout is the latest period and the folds are
forward-chaining (TimeSeriesSplit), so no fold trains on its future. When train's rows repeat
one another's features and test's rows do not repeat train's as often (`copies.judge`, as a run
seals them), each set of copies stays on one side of the holdout and of every fold: a model that
memorised a row is not scored on its copy.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from loom.application.evaluation import frames
from loom.domain.lifecycle import SUSPICIOUS_SCORE
from loom.domain.wording import with_article

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from loom.domain.metrics import MetricSpec


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
    """The metric validate grades by when none is named: ROC-AUC (binary), accuracy, RMSE."""
    if kind == "regression":
        return "rmse", False
    return ("roc_auc", True) if n_classes == 2 else ("accuracy", True)


def metric_spec(name: str | None, kind: str, classes: list[Any], target: str = "target") -> "MetricSpec":
    """The catalog metric `name` (a CATALOG key; None: `metric_for`'s), checked against the target
    as a run checks it (`run_search.targets.classes`: F1 or Gini on three classes, QWK on worded
    classes) and a regression metric on classes: a UsageError (exit 2)."""
    import pyarrow as pa

    from loom.application.run_search import targets
    from loom.domain.errors import UsageError
    from loom.domain.metrics import CATALOG, MetricSpec

    name = name or metric_for(kind, len(classes))[0]
    if name not in CATALOG:
        raise UsageError(f"unknown metric '{name}'; name one of {', '.join(CATALOG)}")
    info = CATALOG[name]
    if info.kind != kind:
        raise UsageError(f"{info.label} is {with_article(info.kind)} metric and the target is {kind}: "
                         f"name {with_article(kind)} metric")
    spec = MetricSpec(name=name, maximize=info.maximize)
    if kind == "classification":
        targets.classes(spec, target, pa.array([str(c) for c in classes]), n=max(20, 2 * len(classes)))
    return spec


def check_positive(positive: str | None, kind: str, classes: list[Any], target: str = "target") -> None:
    """A `--positive` that names no class of a classification target is a UsageError (exit 2)
    listing the classes, never a silent fall-back to the conventional class."""
    from loom.domain.errors import UsageError
    from loom.domain.metrics import canon_label

    if positive is None or kind != "classification":
        return
    if canon_label(positive) not in {canon_label(c) for c in classes}:
        shown = ", ".join(str(c) for c in classes[:20]) + (", ..." if len(classes) > 20 else "")
        raise UsageError(f"--positive {positive!r} is not a class of '{target}'; its classes: {shown}")


def class_order(classes: list[Any], positive: str | None = None) -> tuple[Any, int]:
    """(codes -> positions in `order_classes` order, the positive class's code) for the Scorer:
    QWK weighs classes by that order; a binary metric scores `positive` (the run's, from its goal)
    or `positive_label`'s class."""
    import numpy as np

    from loom.adapters.mlops.metaflow.lifecycle.analysis.predictors import positive_code
    from loom.domain.metrics import canon_label, order_classes

    canon = [canon_label(c) for c in classes]
    ordered = order_classes(canon)
    position = np.array([ordered.index(c) for c in canon] + [len(canon)], dtype=np.int64)  # unknown stays last
    return position, positive_code(classes, positive) if len(canon) == 2 else 1


def score(spec: "MetricSpec", y: "np.ndarray", pred: Any, classes: list[Any] | None = None,
          positive: str | None = None) -> float:
    """`spec` over the rows (`pred` a predictors.Predicted); nan when the rows cannot be scored
    (one class in the fold for ROC-AUC, a value below -1 for RMSLE, ...)."""
    import numpy as np

    from loom.application.evaluation.metrics import Scorer, ScoringError

    classes = classes or []
    data = pred.as_input(spec.info.input)
    truth = np.asarray(y)
    if spec.task_type == "classification":
        position, code = class_order(classes, positive)
        truth = position[truth]
        if spec.info.input == "label":
            data = position[np.asarray(data)]
        else:  # columns follow the codes; the Scorer reads them in class order
            data = np.asarray(data)[:, np.argsort(position[:len(classes)])]
    try:
        at = int(position[code]) if spec.task_type == "classification" else 1
        return Scorer(spec, truth, data, n_classes=len(classes), positive=at)()
    except ScoringError:
        return float("nan")


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
    metric: str | None = None,
    positive: str | None = None,
) -> dict[str, Any]:
    """Scores and curves as plain values (what the ValidateFlow stores as artifacts). `metric`: a
    catalog name (the run's metric), graded as a run grades it; None: `metric_for`'s. `positive`:
    the class a binary metric scores (the run's); None: `positive_label`'s."""
    import numpy as np
    from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit, train_test_split

    df = train[train[target].notna()].reset_index(drop=True)
    y_all, classes = frames.encode_target(df[target], kind)
    spec = metric_spec(metric, kind, classes, target)
    check_positive(positive, kind, classes, target)
    grade = functools.partial(score, classes=classes, positive=positive)
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
        pred = predictor.fit_scores(dev.iloc[tr], dev.iloc[va])
        cv_scores.append(grade(spec, y_dev[va], pred))
    predicted = predictor.fit_scores(dev, hold)
    holdout, hold_pred = grade(spec, y_hold, predicted), predicted.legacy()
    result: dict[str, Any] = {
        "metric": spec.name,
        "greater_is_better": spec.maximize,
        "split": split,
        "folds": folds,
        "cv_scores": [round(s, 6) for s in cv_scores],
        "holdout_score": round(holdout, 6),
        "holdout_rows": int(len(hold)),
        "trivial_baseline": round(_trivial(spec, y_dev, y_hold, len(classes), grade), 6),
        "classes": [str(c) for c in classes],
        "near_perfect": _near_perfect(kind, y_hold, predicted, len(classes), grade),
        "holdout_truth": y_hold.tolist(),
        "holdout_pred": [float(v) for v in hold_pred],
    }
    if kind == "classification" and len(classes) == 2:
        code = class_order(classes, positive)[1]
        result.update(calibration((y_hold == code).astype(int), predicted.as_input("probability")[:, code]))
        result["positive_class"] = str(classes[code])
    if sensitive:
        result["slices"], result["slice_gap"] = slices(hold, sensitive, spec, y_hold, predicted, grade)
    return result


def _trivial(spec: "MetricSpec", y_dev: "np.ndarray", y_hold: "np.ndarray", n_classes: int, grade: Any) -> float:
    """The metric of the best constant prediction learnt from the CV rows: the majority class, the
    class shares as probabilities, or the best of the mean, the median and (logs) the geometric
    mean of the values."""
    import numpy as np

    from loom.adapters.mlops.metaflow.lifecycle.analysis.predictors import Predicted

    n = len(y_hold)
    if spec.task_type == "classification":
        shares = np.bincount(y_dev, minlength=n_classes) / len(y_dev)
        guesses = [Predicted(labels=np.full(n, int(shares.argmax())), proba=np.tile(shares, (n, 1)))]
    else:
        constants = [float(np.mean(y_dev)), float(np.median(y_dev))]
        if (y_dev > -1).all():
            constants.append(float(np.expm1(np.mean(np.log1p(y_dev)))))
        guesses = [Predicted(values=np.full(n, c)) for c in constants]
    scores = [s for s in (grade(spec, y_hold, g) for g in guesses) if s == s]
    if not scores:
        return float("nan")
    return max(scores) if spec.maximize else min(scores)


def _near_perfect(kind: str, y: "np.ndarray", pred: Any, n_classes: int, grade: Any) -> bool:
    """Near-perfect on the holdout whatever the metric: ROC-AUC (binary) or accuracy, or R² >= SUSPICIOUS_SCORE."""
    from loom.domain.metrics import MetricSpec

    if kind == "regression":
        value = grade(MetricSpec("r2", True), y, pred)
    else:
        value = grade(MetricSpec(*metric_for(kind, n_classes)), y, pred)
    return value == value and value >= SUSPICIOUS_SCORE


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
    hold: "pd.DataFrame", column: str, spec: "MetricSpec", y: "np.ndarray", pred: Any, grade: Any,
    min_rows: int = 20,
) -> tuple[list[dict[str, Any]], float | None]:
    from loom.domain.errors import UsageError

    if column not in hold.columns:
        raise UsageError(f"--sensitive column '{column}' is not in the dataset")
    values = hold[column].astype("string").fillna("<missing>")
    metric = spec.name
    out = []
    for value in values.value_counts().head(12).index:
        mask = (values == value).to_numpy()
        n = int(mask.sum())
        s = grade(spec, y[mask], pred.rows(mask)) if n >= 2 else float("nan")
        out.append({"slice": str(value), "rows": n, metric: None if s != s else round(s, 6)})
    usable: list[float] = [float(row[metric]) for row in out  # type: ignore[arg-type]
                           if int(row["rows"]) >= min_rows and row[metric] is not None]  # type: ignore[call-overload]
    gap = round(max(usable) - min(usable), 6) if len(usable) >= 2 else None
    return out, gap
