"""Candidate part 4: the run's metric on raw predictions, the submission's form, the CV folds.

`output(raw, data)` is what the submission holds for the metric: values, the positive-class
probability, one probability column per class, or labels. `evaluate(y, raw, data)` scores raw
predictions with the run's metric exactly (an unknown metric is an error, never a stand-in).
Folds: stratified for classification, time-ordered when the rows are, repeated on small data.
"""

import numpy as np
import pandas as pd
from sklearn import metrics

PROBA = ("roc_auc", "pr_auc", "log_loss")


def output(raw, data):
    """The submission's prediction: an array (one value per row) or a frame (one column per class)."""
    if not data.classify:
        return np.maximum(raw, 0.0) if data.metric == "rmsle" and data.y.min() >= 0 else raw
    if data.metric in PROBA and data.binary:
        return raw[:, data.classes.index(data.positive)]
    if data.metric in PROBA and data.C.get("class_columns"):
        return pd.DataFrame(raw, columns=data.classes)
    return np.asarray(data.classes, dtype=object)[np.argmax(raw, axis=1)]


def _ovr(fn, y, P, classes):
    scores = [fn((y == c).to_numpy(), P[:, i]) for i, c in enumerate(classes) if 0 < (y == c).sum() < len(y)]
    return float(np.mean(scores))


def evaluate(y, raw, data):
    """The run's metric of raw predictions `raw` against the true values `y` (a Series)."""
    m, y = data.metric, pd.Series(np.asarray(y), dtype=object if data.classify else float)
    if data.classify and m in PROBA:
        P = np.asarray(raw, dtype=float)
        if data.binary:
            p = P[:, data.classes.index(data.positive)]
            truth = (y == data.positive).to_numpy()
            if m == "roc_auc":
                return float(metrics.roc_auc_score(truth, p))
            if m == "pr_auc":
                return float(metrics.average_precision_score(truth, p))
            return float(metrics.log_loss(truth, p, labels=[False, True]))
        if m == "log_loss":
            return float(metrics.log_loss(y, P, labels=data.classes))
        fn = metrics.roc_auc_score if m == "roc_auc" else metrics.average_precision_score
        return _ovr(fn, y, P, data.classes)
    if data.classify:
        pred = pd.Series(output(raw, data) if m not in PROBA else np.asarray(data.classes, dtype=object)[np.argmax(raw, 1)])
        labels = {"accuracy": metrics.accuracy_score, "balanced_accuracy": metrics.balanced_accuracy_score,
                  "mcc": metrics.matthews_corrcoef}
        if m in labels:
            return float(labels[m](y, pred))
        if m == "f1":
            return float(metrics.f1_score(y, pred, pos_label=data.positive) if data.binary
                         else metrics.f1_score(y, pred, average="macro"))
        if m in ("f1_macro", "f1_micro", "f1_weighted"):
            return float(metrics.f1_score(y, pred, average=m[3:]))
        if m == "qwk":
            return float(metrics.cohen_kappa_score(y, pred, weights="quadratic", labels=data.classes))
        raise ValueError(f"the baseline candidate cannot compute the metric {m!r}")
    pred = np.asarray(output(raw, data), dtype=float)
    truth = y.to_numpy(dtype=float)
    if m == "rmse":
        return float(np.sqrt(metrics.mean_squared_error(truth, pred)))
    if m == "mse":
        return float(metrics.mean_squared_error(truth, pred))
    if m == "mae":
        return float(metrics.mean_absolute_error(truth, pred))
    if m == "r2":
        return float(metrics.r2_score(truth, pred))
    if m == "mape":
        return float(metrics.mean_absolute_percentage_error(truth, pred))
    if m == "rmsle":
        return float(np.sqrt(np.mean((np.log1p(np.maximum(pred, -0.999999)) - np.log1p(truth)) ** 2)))
    raise ValueError(f"the baseline candidate cannot compute the metric {m!r}")


def folds(data, k, repeats, seed):
    """[(train positions, validation positions)] over the training rows.

    Time-ordered rows: expanding windows (each fold validates on later rows than it trains on).
    Classification: stratified (k capped by the smallest class). Small data: `repeats` reshuffles.
    """
    from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit

    n = len(data.y)
    order = data.time_order()
    if order is not None:
        splitter = TimeSeriesSplit(n_splits=max(2, min(k, n // 20 or 2)))
        return [(order[a], order[b]) for a, b in splitter.split(order)]
    out = []
    for r in range(max(1, repeats)):
        if data.classify and data.y.value_counts().min() >= 2:
            kk = max(2, min(k, int(data.y.value_counts().min())))
            splitter = StratifiedKFold(kk, shuffle=True, random_state=seed + r)
            out += list(splitter.split(np.zeros(n), data.y))
        else:
            out += list(KFold(max(2, min(k, n)), shuffle=True, random_state=seed + r).split(np.zeros(n)))
    return out
