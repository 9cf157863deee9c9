"""The catalog's metrics, computed with numpy over row weights (scikit-learn's definitions).

A `Scorer` holds one set of (truth, prediction) rows, prepared once (codes, sort orders), and
evaluates its metric for any vector of row weights: all ones is the score, bootstrap counts are
one resample (no re-sorting, O(rows) per resample). Each metric equals scikit-learn's function
with `sample_weight` (tests/unit/test_evaluation_metrics.py checks them against it); where
scikit-learn would refuse, Loom says what it does instead:
- multiclass ROC-AUC / PR-AUC: one-vs-rest, the macro mean over the classes present in the rows;
- multiclass log loss: rows are rescaled to sum to 1 before clipping;
- QWK: quadratic weights over the positions of the training data's ordered classes;
- normalized Gini and the Brier score: binary targets only (task preparation refuses others);
- SMAPE (no scikit-learn function): 100 * mean(|y - p| / ((|y| + |p|) / 2)), 0 where y = p = 0;
- MedAE with weights: scikit-learn's weighted median ("averaged inverted CDF", the median for
  unit weights);
- F2 / F0.5: scikit-learn's fbeta_score of the positive class (0 when nothing is, or is predicted,
  positive); binary targets only (task preparation refuses others);
- Pearson r with weights: the weighted covariance over the weighted standard deviations (for
  bootstrap counts, Pearson's r of the resample); 0 when the truth or the predictions are constant
  over the weighted rows (scikit-learn's `r_regression(force_finite=True)`; scipy says nan);
- Spearman rho with weights: Pearson's r of weighted mid-ranks (each value ranked at the weight
  below it plus half its tie group's weight): for bootstrap counts exactly Spearman's rho of the
  resample, ties averaged as scipy's `spearmanr` does;
- explained variance: scikit-learn's explained_variance_score (1 when truth and errors are both
  constant, 0 when only the truth is).
Nothing here imports scikit-learn: grading stays light in the Loom process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loom.domain.metrics import MetricSpec

if TYPE_CHECKING:
    import numpy as np


class ScoringError(ValueError):
    """The rows cannot be scored with the metric (one class only, non-positive values, ...)."""


class Scorer:
    """A metric over fixed rows, evaluated for any row weights (`scorer(w)`; `scorer()` = all ones).

    `truth` / `pred` by metric input:
    - value: float arrays;
    - label: int codes into the classes (unknown predicted labels get codes >= n_classes);
    - probability: truth int codes, pred an (n, n_classes) float matrix.
    """

    def __init__(self, spec: MetricSpec, truth: "np.ndarray", pred: "np.ndarray", *,
                 n_classes: int = 0, positive: int = 1) -> None:
        import numpy as np

        self.spec, self.name = spec, spec.name
        self.n = int(len(truth))
        if self.n == 0:
            raise ScoringError("no rows to score")
        self.n_classes, self.positive = n_classes, positive
        self._fn = getattr(self, "_" + self.name)
        kind = spec.info.input
        if kind == "value":
            self.y, self.p = np.asarray(truth, dtype=float), np.asarray(pred, dtype=float)
            if not (np.isfinite(self.y).all() and np.isfinite(self.p).all()):
                raise ScoringError("predictions or labels are not finite numbers")
            if self.name in ("rmsle", "msle") and (self.y.min() <= -1 or self.p.min() <= -1):
                raise ScoringError(f"{spec.label} needs predictions and labels above -1 (log(1 + x))")
            if self.name == "medae":
                errors = abs(self.y - self.p)
                self._order = np.argsort(errors, kind="mergesort")
                self._sorted_errors = errors[self._order]
            if self.name == "spearman":
                self._tie_groups = [_tie_groups(self.y), _tie_groups(self.p)]
        elif kind == "label":
            self.t, self.q = np.asarray(truth, dtype=np.int64), np.asarray(pred, dtype=np.int64)
            self.size = int(max(self.t.max(), self.q.max(), n_classes - 1)) + 1
            if self.name in ("f2", "f0_5") and n_classes > 2:
                raise ScoringError(f"{spec.label} needs a binary target (the positive class's precision and recall)")
            if self.name == "qwk" and self.q.max() >= n_classes:
                raise ScoringError("quadratic weighted kappa needs every predicted label to be a known class")
        else:
            self.t = np.asarray(truth, dtype=np.int64)
            self.P = self._probabilities(np.asarray(pred, dtype=float))
            if self.name in ("gini", "brier") and self.P.shape[1] != 2:
                raise ScoringError(f"{spec.label} needs a binary target (one positive-class probability per row)")
            if self.name == "brier" and not ((self.P[:, positive] >= 0).all() and (self.P[:, positive] <= 1).all()):
                raise ScoringError("the Brier score needs probabilities between 0 and 1")
            self._prepare_ranks()

    def __call__(self, weights: "np.ndarray | None" = None) -> float:
        import numpy as np

        w = np.ones(self.n) if weights is None else np.asarray(weights, dtype=float)
        if not w.sum() > 0:
            raise ScoringError("no rows to score")
        return float(self._fn(w))

    # ---- values ------------------------------------------------------------------------------
    def _mse(self, w: "np.ndarray") -> float:
        e = self.y - self.p
        return float((w * e * e).sum() / w.sum())

    def _rmse(self, w: "np.ndarray") -> float:
        return self._mse(w) ** 0.5

    def _mae(self, w: "np.ndarray") -> float:
        return float((w * abs(self.y - self.p)).sum() / w.sum())

    def _medae(self, w: "np.ndarray") -> float:
        """scikit-learn's weighted median (`_weighted_percentile(..., average=True)`): the first
        sorted error where the weight reaches half the total; the mean of it and the next error of
        positive weight when it reaches exactly half (unit weights: np.median)."""
        import numpy as np

        cdf = np.cumsum(w[self._order])
        half = 0.5 * cdf[-1]
        last = len(cdf) - 1
        i = min(int(np.searchsorted(cdf, half)), last)
        if cdf[i] - half > np.finfo(np.float64).eps:
            return float(self._sorted_errors[i])
        j = int(np.searchsorted(cdf, cdf[i], side="right"))
        j = i if j > last else j
        return float((self._sorted_errors[i] + self._sorted_errors[j]) / 2)

    def _msle(self, w: "np.ndarray") -> float:
        import numpy as np

        e = np.log1p(self.p) - np.log1p(self.y)
        return float((w * e * e).sum() / w.sum())

    def _rmsle(self, w: "np.ndarray") -> float:
        return self._msle(w) ** 0.5

    def _mape(self, w: "np.ndarray") -> float:
        import numpy as np

        eps = np.finfo(np.float64).eps  # as scikit-learn: a zero truth divides by eps
        return float((w * abs(self.y - self.p) / np.maximum(abs(self.y), eps)).sum() / w.sum())

    def _smape(self, w: "np.ndarray") -> float:
        import numpy as np

        scale = (abs(self.y) + abs(self.p)) / 2
        share = np.divide(abs(self.y - self.p), scale, out=np.zeros(self.n), where=scale > 0)
        return float(100.0 * (w * share).sum() / w.sum())

    def _r2(self, w: "np.ndarray") -> float:
        mean = (w * self.y).sum() / w.sum()
        ss_res = (w * (self.y - self.p) ** 2).sum()
        ss_tot = (w * (self.y - mean) ** 2).sum()
        if ss_tot == 0:
            return 1.0 if ss_res == 0 else 0.0  # scikit-learn's force_finite
        return float(1.0 - ss_res / ss_tot)

    def _explained_variance(self, w: "np.ndarray") -> float:
        total = w.sum()
        e = self.y - self.p
        var_e = (w * (e - (w * e).sum() / total) ** 2).sum() / total
        var_y = (w * (self.y - (w * self.y).sum() / total) ** 2).sum() / total
        if var_y == 0:
            return 1.0 if var_e == 0 else 0.0  # scikit-learn's force_finite
        return float(1.0 - var_e / var_y)

    def _pearson(self, w: "np.ndarray") -> float:
        return _weighted_r(self.y, self.p, w)

    def _spearman(self, w: "np.ndarray") -> float:
        ranks = [_midranks(order, group, w) for order, group in self._tie_groups]
        return _weighted_r(ranks[0], ranks[1], w)

    # ---- labels ------------------------------------------------------------------------------
    def _confusion(self, w: "np.ndarray") -> "np.ndarray":
        import numpy as np

        k = self.size
        return np.bincount(self.t * k + self.q, weights=w, minlength=k * k).reshape(k, k)

    def _accuracy(self, w: "np.ndarray") -> float:
        c = self._confusion(w)
        return float(c.trace() / c.sum())

    def _error_rate(self, w: "np.ndarray") -> float:
        return 1.0 - self._accuracy(w)

    def _balanced_accuracy(self, w: "np.ndarray") -> float:
        import numpy as np

        c = self._confusion(w)
        rows = c.sum(axis=1)
        present = rows > 0
        return float(np.mean(c.diagonal()[present] / rows[present]))

    def _f1_parts(self, w: "np.ndarray") -> tuple["np.ndarray", "np.ndarray", "np.ndarray"]:
        import numpy as np

        c = self._confusion(w)
        tp, rows, cols = c.diagonal(), c.sum(axis=1), c.sum(axis=0)
        denom = rows + cols  # 2tp + fp + fn
        f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
        return f1, rows, denom > 0

    def _f1(self, w: "np.ndarray") -> float:
        return float(self._f1_parts(w)[0][self.positive])

    def _fbeta(self, w: "np.ndarray", beta: float) -> float:
        c = self._confusion(w)
        k, b2 = self.positive, beta * beta
        denom = b2 * c[k, :].sum() + c[:, k].sum()  # b² (tp + fn) + (tp + fp)
        return float((1 + b2) * c[k, k] / denom) if denom > 0 else 0.0

    def _f2(self, w: "np.ndarray") -> float:
        return self._fbeta(w, 2.0)

    def _f0_5(self, w: "np.ndarray") -> float:
        return self._fbeta(w, 0.5)

    def _f1_macro(self, w: "np.ndarray") -> float:
        f1, _, present = self._f1_parts(w)
        return float(f1[present].mean())

    def _f1_weighted(self, w: "np.ndarray") -> float:
        f1, rows, _ = self._f1_parts(w)
        return float((f1 * rows).sum() / rows.sum())

    def _f1_micro(self, w: "np.ndarray") -> float:
        c = self._confusion(w)  # single-label: pooled F1 over every label is the accuracy
        return float(c.trace() / c.sum())

    def _mcc(self, w: "np.ndarray") -> float:
        c = self._confusion(w)
        t, p, s = c.sum(axis=1), c.sum(axis=0), c.sum()
        cov_tp = c.trace() * s - (t * p).sum()
        cov_pp = s * s - (p * p).sum()
        cov_tt = s * s - (t * t).sum()
        if cov_pp * cov_tt == 0:
            return 0.0
        return float(cov_tp / (cov_tt * cov_pp) ** 0.5)

    def _qwk(self, w: "np.ndarray") -> float:
        import numpy as np

        k = self.n_classes
        c = self._confusion(w)[:k, :k]
        expected = np.outer(c.sum(axis=1), c.sum(axis=0)) / c.sum()
        idx = np.arange(k)
        weights = (idx[:, None] - idx[None, :]) ** 2
        denom = (weights * expected).sum()
        if denom == 0:
            raise ScoringError("quadratic weighted kappa is undefined when truth and predictions hold one class")
        return float(1.0 - (weights * c).sum() / denom)

    # ---- probabilities -----------------------------------------------------------------------
    def _probabilities(self, pred: "np.ndarray") -> "np.ndarray":
        import numpy as np

        if pred.ndim == 1:
            pred = np.column_stack([1.0 - pred, pred])
        if not np.isfinite(pred).all():
            raise ScoringError("probabilities are not finite numbers")
        return pred

    def _prepare_ranks(self) -> None:
        """Per class scored: the rows in score order and their tie groups (ROC-AUC, PR-AUC)."""
        import numpy as np

        k = self.P.shape[1]
        self.classes_scored = [self.positive] if k == 2 else list(range(k))
        self._ranks: dict[int, tuple[Any, Any, Any]] = {}
        if self.name not in ("roc_auc", "pr_auc", "gini"):
            return
        for c in self.classes_scored:
            s = self.P[:, c]
            order = np.argsort(s, kind="mergesort")
            sorted_s = s[order]
            group = np.concatenate([[0], np.cumsum(sorted_s[1:] != sorted_s[:-1])])
            self._ranks[c] = (order, group, (self.t[order] == c))

    def _per_class(self, w: "np.ndarray", one: Any) -> float:
        import numpy as np

        values = []
        for c in self.classes_scored:
            order, group, positive = self._ranks[c]
            ws = w[order]
            n_groups = int(group[-1]) + 1
            pos = np.bincount(group, weights=ws * positive, minlength=n_groups)
            neg = np.bincount(group, weights=ws * ~positive, minlength=n_groups)
            if pos.sum() > 0 and neg.sum() > 0:
                values.append(one(pos, neg))
        if not values:
            raise ScoringError(f"{self.spec.label} needs rows of more than one class")
        return float(np.mean(values))

    def _roc_auc(self, w: "np.ndarray") -> float:
        import numpy as np

        def auc(pos: "np.ndarray", neg: "np.ndarray") -> float:  # groups in ascending score
            below = np.cumsum(neg) - neg
            return float((pos * (below + 0.5 * neg)).sum() / (pos.sum() * neg.sum()))

        return self._per_class(w, auc)

    def _gini(self, w: "np.ndarray") -> float:
        return 2.0 * self._roc_auc(w) - 1.0

    def _brier(self, w: "np.ndarray") -> float:
        e = self.P[:, self.positive] - (self.t == self.positive)
        return float((w * e * e).sum() / w.sum())

    def _pr_auc(self, w: "np.ndarray") -> float:
        import numpy as np

        def ap(pos: "np.ndarray", neg: "np.ndarray") -> float:  # thresholds from the top score down
            tp, fp = np.cumsum(pos[::-1]), np.cumsum(neg[::-1])
            precision = tp / np.maximum(tp + fp, 1e-300)
            recall = tp / tp[-1]
            return float((np.diff(np.concatenate([[0.0], recall])) * precision).sum())

        return self._per_class(w, ap)

    def _log_loss(self, w: "np.ndarray") -> float:
        import numpy as np

        P = self.P
        sums = P.sum(axis=1, keepdims=True)
        if (sums <= 0).any():
            raise ScoringError("log loss needs probabilities with a positive sum per row")
        eps = np.finfo(np.float64).eps
        p_true = np.clip((P / sums)[np.arange(self.n), self.t], eps, 1 - eps)
        return float((w * -np.log(p_true)).sum() / w.sum())


# ---- correlations ----------------------------------------------------------------------------------
def _weighted_r(x: "np.ndarray", y: "np.ndarray", w: "np.ndarray") -> float:
    """Pearson's r of (x, y) over row weights; 0 when either is constant over the rows weighing > 0."""
    import numpy as np

    used = w > 0
    if np.ptp(x[used]) == 0 or np.ptp(y[used]) == 0:
        return 0.0
    total = w.sum()
    dx, dy = x - (w * x).sum() / total, y - (w * y).sum() / total
    cov, var_x, var_y = (w * dx * dy).sum(), (w * dx * dx).sum(), (w * dy * dy).sum()
    return float(np.clip(cov / np.sqrt(var_x * var_y), -1.0, 1.0))


def _tie_groups(values: "np.ndarray") -> tuple["np.ndarray", "np.ndarray"]:
    """(rows in value order, the tie group of each sorted row): computed once, reused per resample."""
    import numpy as np

    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    return order, np.concatenate([[0], np.cumsum(ordered[1:] != ordered[:-1])])


def _midranks(order: "np.ndarray", group: "np.ndarray", w: "np.ndarray") -> "np.ndarray":
    """Each row's weighted mid-rank: the weight of smaller values plus half its tie group's weight (the
    average rank of the group in a resample with these counts, less a constant 1/2 Pearson ignores)."""
    import numpy as np

    sums = np.bincount(group, weights=w[order])
    ranks = np.empty(len(order))
    ranks[order] = (np.cumsum(sums) - sums / 2)[group]
    return ranks
