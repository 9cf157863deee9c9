"""`loom run --search baseline --mlops local` end to end with normalized Gini, the Brier score, SMAPE
and MedAE: the keyless brain's candidates optimize the metric asked for, and every grade Loom
reports (each node's selection score, the final estimate) equals the metric recomputed here from
the candidates' own submission files and the sealed labels (scikit-learn, or SMAPE row by row).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest

from loom.entrypoints.cli.app import main

sk = pytest.importorskip("sklearn.metrics")


def _binary(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    c = rng.choice(["a", "b", "c"], n)
    logit = 1.5 * x1 - x2 + (c == "a") - 0.5
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return pd.DataFrame({"id": np.arange(n) + 1000 * seed, "x1": x1.round(4), "x2": x2.round(4), "c": c, "y": y})


def _regression(n: int, seed: int) -> pd.DataFrame:
    """A non-negative target with many exact zeros (sales-like): SMAPE's 0/0 rows occur."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    c = rng.choice(["a", "b", "c"], n)
    y = np.maximum(0.0, 3 * x1 + 2 * x2 + 2 * (c == "a") + rng.normal(0, 1, n)).round(2)
    return pd.DataFrame({"id": np.arange(n) + 1000 * seed, "x1": x1.round(4), "x2": x2.round(4), "c": c, "y": y})


def _smape(y: np.ndarray, p: np.ndarray) -> float:
    return 100 * float(np.mean([0.0 if a == f == 0 else abs(f - a) / ((abs(a) + abs(f)) / 2) for a, f in zip(y, p)]))


Reference = Callable[[np.ndarray, np.ndarray], float]
CASES: dict[str, tuple[str, Callable[[int, int], pd.DataFrame], Reference]] = {
    "gini": ("Maximize normalized Gini", _binary, lambda y, p: 2 * sk.roc_auc_score(y == "yes", p) - 1),
    "brier": ("Minimize Brier score", _binary, lambda y, p: sk.brier_score_loss((y == "yes").astype(int), p)),
    "smape": ("Minimize SMAPE", _regression, lambda y, p: _smape(y.astype(float), p)),
    "medae": ("Minimize median absolute error", _regression,
              lambda y, p: sk.median_absolute_error(y.astype(float), p)),
}


def _sealed(run_dir: Path) -> Path:
    from loom.application.run_search.artifacts import RunStore

    return RunStore(run_dir.parents[1], run_dir.name).sealed_dir


def _graded(run_dir: Path, node_id: str, slice_name: str) -> tuple[np.ndarray, np.ndarray]:
    """(sealed labels, the node's predictions for those rows), matched on the id."""
    labels = pd.read_csv(_sealed(run_dir) / f"{slice_name}.csv", dtype={"y": str})
    preds = pd.read_csv(run_dir / "nodes" / node_id / "submission.csv").set_index("id")["y"]
    return labels["y"].to_numpy(), preds.loc[labels["id"]].to_numpy(dtype=float)


def _family(run_dir: Path, node_id: str) -> str:
    """The model family a baseline candidate states on its first line ("Loom baseline candidate: linear {}.")."""
    first = (run_dir / "nodes" / node_id / "runfile.py").read_text().splitlines()[0]
    return first.split("candidate: ")[1].split()[0]


@pytest.mark.parametrize("name", list(CASES))
def test_a_keyless_run_optimizes_and_reports_the_new_metric(name: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    sentence, make, reference = CASES[name]
    data = tmp_path / "data"
    data.mkdir()
    make(400, 0).to_csv(data / "train.csv", index=False)
    user_test = make(60, 1).drop(columns="y")
    user_test.to_csv(data / "test.csv", index=False)
    monkeypatch.setenv("LOOM_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    with pytest.raises(SystemExit) as exc:
        main(["run", "--search", "baseline", "--mlops", "local", "--data", str(data), "--goal", "Predict y",
              "--metric", sentence, "--steps", "2", "--json"])
    monkeypatch.undo()
    payload = json.loads(out.getvalue())
    assert (exc.value.code or 0) == 0 and payload["status"] == "OK", payload
    assert payload["estimate"]["metric"] == name and payload["nodes"] == 2

    run_dir = Path(payload["run_dir"])
    rows = [r for r in payload["leaderboard"] if not r["buggy"]]
    assert len(rows) == 2  # the dummy floor and the linear model
    for row in rows:  # Loom's selection grade = the metric recomputed from the node's own submission
        assert row["selection"] == pytest.approx(reference(*_graded(run_dir, row["node_id"], "selection")), rel=1e-9)
    best, estimate = payload["best"], payload["estimate"]
    assert estimate["node_id"] == best["node_id"]
    truth, pred = _graded(run_dir, best["node_id"], "final")
    assert estimate["value"] == pytest.approx(reference(truth, pred), rel=1e-9)
    assert estimate["low"] <= estimate["value"] <= estimate["high"] and estimate["rows"] == len(truth)

    # the direction: the model beats the constant floor on the metric's own terms
    model, floor = sorted(rows, key=lambda r: r["selection"], reverse=name == "gini")  # best first
    assert best["node_id"] == model["node_id"] and model["selection"] != floor["selection"]
    assert _family(run_dir, model["node_id"]) == "linear" and _family(run_dir, floor["node_id"]) == "dummy"
    if name == "gini":
        assert floor["selection"] == pytest.approx(0.0) and model["selection"] > 0.3
    if name == "smape":  # non-negative target: predictions clipped at 0, so some 0/0 rows score 0
        assert (pred >= 0).all() and ((truth.astype(float) == 0) & (pred == 0)).any()

    delivered = pd.read_csv(payload["paths"]["submission"])
    assert list(delivered["id"]) == list(user_test["id"]) and payload["refit"]["used"]
    if name in ("gini", "brier"):  # the positive-class probability
        assert delivered["y"].between(0, 1).all() and delivered["y"].nunique() > 10
