"""Candidate part 4: the run's metric on raw predictions, the submission's form, the CV folds.

`output(raw, data)` is what the submission holds for the metric: values, the positive-class
probability, one probability column per class, or labels. `evaluate(y, raw, data)` scores raw
predictions with the run's metric exactly (an unknown metric is an error, never a stand-in).
A binary label metric that depends on where probabilities are cut (F1, F2, F0.5, MCC, balanced
accuracy) gets its decision threshold from out-of-fold predictions (`best_threshold`), not a fixed 0.5:
with a rare positive class, 0.5 may never predict it at all.
Folds: stratified for classification, time-ordered when the rows are, repeated on small data.
"""

import numpy as np
import pandas as pd
from sklearn import metrics

PROBA = ("roc_auc", "pr_auc", "gini", "log_loss", "brier")
#: Value metrics that never gain from a negative prediction of a non-negative target (clipped at 0).
NONNEGATIVE = ("rmsle", "msle", "smape")
#: Binary label metrics whose best cut of the positive-class probability is rarely 0.5.
THRESHOLDED = ("f1", "f2", "f0_5", "mcc", "balanced_accuracy", "f1_macro", "f1_weighted")
#: F-beta metrics -> beta.
BETAS = {"f2": 2.0, "f0_5": 0.5}


def thresholded(data):
    """True when this run's labels come from a tuned cut of the positive-class probability."""
    return data.classify and data.binary and data.metric in THRESHOLDED


def best_threshold(y, raw, data):
    """The cut of the positive-class probability that scores best on (y, raw): out-of-fold rows.

    Candidates: 0.5 and the 1st..99th percentiles of the probabilities, all scored at once from the
    confusion counts at each cut; ties go to the cut nearest 0.5.
    """
    p = np.asarray(raw, dtype=float)[:, data.classes.index(data.positive)]
    truth = (pd.Series(np.asarray(y), dtype=object) == data.positive).to_numpy()
    if len(p) == 0 or truth.all() or not truth.any():
        return 0.5
    cuts = np.unique(np.concatenate([[0.5], np.quantile(p, np.linspace(0.01, 0.99, 99))]))
    order = np.sort(p)
    above = len(p) - np.searchsorted(order, cuts, side="left")  # rows predicted positive at each cut
    hits = np.concatenate([[0], np.cumsum(truth[np.argsort(-p, kind="stable")])])
    tp = hits[above]  # the rows with p >= cut are the first `above` in descending order, ties included
    pos, neg = float(truth.sum()), float((~truth).sum())
    fp, fn = above - tp, pos - tp
    tn = neg - fp
    scores = _confusion_metric(data.metric, tp, fp, fn, tn, pos, neg)
    nearest = np.argsort(np.abs(cuts - 0.5), kind="stable")
    return float(cuts[nearest[np.argmax(scores[nearest])]])


def _confusion_metric(m, tp, fp, fn, tn, pos, neg):
    with np.errstate(divide="ignore", invalid="ignore"):
        f1_pos = np.nan_to_num(2 * tp / (2 * tp + fp + fn))
        f1_neg = np.nan_to_num(2 * tn / (2 * tn + fn + fp))
        if m == "f1":
            return f1_pos
        if m in BETAS:
            b2 = BETAS[m] ** 2
            return np.nan_to_num((1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp))
        if m == "f1_macro":
            return (f1_pos + f1_neg) / 2
        if m == "f1_weighted":
            return (pos * f1_pos + neg * f1_neg) / (pos + neg)
        if m == "balanced_accuracy":
            return (tp / pos + tn / neg) / 2
        return np.nan_to_num((tp * tn - fp * fn) / np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)))  # mcc


def output(raw, data, threshold=None):
    """The submission's prediction: an array (one value per row) or a frame (one column per class).

    Labels of a thresholded metric cut the positive-class probability at `threshold` (default: the
    one the candidate chose, `data.threshold`; none chosen yet: the most probable class)."""
    if threshold is None:
        threshold = getattr(data, "threshold", None)
    if not data.classify:
        return np.maximum(raw, 0.0) if data.metric in NONNEGATIVE and data.y.min() >= 0 else raw
    if data.metric in PROBA and data.binary:
        p = raw[:, data.classes.index(data.positive)]
        return np.clip(p, 0.0, 1.0) if data.metric == "brier" else p  # a blend may stray by one ulp
    if data.metric in PROBA and data.C.get("class_columns"):
        return pd.DataFrame(raw, columns=data.classes)
    if threshold is not None and thresholded(data):
        negative = next(c for c in data.classes if c != data.positive)
        p = np.asarray(raw, dtype=float)[:, data.classes.index(data.positive)]
        return np.where(p >= threshold, data.positive, negative).astype(object)
    return np.asarray(data.classes, dtype=object)[np.argmax(raw, axis=1)]


def _ovr(fn, y, P, classes):
    scores = [fn((y == c).to_numpy(), P[:, i]) for i, c in enumerate(classes) if 0 < (y == c).sum() < len(y)]
    return float(np.mean(scores))


