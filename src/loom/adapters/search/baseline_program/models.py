"""Candidate part 3: the model families, with early stopping and a target transform.

`Model(family, params, data, cpus, seed)` fits preprocessing + estimator on some rows and gives
raw predictions: class probabilities (columns in `data.classes` order) or values. Gradient
boosting stops early on an inner split of the rows it is given; the refit on every row then uses
the mean best number of rounds found in the folds. Linear models pick their regularisation from a
small path by inner cross-validation.
"""

import numpy as np
import pandas as pd

from loom.adapters.search.baseline_program.features import categorical_positions, preprocessor

C_PATH = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
ALPHA_PATH = tuple(float(a) for a in np.logspace(-3, 3, 13))
SMALL_DATA = 200_000  # rows x columns under which one thread is fastest
FOREST_ROWS = 50_000  # rows each tree of a forest draws (bootstrap) on bigger data
STYLE = {"dummy": "tree", "linear": "linear", "svm": "linear", "random_forest": "tree", "extra_trees": "tree",
         "hist_gb": "tree", "lightgbm": "tree"}


def _threads(n):
    """Cap the BLAS / OpenMP pools at `n` threads for a block (a no-op without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(n)
    except Exception:  # noqa: BLE001
        import contextlib

        return contextlib.nullcontext()


def _inner_split(y, classify, seed, share=0.1):
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    strat = y if classify and y.value_counts().min() >= 2 else None
    try:
        return train_test_split(idx, test_size=share, random_state=seed, stratify=strat)
    except ValueError:
        return train_test_split(idx, test_size=share, random_state=seed)


def _logistic_path(Z, y, path, seed):
    """The C of the path with the lowest inner 3-fold log loss (warm-started along the path)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss
    from sklearn.model_selection import StratifiedKFold

    if pd.Series(y).value_counts().min() < 3:
        return path[len(path) // 2]
    losses = np.zeros(len(path))
    for tr, va in StratifiedKFold(3, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        model = LogisticRegression(max_iter=3000, warm_start=True)
        for i, C in enumerate(sorted(path)):
            model.set_params(C=C).fit(Z[tr], y[tr])
            losses[i] += log_loss(y[va], model.predict_proba(Z[va]), labels=model.classes_)
    return sorted(path)[int(np.argmin(losses))]


class Model:
    """One family with its parameters; `rounds` fixes the boosting rounds for a refit."""

    def __init__(self, family, params, data, cpus, seed, rounds=None):
        self.family, self.params, self.data = family, dict(params), data
        self.seed, self.rounds = seed, rounds
        # threads pay only on big data: on small data (and a busy machine) they only spin
        self.cpus = cpus if len(data.y) * max(1, len(data.used)) >= SMALL_DATA else 1
        self.best_rounds = None  # rounds early stopping chose on this fit
        self.log_target = not data.classify and self.params.pop("target", "none") == "log"

    # ---- fitting -----------------------------------------------------------------------
    def fit(self, X, y):
        d = self.data
        family = self.family
        if family == "lightgbm":
            try:
                import lightgbm  # noqa: F401
            except ImportError:
                print("lightgbm is not installed; using HistGradientBoosting instead")
                family = self.family = "hist_gb"
        forest = family in ("random_forest", "extra_trees", "svm")
        self.pre, n_cat = preprocessor({c: d.kinds[c] for c in d.used}, STYLE[family], self.seed, impute=forest)
        yy = np.log1p(y.clip(lower=0)) if self.log_target else y
        Z = self.pre.fit_transform(X[d.used], yy)
        cats = categorical_positions(self.pre, n_cat)
        with _threads(self.cpus):
            getattr(self, "_fit_" + family)(Z, yy, cats)
        return self

    def _fit_dummy(self, Z, y, cats):
        from sklearn.dummy import DummyClassifier, DummyRegressor

        self.model = (DummyClassifier(strategy="prior") if self.data.classify
                      else DummyRegressor(strategy="median" if _absolute(self.data) else "mean")).fit(Z, y)

    def _fit_linear(self, Z, y, cats):
        if self.data.classify:
            from sklearn.linear_model import LogisticRegression

            path = list(self.params.get("Cs", C_PATH))
            self.C = _logistic_path(Z, np.asarray(y), path, self.seed) if len(path) > 1 else path[0]
            self.model = LogisticRegression(C=self.C, max_iter=3000).fit(Z, y)
            return
        from sklearn.linear_model import Ridge, RidgeCV

        alphas = list(self.params.get("alphas", ALPHA_PATH))
        if Z.shape[0] <= 20000:
            self.model = RidgeCV(alphas=alphas).fit(Z, y)
        else:
            from sklearn.model_selection import GridSearchCV

            self.model = GridSearchCV(Ridge(), {"alpha": alphas}, cv=3, n_jobs=1).fit(Z, y)

    def _fit_svm(self, Z, y, cats):
        from sklearn.svm import SVC, SVR

        C = self.params.get("C", 1.0)
        if self.data.classify:
            self.model = SVC(C=C, gamma="scale", probability=True, random_state=self.seed).fit(Z, y)
        else:  # on the standardised target, so that C and epsilon mean the same for any scale
            y = np.asarray(y, dtype=float)
            self.y_scale = (float(np.mean(y)), float(np.std(y)) or 1.0)
            self.model = SVR(C=C, epsilon=self.params.get("epsilon", 0.1)).fit(Z, (y - self.y_scale[0]) / self.y_scale[1])

    def _forest(self, Z, y, extra):
        from sklearn import ensemble

        name = ("ExtraTrees" if extra else "RandomForest") + ("Classifier" if self.data.classify else "Regressor")
        params = {"n_estimators": 300, **self.params}
        if not self.data.classify and "max_features" not in params:
            params["max_features"] = 0.5
        if Z.shape[0] > FOREST_ROWS and "max_samples" not in params:  # fully grown trees cost n log n each
            params.update(bootstrap=True, max_samples=FOREST_ROWS)
        self.model = getattr(ensemble, name)(random_state=self.seed, n_jobs=self.cpus, **params).fit(Z, y)

    def _fit_random_forest(self, Z, y, cats):
        self._forest(Z, y, extra=False)

    def _fit_extra_trees(self, Z, y, cats):
        self._forest(Z, y, extra=True)

    def _fit_hist_gb(self, Z, y, cats):
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        cls = HistGradientBoostingClassifier if self.data.classify else HistGradientBoostingRegressor
        params = {"learning_rate": 0.05, "max_leaf_nodes": 31, "l2_regularization": 0.0, **self.params}
        params.pop("n_estimators", None)
        if _absolute(self.data):
            params.setdefault("loss", "absolute_error")
        mask = np.zeros(Z.shape[1], dtype=bool)
        mask[cats] = True
        if self.rounds:
            model = cls(max_iter=self.rounds, early_stopping=False, categorical_features=mask if cats else None,
                        random_state=self.seed, **params)
        else:
            model = cls(max_iter=params.pop("max_iter", 1000), early_stopping=True, validation_fraction=0.1,
                        n_iter_no_change=30, categorical_features=mask if cats else None, random_state=self.seed,
                        **params)
        self.model = model.fit(Z, y)
        self.best_rounds = int(self.model.n_iter_)

    def _fit_lightgbm(self, Z, y, cats):
        import lightgbm as lgb

        cls = lgb.LGBMClassifier if self.data.classify else lgb.LGBMRegressor
        params = {"learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 20, "subsample": 0.8,
                  "subsample_freq": 1, "colsample_bytree": 0.8, **self.params}
        params.pop("max_iter", None)
        if _absolute(self.data):
            params.setdefault("objective", "l1")  # early stopping then watches l1 too
        cat = cats or "auto"
        if self.rounds:
            params["n_estimators"] = self.rounds
            self.model = cls(random_state=self.seed, verbose=-1, n_jobs=self.cpus, **params).fit(Z, y, categorical_feature=cat)
            return
        params["n_estimators"] = params.get("n_estimators", 2000)
        fit_idx, stop_idx = _inner_split(pd.Series(np.asarray(y)), self.data.classify, self.seed)
        Zf, Zs = Z[fit_idx], Z[stop_idx]
        yf, ys = np.asarray(y)[fit_idx], np.asarray(y)[stop_idx]
        self.model = cls(random_state=self.seed, verbose=-1, n_jobs=self.cpus, **params).fit(
            Zf, yf, eval_set=[(Zs, ys)], categorical_feature=cat,
            callbacks=[lgb.early_stopping(50, verbose=False)])
        self.best_rounds = int(self.model.best_iteration_ or params["n_estimators"])

    # ---- predicting --------------------------------------------------------------------
    def predict_raw(self, X):
        """Class probabilities (n x classes, in data.classes order) or predicted values."""
        Z = self.pre.transform(X[self.data.used])
        with _threads(self.cpus):
            if not self.data.classify:
                pred = np.asarray(self.model.predict(Z), dtype=float)
                if getattr(self, "y_scale", None):
                    pred = pred * self.y_scale[1] + self.y_scale[0]
                return np.expm1(pred) if self.log_target else pred
            proba = np.asarray(self.model.predict_proba(Z), dtype=float)
        labels = [str(c) for c in self.model.classes_]
        frame = pd.DataFrame(proba, columns=labels).reindex(columns=self.data.classes, fill_value=0.0)
        return frame.to_numpy()


def _absolute(data):
    """An absolute-error metric (MAE, MedAE): the boosted trees fit it (the median, not the mean)."""
    return not data.classify and data.metric in ("mae", "medae")
