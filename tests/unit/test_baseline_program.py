"""The baseline candidate program: its metric is the run's metric, its folds are honest, no
useful column is dropped, and the rendered script is the program (imports of its parts removed)."""

from __future__ import annotations

import ast
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics

from loom.adapters.search.baseline_program import PARTS
from loom.adapters.search.baseline_program.data import canonical_label, column_kinds, order_labels
from loom.adapters.search.baseline_program.scoring import best_threshold, evaluate, folds, output
from loom.adapters.search.baseline_script import program, render

RNG = np.random.default_rng(0)
stats = pytest.importorskip("scipy.stats")


def _classes(metric: str, labels: list[str], class_columns: bool = False) -> SimpleNamespace:
    y = pd.Series(RNG.choice(labels, 60))
    return SimpleNamespace(classify=True, metric=metric, classes=labels, positive=labels[-1],
                           binary=len(labels) == 2, C={"class_columns": class_columns}, y=y)


@pytest.mark.parametrize("metric, expected", [
    ("roc_auc", lambda y, P: metrics.roc_auc_score(y == "1", P[:, 1])),
    ("pr_auc", lambda y, P: metrics.average_precision_score(y == "1", P[:, 1])),
    ("log_loss", lambda y, P: metrics.log_loss(y == "1", P[:, 1])),
    ("accuracy", lambda y, P: metrics.accuracy_score(y, np.where(P[:, 1] > 0.5, "1", "0"))),
    ("f1", lambda y, P: metrics.f1_score(y, np.where(P[:, 1] > 0.5, "1", "0"), pos_label="1")),
    ("mcc", lambda y, P: metrics.matthews_corrcoef(y, np.where(P[:, 1] > 0.5, "1", "0"))),
    ("gini", lambda y, P: 2 * metrics.roc_auc_score(y == "1", P[:, 1]) - 1),
    ("brier", lambda y, P: metrics.brier_score_loss((y == "1").astype(int), P[:, 1])),
    ("f2", lambda y, P: metrics.fbeta_score(y, np.where(P[:, 1] > 0.5, "1", "0"), beta=2, pos_label="1")),
    ("f0_5", lambda y, P: metrics.fbeta_score(y, np.where(P[:, 1] > 0.5, "1", "0"), beta=0.5, pos_label="1")),
    ("error_rate", lambda y, P: metrics.zero_one_loss(y, np.where(P[:, 1] > 0.5, "1", "0"))),
])
def test_binary_metrics_are_the_runs_metric(metric: str, expected) -> None:  # noqa: ANN001
    data = _classes(metric, ["0", "1"])
    p = RNG.random(60)
    P = np.column_stack([1 - p, p])
    assert evaluate(data.y, P, data) == pytest.approx(expected(data.y.to_numpy(), P))


def test_multiclass_probabilities_and_labels() -> None:
    data = _classes("roc_auc", ["a", "b", "c"], class_columns=True)
    P = RNG.dirichlet([1, 1, 1], 60)
    assert evaluate(data.y, P, data) == pytest.approx(metrics.roc_auc_score(data.y, P, multi_class="ovr"))
    frame = output(P, data)
    assert list(frame.columns) == ["a", "b", "c"]  # one probability column per class
    data.metric = "f1_macro"
    labels = np.asarray(["a", "b", "c"])[P.argmax(1)]
    assert evaluate(data.y, P, data) == pytest.approx(metrics.f1_score(data.y, labels, average="macro"))
    data.metric = "qwk"
    assert evaluate(data.y, P, data) == pytest.approx(
        metrics.cohen_kappa_score(data.y, labels, weights="quadratic", labels=["a", "b", "c"]))
    data.metric = "gini_at_5"
    with pytest.raises(ValueError, match="cannot compute"):  # never a stand-in for a metric it lacks
        evaluate(data.y, P, data)


@pytest.mark.parametrize("metric, expected", [
    ("rmse", lambda t, p: metrics.mean_squared_error(t, p) ** 0.5),
    ("mae", metrics.mean_absolute_error),
    ("r2", metrics.r2_score),
    ("mape", metrics.mean_absolute_percentage_error),
    ("rmsle", lambda t, p: metrics.mean_squared_log_error(t, p) ** 0.5),
    ("medae", metrics.median_absolute_error),
    ("smape", lambda t, p: 100 * np.mean(2 * np.abs(p - t) / (np.abs(t) + np.abs(p)))),
    ("msle", metrics.mean_squared_log_error),
    ("explained_variance", metrics.explained_variance_score),
    ("pearson", lambda t, p: stats.pearsonr(t, p)[0]),
    ("spearman", lambda t, p: stats.spearmanr(t, p)[0]),
])
def test_regression_metrics_are_the_runs_metric(metric: str, expected) -> None:  # noqa: ANN001
    truth = RNG.uniform(1, 100, 50)
    data = SimpleNamespace(classify=False, metric=metric, y=pd.Series(truth), C={})
    pred = truth * RNG.uniform(0.8, 1.2, 50)
    assert evaluate(pd.Series(truth), pred, data) == pytest.approx(expected(truth, pred))


