"""What the warm interpreter (warm.py, zygote.py) loads before forking candidates.

PRELOAD: the modules candidates import most, imported if the interpreter has them (a missing one
is simply not warm). WARMUP: Loom's own code, run once after the imports, so that what a typical
candidate does first (read a CSV, split stratified, fit and score a pipeline) finds its lazy
imports and first-call set-up already done.
"""

from __future__ import annotations

#: What the zygote imports (whatever of it the interpreter has): the stack candidates use most.
PRELOAD = ("numpy", "scipy", "scipy.sparse", "scipy.stats", "pandas", "sklearn", "sklearn.base",
           "sklearn.model_selection", "sklearn.metrics", "sklearn.preprocessing", "sklearn.pipeline",
           "sklearn.compose", "sklearn.impute", "sklearn.linear_model", "sklearn.ensemble", "sklearn.tree",
           "sklearn.neighbors", "sklearn.svm", "sklearn.feature_extraction.text", "sklearn.decomposition",
           "threadpoolctl", "lightgbm", "xgboost", "catboost")
#: Run once in the zygote after the imports, under warnings "ignore" (no trace in any warning registry),
#: with one thread: what a typical candidate does first, so the lazy imports and first-call set-up of
#: pandas and scikit-learn (narwhals, parsers, validation, joblib, ...) are paid once, not per candidate.
WARMUP = r"""
import io
import numpy as np
import pandas as pd
rng = np.random.RandomState(0)
text = "id,num,cat,y\n" + "".join(f"{i},{rng.rand():.3f},{'abc'[i % 3]},{i % 2}\n" for i in range(60))
frame = pd.read_csv(io.StringIO(text))
frame.describe(include="all"); frame.isna().sum(); frame.groupby("cat")["num"].mean(); frame.to_csv(io.StringIO())
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, f1_score, log_loss, mean_squared_error, r2_score, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
X, y = frame[["num", "cat"]], frame["y"]
prep = ColumnTransformer([("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), ["num"]),
                          ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                                OneHotEncoder(handle_unknown="ignore")), ["cat"])])
X_fit, X_val, y_fit, y_val = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
model = make_pipeline(prep, LogisticRegression(max_iter=200)).fit(X_fit, y_fit)
proba = model.predict_proba(X_val)[:, 1]
accuracy_score(y_val, proba > 0.5); f1_score(y_val, proba > 0.5); roc_auc_score(y_val, proba); log_loss(y_val, proba)
mean_squared_error(y_val, proba); r2_score(y_val, proba)
cross_val_score(make_pipeline(prep, Ridge()), X, y.astype(float), cv=KFold(3), n_jobs=1)
StratifiedKFold(3).split(X, y)
codes = OrdinalEncoder().fit_transform(X[["cat"]])
RandomForestClassifier(n_estimators=3, n_jobs=1, random_state=0).fit(codes, y)
HistGradientBoostingClassifier(max_iter=3).fit(codes, y)
try:
    import lightgbm
    lightgbm.LGBMClassifier(n_estimators=3, n_jobs=1, verbose=-1).fit(codes, y)
except ImportError:
    pass
"""