def evaluate(y, raw, data, threshold=None):
    """The run's metric of raw predictions `raw` against the true values `y` (a Series);
    `threshold`: the cut of a thresholded metric (default: data.threshold, see `output`)."""
    m, y = data.metric, pd.Series(np.asarray(y), dtype=object if data.classify else float)
    if data.classify and m in PROBA:
        P = np.asarray(raw, dtype=float)
        if data.binary:
            p = P[:, data.classes.index(data.positive)]
            truth = (y == data.positive).to_numpy()
            if m == "roc_auc":
                return float(metrics.roc_auc_score(truth, p))
            if m == "gini":
                return float(2 * metrics.roc_auc_score(truth, p) - 1)
            if m == "pr_auc":
                return float(metrics.average_precision_score(truth, p))
            if m == "brier":
                return float(metrics.brier_score_loss(truth.astype(int), np.clip(p, 0.0, 1.0), pos_label=1))
            return float(metrics.log_loss(truth, p, labels=[False, True]))
        if m in ("gini", "brier"):
            raise ValueError(f"the metric {m!r} needs a binary target")
        if m == "log_loss":
            return float(metrics.log_loss(y, P, labels=data.classes))
        fn = metrics.roc_auc_score if m == "roc_auc" else metrics.average_precision_score
        return _ovr(fn, y, P, data.classes)
    if data.classify:
        pred = pd.Series(output(raw, data, threshold) if m not in PROBA
                         else np.asarray(data.classes, dtype=object)[np.argmax(raw, 1)])
        labels = {"accuracy": metrics.accuracy_score, "balanced_accuracy": metrics.balanced_accuracy_score,
                  "mcc": metrics.matthews_corrcoef, "error_rate": metrics.zero_one_loss}
        if m in labels:
            return float(labels[m](y, pred))
        if m == "f1":
            return float(metrics.f1_score(y, pred, pos_label=data.positive) if data.binary
                         else metrics.f1_score(y, pred, average="macro"))
        if m in BETAS:
            if not data.binary:
                raise ValueError(f"the metric {m!r} needs a binary target")
            return float(metrics.fbeta_score(y, pred, beta=BETAS[m], pos_label=data.positive, zero_division=0.0))
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
    if m == "medae":
        return float(metrics.median_absolute_error(truth, pred))
    if m == "r2":
        return float(metrics.r2_score(truth, pred))
    if m == "mape":
        return float(metrics.mean_absolute_percentage_error(truth, pred))
    if m == "smape":
        scale = (np.abs(truth) + np.abs(pred)) / 2
        return float(100 * np.mean(np.divide(np.abs(truth - pred), scale, out=np.zeros(len(truth)), where=scale > 0)))
    if m in ("rmsle", "msle"):
        msle = float(np.mean((np.log1p(np.maximum(pred, -0.999999)) - np.log1p(truth)) ** 2))
        return float(np.sqrt(msle)) if m == "rmsle" else msle
    if m == "explained_variance":
        return float(metrics.explained_variance_score(truth, pred))
    if m in ("pearson", "spearman"):
        if m == "spearman":  # average ranks of ties, as scipy's spearmanr
            truth, pred = pd.Series(truth).rank().to_numpy(), pd.Series(pred).rank().to_numpy()
        return correlation(truth, pred)
    raise ValueError(f"the baseline candidate cannot compute the metric {m!r}")


def correlation(a, b):
    """Pearson's r; 0 when either side is constant (a constant prediction ranks nothing)."""
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(np.clip(np.corrcoef(a, b)[0, 1], -1.0, 1.0))


def folds(data, k, repeats, seed):
    """[(train positions, validation positions)] over the training rows.

    Time-ordered rows: expanding windows (each fold validates on later rows than it trains on).
    Grouped rows (test.csv holds new groups): whole groups per fold, stratified for classes.
    Classification: stratified (k capped by the smallest class). Small data: `repeats` reshuffles.
    """
    from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold, TimeSeriesSplit

    n = len(data.y)
    order = data.time_order()
    if order is not None:
        splitter = TimeSeriesSplit(n_splits=max(2, min(k, n // 20 or 2)))
        return [(order[a], order[b]) for a, b in splitter.split(order)]
    out = []
    groups = getattr(data, "groups", None)
    if groups is not None and len(set(groups)) >= 4:
        kk = max(2, min(k, len(set(groups))))
        for r in range(max(1, repeats)):
            if data.classify and data.y.value_counts().min() >= kk:
                splitter = StratifiedGroupKFold(kk, shuffle=True, random_state=seed + r)
            else:
                splitter = GroupKFold(kk, shuffle=True, random_state=seed + r)
            out += list(splitter.split(np.zeros(n), data.y, groups))
        return out
    for r in range(max(1, repeats)):
        if data.classify and data.y.value_counts().min() >= 2:
            kk = max(2, min(k, int(data.y.value_counts().min())))
            splitter = StratifiedKFold(kk, shuffle=True, random_state=seed + r)
            out += list(splitter.split(np.zeros(n), data.y))
        else:
            out += list(KFold(max(2, min(k, n)), shuffle=True, random_state=seed + r).split(np.zeros(n)))
    return out