def test_gini_and_brier_submit_the_positive_class_probability() -> None:
    for metric in ("gini", "brier"):
        data = _classes(metric, ["0", "1"])
        P = np.array([[0.9, 0.1], [0.2, 0.8], [-1e-17, 1 + 2e-16]])  # the last: a blend one ulp astray
        out = output(P, data)
        assert out.shape == (3,) and out[:2].tolist() == [0.1, 0.8]
        assert (out[2] <= 1.0) if metric == "brier" else (out[2] == P[2, 1])  # Brier's grading needs [0, 1]
    data = _classes("gini", ["a", "b", "c"], class_columns=True)
    with pytest.raises(ValueError, match="binary"):  # task preparation refuses it first; never a stand-in
        evaluate(data.y, RNG.dirichlet([1, 1, 1], 60), data)


def test_smape_clips_negative_predictions_of_a_non_negative_target() -> None:
    truth = np.array([0.0, 5.0, 10.0])
    raw = np.array([-2.0, 4.0, 11.0])
    for metric, clipped in (("smape", True), ("rmsle", True), ("medae", False), ("rmse", False)):
        data = SimpleNamespace(classify=False, metric=metric, y=pd.Series(truth), C={})
        assert bool(output(raw, data)[0] == 0.0) is clipped, metric
    data = SimpleNamespace(classify=False, metric="smape", y=pd.Series(truth), C={})
    # a row with truth 0 scores 0 once clipped (200 before): the candidate reports what it submits
    assert evaluate(pd.Series(truth), raw, data) == pytest.approx(100 * (2 / 9 + 2 / 21) / 3)


def test_f2_cuts_lower_than_f0_5_and_each_cut_is_its_metrics_best() -> None:
    rng = np.random.default_rng(3)
    y = pd.Series(np.where(rng.random(500) < 0.25, "yes", "no"))
    p = np.clip(0.35 * (y == "yes") + rng.random(500) * 0.65, 0, 1)
    P = np.column_stack([1 - p, p])
    cuts = {}
    for metric, beta in (("f2", 2.0), ("f0_5", 0.5)):
        data = SimpleNamespace(classify=True, metric=metric, classes=["no", "yes"], positive="yes", binary=True,
                               C={}, y=y)
        cut = cuts[metric] = best_threshold(y, P, data)
        candidates = np.unique(np.concatenate([[0.5], np.quantile(p, np.linspace(0.01, 0.99, 99))]))
        best = max(metrics.fbeta_score(y, np.where(p >= c, "yes", "no"), beta=beta, pos_label="yes") for c in candidates)
        assert evaluate(y, P, data, threshold=cut) == pytest.approx(best)  # the cut scores as well as any
    assert cuts["f2"] < cuts["f0_5"]  # F2 favours recall: more rows called positive


def test_msle_clips_negatives_and_a_constant_prediction_correlates_0() -> None:
    truth = np.array([0.0, 5.0, 10.0, 3.0])
    data = SimpleNamespace(classify=False, metric="msle", y=pd.Series(truth), C={})
    raw = np.array([-2.0, 4.0, 11.0, 3.0])
    assert output(raw, data)[0] == 0.0  # a non-negative target: a negative prediction never helps
    assert evaluate(pd.Series(truth), raw, data) == pytest.approx(metrics.mean_squared_log_error(truth, output(raw, data)))
    for metric in ("pearson", "spearman"):
        data = SimpleNamespace(classify=False, metric=metric, y=pd.Series(truth), C={})
        assert evaluate(pd.Series(truth), np.full(4, 4.5), data) == 0.0  # the dummy floor: no correlation, not nan
        assert evaluate(pd.Series(truth), truth ** 3, data) == (1.0 if metric == "spearman" else pytest.approx(
            stats.pearsonr(truth, truth ** 3)[0]))
    data = _classes("f2", ["a", "b", "c"], class_columns=True)
    with pytest.raises(ValueError, match="binary"):  # task preparation refuses it first; never a stand-in
        evaluate(data.y, RNG.dirichlet([1, 1, 1], 60), data)


def test_labels_are_canonical_and_ordered() -> None:
    assert [canonical_label(v) for v in (1.0, 2, "x", 0.5)] == ["1", "2", "x", "0.5"]
    assert order_labels(["10", "9", "1"]) == ["1", "9", "10"] and order_labels(["b", "a"]) == ["a", "b"]


