"""validate grades by the metric it is given (the run's, in a pipeline), as scikit-learn computes it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from loom.adapters.mlops.metaflow.lifecycle.analysis import predictors, validation
from loom.domain.errors import UsageError


def _regression(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    y = np.exp(1.5 + 0.8 * x1 + 0.3 * x2 + rng.normal(scale=0.6, size=n))  # heavy-tailed, positive
    return pd.DataFrame({"x1": x1, "x2": x2, "y": y.round(3)})


def _classes(labels: list, n: int = 900, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    score = x1 + 0.5 * x2 + rng.normal(scale=0.7, size=n)
    cuts = np.quantile(score, np.linspace(0, 1, len(labels) + 1)[1:-1])
    return pd.DataFrame({"x1": x1, "x2": x2, "y": np.array(labels, dtype=object)[np.searchsorted(cuts, score)]})


def test_a_regression_is_graded_by_rmsle_and_its_trivial_baseline_is_the_best_constant() -> None:
    df = _regression()
    pred = predictors.BaselinePredictor("y", "regression", [])
    r = validation.cross_validate(df, "y", "regression", pred, folds=3, metric="rmsle")
    assert r["metric"] == "rmsle" and r["greater_is_better"] is False
    truth, hold = np.array(r["holdout_truth"]), np.array(r["holdout_pred"])
    assert r["holdout_score"] == pytest.approx(np.sqrt(skm.mean_squared_log_error(truth, hold)), abs=1e-6)
    assert all(s > 0 for s in r["cv_scores"]) and len(r["cv_scores"]) == 3
    # the best constant of the CV rows; on logs that is the geometric mean, far better than the mean
    dev = df["y"].to_numpy()[~np.isin(df["y"].to_numpy(), truth)]
    geo = np.expm1(np.mean(np.log1p(dev)))
    rmsle_geo = np.sqrt(skm.mean_squared_log_error(truth, np.full(len(truth), geo)))
    rmsle_mean = np.sqrt(skm.mean_squared_log_error(truth, np.full(len(truth), dev.mean())))
    assert r["trivial_baseline"] == pytest.approx(rmsle_geo, abs=0.02) and r["trivial_baseline"] < rmsle_mean
    assert r["holdout_score"] < r["trivial_baseline"]
    default = validation.cross_validate(df, "y", "regression", pred, folds=3)
    assert default["metric"] == "rmse" and default["holdout_score"] > 1.0  # RMSE in the target's units


def test_integer_classes_are_weighed_in_numeric_order_for_qwk() -> None:
    """Classes 1..11 sort as text "1", "10", "11", "2": QWK must weigh them as numbers."""
    df = _classes(list(range(1, 12)), n=1500)
    classes = sorted(df["y"].unique().tolist(), key=str)
    pred = predictors.BaselinePredictor("y", "classification", classes)
    r = validation.cross_validate(df, "y", "classification", pred, folds=3, metric="qwk")
    truth = [classes[i] for i in r["holdout_truth"]]
    labels = [classes[int(i)] for i in r["holdout_pred"]]
    assert r["metric"] == "qwk"
    assert r["holdout_score"] == pytest.approx(skm.cohen_kappa_score(truth, labels, weights="quadratic"), abs=1e-6)
    assert r["holdout_score"] > 0.5 and r["trivial_baseline"] == pytest.approx(0.0, abs=1e-9)


def test_log_loss_and_f1_of_the_positive_class() -> None:
    df = _classes(["a", "b", "c"])
    pred = predictors.BaselinePredictor("y", "classification", ["a", "b", "c"])
    r = validation.cross_validate(df, "y", "classification", pred, folds=3, metric="log_loss")
    assert r["metric"] == "log_loss" and not r["greater_is_better"]
    assert 0 < r["holdout_score"] < r["trivial_baseline"] == pytest.approx(np.log(3), abs=0.01)  # priors: ~1/3 each

    binary = _classes(["yes", "no"])  # sorted codes: no=0, yes=1; the positive class is "yes"
    p2 = predictors.BaselinePredictor("y", "classification", ["no", "yes"])
    f1 = validation.cross_validate(binary, "y", "classification", p2, folds=3, metric="f1")
    truth = np.array(f1["holdout_truth"])
    said = (np.array(f1["holdout_pred"]) >= 0.5).astype(int)  # the positive class's probability
    assert f1["holdout_score"] == pytest.approx(skm.f1_score(truth, said), abs=1e-6)


def test_a_metric_that_does_not_fit_the_target_is_a_usage_error() -> None:
    df = _classes(["a", "b", "c"], n=300)
    pred = predictors.BaselinePredictor("y", "classification", ["a", "b", "c"])
    with pytest.raises(UsageError, match="regression metric"):
        validation.cross_validate(df, "y", "classification", pred, folds=3, metric="rmsle")
    with pytest.raises(UsageError, match="needs a binary target"):
        validation.cross_validate(df, "y", "classification", pred, folds=3, metric="f1")


def test_a_solution_that_writes_labels_is_graded_on_them() -> None:
    """ROC-AUC of a script that writes labels only: its file says 1 or 0 for the positive class."""
    code = (
        "import pandas as pd\n"
        "te = pd.read_csv('./input/test.csv')\n"
        "pd.DataFrame({'id': te['id'], 'y': (te['x1'] + 0.5 * te['x2'] > 0).map({True: 'yes', False: 'no'})})"
        ".to_csv('./working/submission.csv', index=False)\n"
    )
    df = _classes(["no", "yes"], n=400)
    sp = predictors.ScriptPredictor(code, "y", "classification", ["no", "yes"])
    got = sp.fit_scores(df.iloc[:300], df.iloc[300:])
    said = (df["x1"] + 0.5 * df["x2"] > 0).iloc[300:].astype(int).to_numpy()
    assert (got.labels == said).all() and (got.proba[:, 1] == said).all()
    truth = (df["y"].iloc[300:] == "yes").astype(int).to_numpy()
    from loom.domain.metrics import MetricSpec

    auc = validation.score(MetricSpec("roc_auc", True), truth, got, ["no", "yes"])
    assert auc == pytest.approx(skm.roc_auc_score(truth, said), abs=1e-9)


def test_a_solution_is_asked_for_what_the_metric_grades_as_the_run_asked_it() -> None:
    """A solution that follows sample_submission.csv's columns writes one probability per class
    when validate grades log loss (its sample asked for a label: log loss of one-hot guesses)."""
    code = (
        "import numpy as np, pandas as pd\n"
        "te = pd.read_csv('./input/test.csv'); sample = pd.read_csv('./input/sample_submission.csv')\n"
        "score = te['x1'] + 0.5 * te['x2']\n"
        "cols = list(sample.columns[1:])\n"
        "if len(cols) > 1:\n"
        "    logits = np.column_stack([-(score - c) ** 2 for c in (-1.0, 0.0, 1.0)])\n"
        "    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)\n"
        "    out = pd.DataFrame(p, columns=cols)\n"
        "else:\n"
        "    out = pd.DataFrame({cols[0]: np.array(['a', 'b', 'c'])[np.digitize(score, [-0.5, 0.5])]})\n"
        "pd.concat([te[['id']], out], axis=1).to_csv('./working/submission.csv', index=False)\n"
    )
    df = _classes(["a", "b", "c"], n=600)
    truth = df["y"].iloc[400:].map({"a": 0, "b": 1, "c": 2}).to_numpy()
    from loom.domain.metrics import MetricSpec

    spec = MetricSpec("log_loss", False)
    asked = predictors.ScriptPredictor(code, "y", "classification", ["a", "b", "c"], probabilities=True)
    got = asked.fit_scores(df.iloc[:400], df.iloc[400:])
    assert got.proba.shape == (200, 3) and not np.isin(got.proba, (0.0, 1.0)).all()
    graded = validation.score(spec, truth, got, ["a", "b", "c"])
    assert graded == pytest.approx(skm.log_loss(truth, got.proba, labels=[0, 1, 2]), abs=1e-9) and graded < np.log(3)
    labels_only = predictors.ScriptPredictor(code, "y", "classification", ["a", "b", "c"])
    assert set(np.unique(labels_only.fit_scores(df.iloc[:400], df.iloc[400:]).proba)) == {0.0, 1.0}


def test_deploy_labels_by_the_class_the_solution_gives_the_probability_of() -> None:
    """A run asked for "the probability that a loan is bad" delivers P(bad) in its one column; scoring
    with it read that as P(good) (the last class in order) and flipped every label."""
    from loom.adapters.mlops.metaflow.lifecycle.analysis import scoring

    code = (
        "import numpy as np, pandas as pd\n"
        "te = pd.read_csv('./input/test.csv')\n"
        "p_bad = 1 / (1 + np.exp(-4 * (te['x1'] + 0.5 * te['x2'])))\n"
        "pd.DataFrame({'id': te['id'], 'y': p_bad}).to_csv('./working/submission.csv', index=False)\n"
    )
    df = _classes(["good", "bad"], n=400).assign(id=range(400))  # codes: bad=0, good=1
    manifest = {"target": "y", "task_type": "classification", "solution_code": code, "id_columns": ["id"],
                "positive_class": "bad"}
    predictor = scoring.build_predictor(manifest, df.iloc[:300])
    out = scoring.predictions_frame(manifest, predictor, df.iloc[300:])
    score = (df["x1"] + 0.5 * df["x2"]).iloc[300:].to_numpy()
    assert (out["y"].to_numpy() == np.where(score > 0, "bad", "good")).all()
    assert np.allclose(out["y_proba"], 1 / (1 + np.exp(-4 * score)), atol=1e-5)  # P(bad), as the manifest says


def test_a_multiclass_deployment_validated_on_log_loss_scores_each_class() -> None:
    """It wrote labels only; a log-loss model's user wants its probabilities."""
    from loom.adapters.mlops.metaflow.lifecycle.analysis import scoring

    df = _classes(["a", "b", "c"], n=500).assign(id=range(500))
    manifest = {"target": "y", "task_type": "classification", "id_columns": ["id"], "metric": "log_loss", "seed": 0}
    out = scoring.predictions_frame(manifest, scoring.build_predictor(manifest, df.iloc[:400]), df.iloc[400:])
    assert list(out.columns) == ["id", "y", "y_proba_a", "y_proba_b", "y_proba_c"]
    probs = out[["y_proba_a", "y_proba_b", "y_proba_c"]].to_numpy()
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    assert (np.array(["a", "b", "c"])[probs.argmax(axis=1)] == out["y"].to_numpy()).all()
    labels_only = scoring.predictions_frame({**manifest, "metric": "accuracy"},
                                            scoring.build_predictor(manifest, df.iloc[:400]), df.iloc[400:])
    assert list(labels_only.columns) == ["id", "y"]
