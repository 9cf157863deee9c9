"""Metric parsing (--metric sentences) and the pure-Python holdout scoring vs scikit-learn."""

from __future__ import annotations

import random

import pytest

from loom.domain.errors import UsageError
from loom.domain.metrics import parse_metric, score


@pytest.mark.parametrize("sentence, name, maximize", [
    ("Maximize ROC-AUC", "roc_auc", True),
    ("maximize the area under the ROC curve", "roc_auc", True),
    ("Maximize accuracy", "accuracy", True),
    ("Maximize F1 score", "f1", True),
    ("Minimize log loss", "log_loss", False),
    ("Minimize root mean squared error", "rmse", False),
    ("Minimize MAE", "mae", False),
    ("Maximize R²", "r2", True),
    ("RMSE", "rmse", False),
])
def test_metric_sentences_parse_with_their_direction(sentence: str, name: str, maximize: bool) -> None:
    spec = parse_metric(sentence)
    assert (spec.name, spec.maximize) == (name, maximize)


def test_unknown_metric_asks_for_a_known_name_or_metric_name() -> None:
    with pytest.raises(UsageError) as err:
        parse_metric("Maximize quadratic weighted kappa")
    assert "--metric-name" in err.value.line() and err.value.exit_code == 2
    assert parse_metric("Maximize quadratic weighted kappa", "accuracy").name == "accuracy"
    with pytest.raises(UsageError):
        parse_metric("Maximize kappa", "kappa")


def test_a_direction_against_the_metric_is_refused() -> None:
    with pytest.raises(UsageError, match="Minimize RMSE"):
        parse_metric("Maximize RMSE")


def test_pure_scoring_matches_sklearn() -> None:
    sk = pytest.importorskip("sklearn.metrics")
    rng = random.Random(3)
    y = [str(rng.randint(0, 1)) for _ in range(300)]
    p = [round(rng.random(), 2) for _ in range(300)]  # rounded: ties exercise the rank average
    yt = [int(v) for v in y]
    assert score(parse_metric("Maximize ROC-AUC"), y, [str(v) for v in p]) == pytest.approx(sk.roc_auc_score(yt, p))
    assert score(parse_metric("Minimize log loss"), y, [str(v) for v in p]) == pytest.approx(sk.log_loss(yt, p))
    labels = [str(int(v >= 0.5)) for v in p]
    assert score(parse_metric("Maximize accuracy"), y, labels) == pytest.approx(sk.accuracy_score(y, labels))
    assert score(parse_metric("Maximize F1"), y, labels) == pytest.approx(sk.f1_score(yt, [int(v) for v in labels]))
    t = [rng.gauss(10, 3) for _ in range(200)]
    q = [v + rng.gauss(0, 1) for v in t]
    qs = [repr(v) for v in q]
    assert score(parse_metric("Minimize RMSE"), t, qs) == pytest.approx(sk.mean_squared_error(t, q) ** 0.5)
    assert score(parse_metric("Minimize MAE"), t, qs) == pytest.approx(sk.mean_absolute_error(t, q))
    assert score(parse_metric("Maximize R2"), t, qs) == pytest.approx(sk.r2_score(t, q))