def test_every_useful_column_has_a_kind() -> None:
    n = 400
    frame = pd.DataFrame({
        "amount": RNG.normal(size=n),
        "plan": RNG.choice(["basic", "pro", "team"], n),
        "city": [f"city{i}" for i in RNG.integers(0, 150, n)],  # high cardinality, repeated values
        "review": [" ".join(RNG.choice(["good", "bad", "slow", "fast", "price"], 6)) for _ in range(n)],
        "signup": pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        "ref": [f"R{i:05d}" for i in range(n)],  # one value per row: an identifier
        "constant": ["x"] * n,
    })
    assert column_kinds(frame) == {"amount": "numeric", "plan": "categorical", "city": "high_card",
                                   "review": "text", "signup": "datetime", "ref": "drop", "constant": "drop"}


def test_folds_are_stratified_repeated_or_time_ordered() -> None:
    y = pd.Series(["a"] * 30 + ["b"] * 10)
    data = SimpleNamespace(classify=True, y=y, time_order=lambda: None)
    splits = folds(data, 5, 2, 0)
    assert len(splits) == 10
    for tr, va in splits:
        assert set(y.iloc[va]) == {"a", "b"} and not set(tr) & set(va)
    order = np.arange(40)[::-1]  # the rows are in reverse time order
    timed = SimpleNamespace(classify=False, y=pd.Series(np.arange(40.0)), time_order=lambda: order)
    for tr, va in folds(timed, 5, 3, 0):
        assert min(tr) > max(va)  # trains only on rows before the ones it validates on


def test_the_script_is_the_program_in_one_namespace() -> None:
    text = program()
    assert "from loom" not in text and "import loom" not in text
    import loom.adapters.search.baseline_program as package
    from pathlib import Path

    for part in PARTS:  # every part is in, in order
        first = (Path(package.__file__).parent / f"{part}.py").read_text().splitlines()[0]
        assert first in text
    assert [text.index(f'"""Candidate part {i}') for i in range(1, 7)] == sorted(
        text.index(f'"""Candidate part {i}') for i in range(1, 7))
    script = render({"family": "linear", "params": {}, "target": "y", "id_column": "id"})
    tree = ast.parse(script)
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert {"main", "run_model", "run_ensemble", "evaluate", "folds", "column_kinds"} <= names
    assert script.rstrip().endswith("main(CANDIDATE)")


def test_forest_trees_draw_a_bounded_sample_on_big_data() -> None:
    """Above FOREST_ROWS each tree of a forest draws FOREST_ROWS rows (fully grown trees cost n log n)."""
    from loom.adapters.search.baseline_program import models

    rng = np.random.default_rng(0)
    data = SimpleNamespace(classify=True)
    for rows, expected in ((models.FOREST_ROWS + 10, models.FOREST_ROWS), (500, None)):
        for extra in (False, True):
            m = models.Model.__new__(models.Model)
            m.data, m.params, m.cpus, m.seed = data, {"n_estimators": 2}, 1, 0
            m._forest(rng.normal(size=(rows, 2)), rng.integers(0, 2, rows), extra=extra)
            assert m.model.max_samples == expected and (expected is None or m.model.bootstrap)


def test_dates_carry_a_trend_and_their_cycles_for_linear_models() -> None:
    """Days since 1970 extend a trend; sin/cos of the day of the year put Dec 31 next to Jan 1, so a
    linear model fits seasons (a forecast beyond the training dates needs both)."""
    from sklearn.linear_model import LinearRegression

    from loom.adapters.search.baseline_program.features import datetime_parts

    parts = datetime_parts(pd.DataFrame({"d": ["2020-12-31", "2021-01-01", "2021-07-02 12:00"]}))
    year = parts[["d__year_sin", "d__year_cos"]].to_numpy()
    assert np.linalg.norm(year[0] - year[1]) < 0.03 and np.linalg.norm(year[0] - year[2]) > 1.9
    assert parts["d__day_cos"].iloc[2] == pytest.approx(-1.0) and parts["d__days"].iloc[1] - parts["d__days"].iloc[0] == 1
    days = pd.date_range("2018-01-01", periods=1500, freq="D")
    t = np.arange(1500)
    y = 0.01 * t + 5 * np.sin(2 * np.pi * t / 365.25)
    X = datetime_parts(pd.DataFrame({"d": days.strftime("%Y-%m-%d")}))
    model = LinearRegression().fit(X.iloc[:1200], y[:1200])
    assert np.sqrt(np.mean((model.predict(X.iloc[1200:]) - y[1200:]) ** 2)) < 0.5  # the later, unseen dates
