"""Metrics: parse "Maximize ROC-AUC" into a MetricSpec, and compute them in pure Python.

The scoring functions are stdlib-only so the use-case can grade a sealed holdout without
numpy; they follow scikit-learn's definitions (ROC-AUC with tied ranks, log loss clipped at float64 eps,
F1 of the positive class for binary labels and macro-F1 otherwise).
"""

from __future__ import annotations

import math
import sys
import re
from collections.abc import Sequence
from dataclasses import dataclass

from loom.domain.errors import UsageError


@dataclass(frozen=True)
class MetricSpec:
    """A metric and its direction, fixed once per run."""

    name: str  # canonical: roc_auc, accuracy, f1, log_loss, rmse, mae, mse, r2
    maximize: bool
    sentence: str = ""  # what the user wrote

    @property
    def label(self) -> str:
        return DISPLAY[self.name]

    @property
    def direction(self) -> str:
        return "maximize" if self.maximize else "minimize"

    @property
    def needs_probabilities(self) -> bool:
        return self.name in ("roc_auc", "log_loss")

    @property
    def task_type(self) -> str:
        return "regression" if self.name in REGRESSION else "classification"

    def better(self, a: float, b: float) -> bool:
        """True when `a` is strictly better than `b`."""
        return a > b if self.maximize else a < b


#: canonical name -> natural direction (True = higher is better)
NATURAL: dict[str, bool] = {
    "roc_auc": True, "accuracy": True, "f1": True, "r2": True,
    "log_loss": False, "rmse": False, "mae": False, "mse": False,
}
REGRESSION = frozenset({"rmse", "mae", "mse", "r2"})
DISPLAY = {
    "roc_auc": "ROC-AUC", "accuracy": "accuracy", "f1": "F1", "log_loss": "log loss",
    "rmse": "RMSE", "mae": "MAE", "mse": "MSE", "r2": "R²",
}
_ALIASES: dict[str, str] = {
    "roc auc": "roc_auc", "rocauc": "roc_auc", "auc": "roc_auc", "auroc": "roc_auc",
    "area under the roc curve": "roc_auc", "area under roc curve": "roc_auc", "roc": "roc_auc",
    "accuracy": "accuracy", "acc": "accuracy", "classification accuracy": "accuracy",
    "f1": "f1", "f1 score": "f1", "f score": "f1", "f measure": "f1", "macro f1": "f1",
    "log loss": "log_loss", "logloss": "log_loss", "cross entropy": "log_loss",
    "binary cross entropy": "log_loss", "logarithmic loss": "log_loss",
    "rmse": "rmse", "root mean squared error": "rmse", "root mean square error": "rmse",
    "mae": "mae", "mean absolute error": "mae",
    "mse": "mse", "mean squared error": "mse", "mean square error": "mse",
    "r2": "r2", "r²": "r2", "r^2": "r2", "r squared": "r2", "coefficient of determination": "r2",
}
KNOWN = tuple(NATURAL)
_MAX = re.compile(r"\b(maximi[sz]e|maximum|higher|increase|max)\b")
_MIN = re.compile(r"\b(minimi[sz]e|minimum|lower|decrease|min|reduce)\b")


def _normalize(text: str) -> str:
    text = text.lower().replace("_", " ").replace("-", " ")
    return " " + re.sub(r"\s+", " ", text).strip() + " "


def parse_metric(sentence: str | None, metric_name: str | None = None) -> MetricSpec:
    """`"Maximize ROC-AUC"` -> MetricSpec("roc_auc", True). Unknown names raise UsageError."""
    sentence = (sentence or "").strip()
    if not sentence and not metric_name:
        raise UsageError('--metric is required, e.g. --metric "Maximize ROC-AUC"')
    name = None
    if metric_name:
        key = _normalize(metric_name).strip()
        name = _ALIASES.get(key) or (key.replace(" ", "_") if key.replace(" ", "_") in NATURAL else None)
        if name is None:
            raise UsageError(
                f"unknown --metric-name '{metric_name}'; known names: {', '.join(KNOWN)}"
            )
    else:
        text = _normalize(sentence)
        for alias in sorted(_ALIASES, key=len, reverse=True):
            if re.search(r"(?<![a-z0-9])" + re.escape(alias) + r"(?![a-z0-9])", text):
                name = _ALIASES[alias]
                break
        if name is None:
            raise UsageError(
                f"unknown metric in '{sentence}'; name one of {', '.join(KNOWN)} "
                f"(e.g. \"Maximize ROC-AUC\") or pass --metric-name"
            )
    natural = NATURAL[name]
    text = _normalize(sentence)
    said_max, said_min = bool(_MAX.search(text)), bool(_MIN.search(text))
    if said_max and not said_min and not natural or said_min and not said_max and natural:
        verb = "Maximize" if natural else "Minimize"
        raise UsageError(
            f"{DISPLAY[name]} is {'higher' if natural else 'lower'}-is-better; "
            f"write --metric \"{verb} {DISPLAY[name]}\""
        )
    return MetricSpec(name=name, maximize=natural, sentence=sentence or f"{name}")


