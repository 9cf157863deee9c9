"""Heads on pooled entity embeddings: the sealed split, the raw-feature baseline, the metric.

finetune = a head for the entity label (logistic regression, or ridge for a numeric label);
evaluate = the metric on a sealed split (entities hashed, never seen by the head) for the
backbone head and for the same head on raw per-entity aggregates; the lift is their difference
(positive = the backbone helps).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loom.domain.errors import UsageError
from loom.domain.wording import with_article

#: metric -> higher is better
METRICS = {"roc_auc": True, "gini": True, "accuracy": True, "error_rate": False, "f1": True, "f2": True,
           "f0_5": True, "log_loss": False, "brier": False, "rmse": False, "mae": False, "medae": False,
           "smape": False, "msle": False, "r2": True, "explained_variance": True, "pearson": True,
           "spearman": True}
REGRESSION_METRICS = ("rmse", "mae", "medae", "smape", "msle", "r2", "explained_variance", "pearson", "spearman")
#: Metrics of the positive class of a binary label -> what a multiclass label takes instead.
BINARY_ONLY = {"gini": "roc_auc", "brier": "log_loss", "f2": "f1", "f0_5": "f1"}
BETAS = {"f2": 2.0, "f0_5": 0.5}


@dataclass(frozen=True)
class LabelTask:
    kind: str  # "binary" | "multiclass" | "regression"
    metric: str
    y: Any  # per-entity label (encoded for classification), NaN/None rows masked out
    known: Any  # bool mask of entities with a label
    classes: tuple[str, ...] = ()


def label_task(labels: Any, metric: str | None) -> LabelTask:
    import numpy as np
    import pandas as pd

    s = pd.Series(labels)
    known = s.notna().to_numpy()
    if not known.any():
        raise UsageError("the dataset's target column has no values; finetune/evaluate need a label")
    numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
    nunique = s[known].nunique()
    if numeric and nunique > 10:
        kind, y, classes = "regression", pd.to_numeric(s, errors="coerce").to_numpy(float), ()
    else:
        cats = sorted(str(v) for v in s[known].unique())
        if len(cats) < 2:
            raise UsageError("the label has a single class; nothing to learn")
        lookup = {c: i for i, c in enumerate(cats)}
        y = np.array([lookup.get(str(v), -1) if k else -1 for v, k in zip(s, known)])
        kind, classes = ("binary" if len(cats) == 2 else "multiclass"), tuple(cats)
    default = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "rmse"}[kind]
    metric = (metric or default).lower()
    if metric not in METRICS:
        raise UsageError(f"unknown metric '{metric}'; valid: {', '.join(METRICS)}")
    if (kind == "regression") != (metric in REGRESSION_METRICS):
        raise UsageError(f"metric '{metric}' does not fit {with_article(kind)} label")
    if kind == "multiclass" and metric in BINARY_ONLY:
        raise UsageError(f"metric '{metric}' needs a binary label; this one has {len(classes)} classes: "
                         f"use --metric {BINARY_ONLY[metric]}")
    if metric == "msle" and np.nanmin(y) <= -1:
        raise UsageError(f"metric 'msle' needs labels above -1 (log(1 + y)); this one goes down to {np.nanmin(y):g}")
    return LabelTask(kind=kind, metric=metric, y=y, known=known, classes=classes)


def sealed_mask(entity_ids: Any, fraction: float, seed: int) -> Any:
    """True for entities in the sealed split: a stable hash of the id (order-independent)."""
    import numpy as np
    import pandas as pd

    h = pd.util.hash_pandas_object(pd.Series(entity_ids).astype(str), index=False,
                                   hash_key=f"loom{seed:012d}"[:16]).to_numpy()
    return (h % np.uint64(10_000)).astype(np.float64) / 10_000.0 < fraction


def fit_head(x: Any, task: LabelTask, rows: Any, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if task.kind == "regression":
        model = make_pipeline(StandardScaler(), Ridge(alpha=1.0))
    else:
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, C=1.0, random_state=seed))
    model.fit(x[rows], task.y[rows])
    return model


def score(model: Any, x: Any, task: LabelTask, rows: Any) -> float:
    import numpy as np
    import pandas as pd
    from sklearn import metrics as m

    y = task.y[rows]
    if task.kind == "regression":
        p = model.predict(x[rows])
        if task.metric == "msle":  # a ridge head may go below 0 (or -1): a non-negative label never needs it
            p = np.maximum(p, 0.0 if y.min() >= 0 else -0.999999)
        return float({"rmse": lambda: np.sqrt(m.mean_squared_error(y, p)),
                      "mae": lambda: m.mean_absolute_error(y, p),
                      "medae": lambda: m.median_absolute_error(y, p),
                      "smape": lambda: _smape(y, p),
                      "msle": lambda: m.mean_squared_log_error(y, p),
                      "r2": lambda: m.r2_score(y, p),
                      "explained_variance": lambda: m.explained_variance_score(y, p),
                      "pearson": lambda: _correlation(y, p),
                      "spearman": lambda: _correlation(*(pd.Series(v).rank().to_numpy() for v in (y, p)))}
                     [task.metric]())
    proba = model.predict_proba(x[rows])
    labels = list(model.classes_)
    if task.metric in ("roc_auc", "gini"):
        if len(set(y.tolist())) < 2:
            return float("nan")
        if task.kind == "binary":
            auc = float(m.roc_auc_score(y, proba[:, 1]))
            return 2 * auc - 1 if task.metric == "gini" else auc
        return float(m.roc_auc_score(y, proba, multi_class="ovr", labels=labels))
    if task.metric == "log_loss":
        return float(m.log_loss(y, proba, labels=labels))
    if task.metric == "brier":
        return float(m.brier_score_loss((y == labels[1]).astype(int), proba[:, 1], pos_label=1))
    pred = np.asarray(labels)[proba.argmax(axis=1)]
    if task.metric == "f1":
        return float(m.f1_score(y, pred, average="binary" if task.kind == "binary" else "macro"))
    if task.metric in BETAS:
        return float(m.fbeta_score(y, pred, beta=BETAS[task.metric], zero_division=0.0))
    if task.metric == "error_rate":
        return float(m.zero_one_loss(y, pred))
    return float(m.accuracy_score(y, pred))


def _correlation(a: Any, b: Any) -> float:
    """Pearson's r; 0 when either side is constant."""
    import numpy as np

    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(np.clip(np.corrcoef(a, b)[0, 1], -1.0, 1.0))


