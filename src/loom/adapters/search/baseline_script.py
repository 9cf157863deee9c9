"""The candidate script the baseline brain writes: one fixed body, a JSON header per candidate.

The script is self-contained (pandas + scikit-learn, LightGBM when importable): it reads
./input, validates on a stratified 80/20 split with the run's metric, prints
`Validation metric (<name>): <value>`, refits on all rows and writes
./working/submission.csv.
"""

from __future__ import annotations

import json
import pprint
from typing import Any

BODY = r'''
import warnings

warnings.filterwarnings("ignore")

import numpy as np
import pandas as pd
from sklearn import metrics
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

C = CANDIDATE
TARGET, ID, METRIC = C["target"], C["id_column"], C["metric"]
CLASSIFY = C["task_type"] == "classification"
SEED = C["seed"]

train = pd.read_csv("./input/train.csv")
test = pd.read_csv("./input/test.csv")
features = [c for c in train.columns if c not in (TARGET, ID)]
X, X_test = train[features], test.reindex(columns=features)
numeric = [c for c in features if pd.api.types.is_numeric_dtype(X[c])]
categorical = [c for c in features if c not in numeric and X[c].nunique() <= max(50, len(X) // 20)]
used = numeric + categorical

def _label(v):
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def _order(labels):
    try:
        return sorted(labels, key=float)
    except ValueError:
        return sorted(labels)


if CLASSIFY:
    y = train[TARGET].map(_label)
    classes = _order(y.unique())
    positive = next((c for w in ("1", "true", "yes", "y", "positive", "pos") for c in classes if c.lower() == w), classes[-1])
    binary = len(classes) == 2
else:
    y = train[TARGET].astype(float)


def preprocess(kind):
    if kind == "linear":
        num = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
        cat = make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore"))
    else:
        num = SimpleImputer(strategy="median", keep_empty_features=True) if kind == "impute" else "passthrough"
        cat = make_pipeline(
            SimpleImputer(strategy="constant", fill_value="missing"),
            OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1),
        )
    parts = [("num", num, numeric)] + ([("cat", cat, categorical)] if categorical else [])
    return ColumnTransformer(parts, remainder="drop")


def build(family, params):
    cat_mask = [False] * len(numeric) + [True] * len(categorical)
    if family == "dummy":
        from sklearn.dummy import DummyClassifier, DummyRegressor
        model = DummyClassifier(strategy="prior") if CLASSIFY else DummyRegressor(strategy="mean")
        return make_pipeline(preprocess("impute"), model)
    if family == "linear":
        from sklearn.linear_model import LogisticRegression, Ridge
        model = LogisticRegression(max_iter=2000, **params) if CLASSIFY else Ridge(**params)
        return make_pipeline(preprocess("linear"), model)
    if family == "random_forest":
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
        cls = RandomForestClassifier if CLASSIFY else RandomForestRegressor
        return make_pipeline(preprocess("impute"), cls(random_state=SEED, n_jobs=1, **params))
    if family == "lightgbm":
        try:
            import lightgbm as lgb
        except ImportError:
            print("lightgbm is not installed; using HistGradientBoosting instead")
        else:
            cls = lgb.LGBMClassifier if CLASSIFY else lgb.LGBMRegressor
            return make_pipeline(preprocess("raw"), cls(random_state=SEED, verbose=-1, n_jobs=1, **params))
        params = {"max_iter": params.get("n_estimators", 300), "learning_rate": params.get("learning_rate", 0.05)}
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    cls = HistGradientBoostingClassifier if CLASSIFY else HistGradientBoostingRegressor
    return make_pipeline(preprocess("raw"), cls(random_state=SEED, categorical_features=cat_mask or None, **params))


PROBA = METRIC in ("roc_auc", "pr_auc", "log_loss")


def predict(model, frame):
    """Values, labels, the positive-class probability (binary) or one probability per class."""
    if not CLASSIFY:
        pred = model.predict(frame)
        return np.maximum(pred, 0) if METRIC == "rmsle" and y.min() >= 0 else pred
    proba = model.predict_proba(frame)
    labels = list(model.classes_)
    if PROBA:
        return proba[:, labels.index(positive)] if binary else pd.DataFrame(proba, columns=labels).reindex(columns=classes, fill_value=0.0)
    return np.asarray(labels, dtype=object)[proba.argmax(axis=1)]


def score(y_true, pred):
    if PROBA and not binary:
        P = pred.to_numpy()
        if METRIC == "log_loss":
            return metrics.log_loss(y_true, P, labels=classes)
        onehot = [(y_true == c).to_numpy() for c in classes]
        fn = metrics.roc_auc_score if METRIC == "roc_auc" else metrics.average_precision_score
        return float(np.mean([fn(t, P[:, i]) for i, t in enumerate(onehot) if 0 < t.sum() < len(t)]))
    if METRIC == "roc_auc":
        return metrics.roc_auc_score(y_true == positive, pred)
    if METRIC == "pr_auc":
        return metrics.average_precision_score(y_true == positive, pred)
    if METRIC == "log_loss":
        return metrics.log_loss(y_true == positive, pred, labels=[False, True])
    simple = {"accuracy": metrics.accuracy_score, "balanced_accuracy": metrics.balanced_accuracy_score,
              "mcc": metrics.matthews_corrcoef, "mse": metrics.mean_squared_error, "mae": metrics.mean_absolute_error,
              "mape": metrics.mean_absolute_percentage_error, "r2": metrics.r2_score}
    if METRIC in simple:
        return simple[METRIC](y_true, pred)
    if METRIC == "f1":
        return metrics.f1_score(y_true, pred, pos_label=positive)
    if METRIC.startswith("f1_"):
        return metrics.f1_score(y_true, pred, average=METRIC[3:])
    if METRIC == "qwk":
        return metrics.cohen_kappa_score(y_true, pred, weights="quadratic", labels=classes)
    if METRIC == "rmsle":
        return float(np.sqrt(np.mean((np.log1p(np.maximum(pred, -0.999999)) - np.log1p(y_true)) ** 2)))
    return float(np.sqrt(metrics.mean_squared_error(y_true, pred)))


X_fit, X_val, y_fit, y_val = train_test_split(
    X[used], y, test_size=0.2, random_state=SEED, stratify=y if CLASSIFY else None
)
model = build(C["family"], C["params"])
model.fit(X_fit, y_fit)
print(f"Validation metric ({METRIC}): {score(y_val, predict(model, X_val)):.6f}")

model = build(C["family"], C["params"])
model.fit(X[used], y)
pred = predict(model, X_test[used])
if isinstance(pred, pd.DataFrame):
    out = pd.concat([test[[ID]].reset_index(drop=True), pred.reset_index(drop=True)], axis=1)
else:
    out = pd.DataFrame({ID: test[ID], TARGET: pred})
out.to_csv("./working/submission.csv", index=False)
print(f"wrote ./working/submission.csv ({len(out)} rows)")
'''


def render(candidate: dict[str, Any]) -> str:
    """The full script for one candidate (`candidate` becomes the CANDIDATE literal)."""
    header = (
        f'"""Loom baseline candidate: {candidate["family"]} {json.dumps(candidate["params"])}."""\n\n'
        f"CANDIDATE = {pprint.pformat(candidate, sort_dicts=True)}\n"
    )
    return header + BODY