# ---- pure-Python scoring (grading the sealed holdout) -------------------------------------


def _floats(values: Sequence[object]) -> list[float]:
    return [float(v) for v in values]  # type: ignore[arg-type]


def _positive_label(labels: Sequence[str]) -> str:
    uniq = sorted(set(labels))
    for cand in ("1", "1.0", "true", "True", "yes", "Yes", "positive"):
        if cand in uniq:
            return cand
    return uniq[-1]


def roc_auc(y_true: Sequence[str], scores: Sequence[float]) -> float:
    """Binary ROC-AUC by ranks (ties get the average rank)."""
    pos = _positive_label(y_true)
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    n_pos = sum(1 for y in y_true if y == pos)
    n_neg = len(y_true) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC-AUC needs both classes in the holdout")
    rank_sum = sum(r for r, y in zip(ranks, y_true) if y == pos)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def accuracy(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    return sum(1 for a, b in zip(y_true, y_pred) if a == b) / len(y_true)


def f1(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    labels = sorted(set(y_true))
    targets = [_positive_label(y_true)] if len(labels) <= 2 else labels
    scores = []
    for label in targets:
        tp = sum(1 for a, b in zip(y_true, y_pred) if a == label and b == label)
        fp = sum(1 for a, b in zip(y_true, y_pred) if a != label and b == label)
        fn = sum(1 for a, b in zip(y_true, y_pred) if a == label and b != label)
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores)


def log_loss(y_true: Sequence[str], probs: Sequence[float]) -> float:
    pos = _positive_label(y_true)
    eps = sys.float_info.epsilon  # as scikit-learn clips float64 probabilities
    total = 0.0
    for y, p in zip(y_true, probs):
        p = min(max(float(p), eps), 1 - eps)
        total += -math.log(p) if y == pos else -math.log(1 - p)
    return total / len(y_true)


def rmse(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    return math.sqrt(mse(y_true, y_pred))


def mse(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    return sum((a - b) ** 2 for a, b in zip(_floats(y_true), _floats(y_pred))) / len(y_true)


def mae(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    return sum(abs(a - b) for a, b in zip(_floats(y_true), _floats(y_pred))) / len(y_true)


def r2(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    t, p = _floats(y_true), _floats(y_pred)
    mean = sum(t) / len(t)
    ss_tot = sum((a - mean) ** 2 for a in t)
    ss_res = sum((a - b) ** 2 for a, b in zip(t, p))
    return 1.0 - ss_res / ss_tot if ss_tot else 0.0


def _as_number(value: str) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _canon_label(value: str) -> str:
    """"1.0" and "1" are the same class label; "yes" stays "yes"."""
    num = _as_number(value)
    if num is not None and num == int(num):
        return str(int(num))
    return str(value).strip()


def score(spec: MetricSpec, y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    """Grade predictions (strings from CSV) against labels with `spec`'s metric."""
    if not y_true or len(y_true) != len(y_pred):
        raise ValueError("predictions and labels differ in length")
    if spec.name in REGRESSION:
        preds = [_as_number(v) for v in y_pred]
        if any(p is None for p in preds):
            raise ValueError("non-numeric predictions")
        fn = {"rmse": rmse, "mae": mae, "mse": mse, "r2": r2}[spec.name]
        return fn(_floats(y_true), preds)  # type: ignore[arg-type]
    labels = [_canon_label(v) for v in y_true]
    nums = [_as_number(v) for v in y_pred]
    if spec.needs_probabilities:
        if any(n is None for n in nums):
            pos = _positive_label(labels)
            nums = [1.0 if _canon_label(v) == pos else 0.0 for v in y_pred]
        return (roc_auc if spec.name == "roc_auc" else log_loss)(labels, nums)  # type: ignore[arg-type]
    # accuracy / f1 take labels; probabilities in [0, 1] on 0/1 labels are thresholded at 0.5
    binary01 = set(labels) <= {"0", "1"}
    label_preds: list[str]
    if binary01 and all(n is not None and 0.0 <= n <= 1.0 for n in nums):
        label_preds = ["1" if (n or 0.0) >= 0.5 else "0" for n in nums]
    else:
        label_preds = [_canon_label(v) for v in y_pred]
    return (accuracy if spec.name == "accuracy" else f1)(labels, label_preds)