def _smape(y: Any, p: Any) -> float:
    """Symmetric MAPE in percent: 100 * mean(|y - p| / ((|y| + |p|) / 2)), 0 where y = p = 0."""
    import numpy as np

    scale = (np.abs(y) + np.abs(p)) / 2
    return float(100 * np.mean(np.divide(np.abs(y - p), scale, out=np.zeros(len(y)), where=scale > 0)))


def raw_features(df: Any, entity: Any, n_entities: int, fields: tuple[str, ...]) -> Any:
    """The baseline: per entity, log event count, numeric means, categorical frequencies.

    `entity` is the entity code of each row of `df` (any row order: only sums are taken)."""
    import numpy as np
    import pandas as pd

    counts = np.bincount(entity, minlength=n_entities).astype(np.float64)
    cols = [np.log1p(counts)]
    safe = np.maximum(counts, 1)
    for name in fields:
        s = df[name]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            x = pd.to_numeric(s, errors="coerce").to_numpy(float)
            ok = np.isfinite(x)
            total = np.bincount(entity[ok], weights=x[ok], minlength=n_entities)
            seen = np.maximum(np.bincount(entity[ok], minlength=n_entities), 1)
            cols.append(total / seen)
            continue
        codes, uniques = pd.factorize(s, sort=True)
        if len(uniques) > 50:
            continue  # high-cardinality: no one-hot in the baseline
        ok = codes >= 0
        freq = np.bincount(entity[ok] * len(uniques) + codes[ok],
                           minlength=n_entities * len(uniques)).reshape(n_entities, len(uniques))
        cols.extend((freq / safe[:, None]).T)
    return np.column_stack(cols)


def lift(metric: str, backbone: float, baseline: float) -> float:
    """Positive when the backbone head beats the baseline (for any metric direction)."""
    diff = backbone - baseline
    return round(diff if METRICS[metric] else -diff, 6)
