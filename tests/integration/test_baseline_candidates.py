"""The baseline's candidate scripts, run for real as a candidate runs (cwd = its folder, ./input,
./working): text, high-cardinality and date columns carry signal the models use; every model
writes out-of-fold and test predictions; the ensemble's submission is exactly the combination
its manifest states."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loom.adapters.search.baseline import parse_metric, parse_spread
from loom.adapters.search.baseline_script import render

BASE = {"target": "y", "id_column": "id", "seed": 0, "folds": 5, "repeats": 1, "params": {}, "classes": []}


def _run(folder: Path, candidate: dict) -> str:
    (folder / "working").mkdir(exist_ok=True)
    (folder / "runfile.py").write_text(render(candidate))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "runfile.py"], cwd=folder, capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Churn whose signal is in a free-text note, an 80-value city column and the signup month
    (the note alone reaches ROC-AUC 0.72, note and city 0.82, everything 0.85)."""
    rng = np.random.default_rng(3)
    n = 1400
    cities = [f"city{i:03d}" for i in range(80)]
    risky = set(cities[:30])
    city = rng.choice(cities, n)
    bad = rng.random(n) < 0.4
    words = ["slow", "fine", "ok", "thanks", "great", "price", "support", "app"]
    note = [" ".join(rng.choice(words, 5)) + (" refund broken" if b else "") for b in bad]
    month = rng.integers(1, 13, n)
    signup = [f"2024-{m:02d}-{d:02d}" for m, d in zip(month, rng.integers(1, 28, n))]
    logit = -2.0 + 2.5 * bad + 2.0 * np.isin(city, list(risky)) + 1.5 * (month >= 10)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame({"id": np.arange(n), "city": city, "note": note, "signup": signup,
                          "noise": rng.normal(size=n), "y": y})
    folder = tmp_path_factory.mktemp("mixed")
    (folder / "input").mkdir()
    frame.iloc[:1200].to_csv(folder / "input" / "train.csv", index=False)
    frame.iloc[1200:].drop(columns="y").to_csv(folder / "input" / "test.csv", index=False)
    return folder


@pytest.mark.parametrize("family", ["linear", "lightgbm"])
def test_text_high_cardinality_and_dates_are_used(mixed: Path, family: str) -> None:
    out = _run(mixed, {**BASE, "family": family, "metric": "roc_auc", "maximize": True,
                       "task_type": "classification", "classes": ["0", "1"]})
    profile = json.loads(out.split("Data profile: ", 1)[1].splitlines()[0])
    assert profile["kinds"] == {"high_card": 1, "text": 1, "datetime": 1, "numeric": 1}
    auc = parse_metric(out)
    std, k = parse_spread(out)
    assert auc is not None and auc > 0.78 and std is not None and 0 < std < 0.2 and k == 5
    oof = pd.read_csv(mixed / "working" / "oof.csv")
    test = pd.read_csv(mixed / "working" / "test_pred.csv")
    assert sorted(oof["row"]) == list(range(1200)) and list(test["row"]) == list(range(200))
    assert np.allclose(oof[["p0", "p1"]].sum(axis=1), 1.0)
    sub = pd.read_csv(mixed / "working" / "submission.csv")
    assert list(sub.columns) == ["id", "y"] and np.allclose(sub["y"], test["p1"], atol=1e-9)


def test_the_ensemble_submission_is_the_combination_its_manifest_states(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    n, m = 300, 80
    x = rng.normal(size=n + m)
    truth = 3 * x + rng.normal(scale=0.5, size=n + m)
    pd.DataFrame({"id": range(n), "x": x[:n], "y": truth[:n]}).to_csv(tmp_path / "train.csv", index=False)
    (tmp_path / "input" / "members").mkdir(parents=True)
    (tmp_path / "train.csv").rename(tmp_path / "input" / "train.csv")
    pd.DataFrame({"id": range(n, n + m), "x": x[n:]}).to_csv(tmp_path / "input" / "test.csv", index=False)
    members = []
    for i, scale in enumerate((1.0, 1.1, 1.2)):  # three members with independent errors: a blend helps
        node = f"node{i}"
        folder = tmp_path / "input" / "members" / node
        folder.mkdir()
        noisy = truth + rng.normal(scale=scale, size=n + m)
        pd.DataFrame({"row": range(n), "p0": noisy[:n]}).to_csv(folder / "oof.csv", index=False)
        pd.DataFrame({"row": range(m), "p0": noisy[n:]}).to_csv(folder / "test_pred.csv", index=False)
        members.append({"node_id": node, "family": "linear"})
    out = _run(tmp_path, {**BASE, "mode": "ensemble", "family": "ensemble", "metric": "rmse", "maximize": False,
                          "task_type": "regression", "members": members})
    manifest = json.loads((tmp_path / "working" / "ensemble.json").read_text())
    weights = {p["node_id"]: p["weight"] for p in manifest["members"]}
    assert len(weights) >= 2 and sum(weights.values()) == pytest.approx(1.0)
    combo = sum(w * pd.read_csv(tmp_path / "input" / "members" / nid / "test_pred.csv")["p0"].to_numpy()
                for nid, w in weights.items())
    sub = pd.read_csv(tmp_path / "working" / "submission.csv")
    assert list(sub["id"]) == list(range(n, n + m))
    assert np.allclose(sub["y"].to_numpy(), combo, rtol=1e-9, atol=1e-9)
    # the blend's reported CV is the mean over folds of weights fit without that fold
    assert parse_metric(out) == pytest.approx(manifest["cv"][manifest["method"]]["mean"], abs=1e-6)
    single = manifest["cv"]["mean_top1"]["mean"]
    assert parse_metric(out) < single  # it cross-validates better than its best member alone


@pytest.mark.parametrize("metric", ["f1", "mcc"])
def test_a_rare_positive_class_gets_a_tuned_decision_threshold(tmp_path: Path, metric: str) -> None:
    """F1 / MCC with a 6% positive class: a fixed 0.5 cut predicts (almost) no positive at all.
    The candidate cuts where its out-of-fold predictions score best, scores each fold with a cut
    chosen on the other folds, and its submission is exactly `p(yes) >= threshold`."""
    from sklearn import metrics

    rng = np.random.default_rng(11)
    n, m = 3000, 2000
    x = rng.normal(size=(n + m, 3))
    logit = -3.6 + 1.2 * x[:, 0] + 0.8 * x[:, 1]
    y = np.where(rng.random(n + m) < 1 / (1 + np.exp(-logit)), "yes", "no")
    frame = pd.DataFrame({"id": np.arange(n + m), "a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": y})
    (tmp_path / "input").mkdir()
    frame.iloc[:n].to_csv(tmp_path / "input" / "train.csv", index=False)
    frame.iloc[n:].drop(columns="y").to_csv(tmp_path / "input" / "test.csv", index=False)
    out = _run(tmp_path, {**BASE, "family": "linear", "metric": metric, "maximize": True,
                          "task_type": "classification", "classes": ["no", "yes"]})
    threshold = float(out.split(f"Decision threshold ({metric}): ", 1)[1].split()[0])
    assert 0.02 < threshold < 0.45
    test = pd.read_csv(tmp_path / "working" / "test_pred.csv")  # p0 = no, p1 = yes
    sub = pd.read_csv(tmp_path / "working" / "submission.csv")
    assert (sub["y"] == np.where(test["p1"] >= threshold, "yes", "no")).all()
    truth = frame["y"].iloc[n:].to_numpy()
    score = {"f1": lambda p: metrics.f1_score(truth, p, pos_label="yes"),
             "mcc": lambda p: metrics.matthews_corrcoef(truth, p)}[metric]
    tuned, fixed = score(sub["y"].to_numpy()), score(np.where(test["p1"] >= 0.5, "yes", "no"))
    assert tuned > fixed + 0.1, (tuned, fixed)  # on rows the candidate never saw
    assert parse_metric(out) == pytest.approx(tuned, abs=0.08)  # its CV estimate is not inflated by the cut


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_rows_without_a_label_are_left_out_of_the_fit(tmp_path: Path, task: str) -> None:
    """Loom keeps unlabelled rows in the candidates' train.csv; a model cannot fit them (NaN y)."""
    rng = np.random.default_rng(2)
    n = 400
    x = rng.normal(size=n)
    y = 2 * x + rng.normal(scale=0.1, size=n) if task == "regression" else np.where(x > 0, "up", "down")
    frame = pd.DataFrame({"id": np.arange(n), "x": x, "y": y}).astype({"y": object})
    frame.loc[[3, 50, 51, 200], "y"] = [None, "", "  ", None]  # empty, blank and missing labels
    (tmp_path / "input").mkdir()
    frame.to_csv(tmp_path / "input" / "train.csv", index=False)
    pd.DataFrame({"id": [900, 901], "x": [1.0, -1.0]}).to_csv(tmp_path / "input" / "test.csv", index=False)
    candidate = {**BASE, "family": "linear", "metric": "rmse" if task == "regression" else "accuracy",
                 "maximize": task != "regression", "task_type": task,
                 "classes": [] if task == "regression" else ["down", "up"]}
    out = _run(tmp_path, candidate)
    profile = json.loads(out.split("Data profile: ", 1)[1].splitlines()[0])
    assert profile["rows"] == n - 4 and profile["unlabelled"] == 4
    assert sorted(pd.read_csv(tmp_path / "working" / "oof.csv")["row"]) == list(range(n - 4))
    sub = pd.read_csv(tmp_path / "working" / "submission.csv")
    if task == "regression":
        assert sub["y"].iloc[0] == pytest.approx(2.0, abs=0.3) and sub["y"].iloc[1] == pytest.approx(-2.0, abs=0.3)
    else:
        assert list(sub["y"]) == ["up", "down"]


@pytest.mark.parametrize("family", ["dummy", "hist_gb", "lightgbm"])
def test_an_absolute_error_metric_is_fit_for_the_median(tmp_path: Path, family: str) -> None:
    """MAE is minimised by the median: with squared error every family fit the mean of a skewed
    count (held-out MAE 2.90; 2.79 with the absolute-error losses)."""
    rng = np.random.default_rng(6)
    n = 1500
    x = rng.normal(size=n)
    y = rng.poisson(np.exp(0.5 + 0.6 * x)) * rng.choice([1, 8], n, p=[0.85, 0.15])  # skewed: mean >> median
    frame = pd.DataFrame({"id": np.arange(n), "x": x.round(3), "y": y})
    (tmp_path / "input").mkdir()
    frame.iloc[:1200].to_csv(tmp_path / "input" / "train.csv", index=False)
    frame.iloc[1200:].drop(columns="y").to_csv(tmp_path / "input" / "test.csv", index=False)
    scores = {}
    for metric in ("mae", "rmse"):
        out = _run(tmp_path, {**BASE, "family": family, "metric": metric, "maximize": False, "task_type": "regression"})
        sub = pd.read_csv(tmp_path / "working" / "submission.csv")
        truth = frame.iloc[1200:]["y"].to_numpy()
        scores[metric] = float(np.abs(sub["y"].to_numpy() - truth).mean())
        if family == "dummy":
            expected = np.median(frame.iloc[:1200]["y"]) if metric == "mae" else frame.iloc[:1200]["y"].mean()
            assert np.allclose(sub["y"], expected), out
    assert scores["mae"] < scores["rmse"]  # the MAE candidate has the lower held-out MAE


def test_labels_written_after_a_space_are_the_classes_loom_names(tmp_path: Path) -> None:
    """The Adult census writes " <=50K" / " >50K". Loom names the classes trimmed; the candidate kept
    the space, saw 4 classes, and wrote labels where log loss asked for a probability (36.0 a node)."""
    rng = np.random.default_rng(4)
    n = 800
    x = rng.normal(size=n)
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-2 * x)), " >50K", " <=50K")
    (tmp_path / "input").mkdir()
    pd.DataFrame({"id": np.arange(n), "x": x.round(3), "y": y}).iloc[:600].to_csv(tmp_path / "input" / "train.csv",
                                                                                   index=False)
    pd.DataFrame({"id": np.arange(600, n), "x": x[600:].round(3)}).to_csv(tmp_path / "input" / "test.csv", index=False)
    out = _run(tmp_path, {**BASE, "family": "linear", "metric": "log_loss", "maximize": False,
                          "task_type": "classification", "classes": ["<=50K", ">50K"]})
    assert parse_metric(out) < 0.6  # a probability model, not labels clipped to eps
    sub = pd.read_csv(tmp_path / "working" / "submission.csv")
    assert sub["y"].between(0, 1).all() and sub["y"].nunique() > 10  # P(>50K), one number per row
