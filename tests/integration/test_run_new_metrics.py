"""`loom run --search baseline --mlops local` end to end with normalized Gini, the Brier score, SMAPE
and MedAE: the keyless brain's candidates optimize the metric asked for, and every grade Loom
reports (each node's selection score, the final estimate) equals the metric recomputed here from
the candidates' own submission files and the sealed labels (scikit-learn, or SMAPE row by row).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest

from tests.integration.keyless_runs import binary, check_grades, family, regression, run_keyless

sk = pytest.importorskip("sklearn.metrics")


_binary = binary
_regression = regression  # many exact zeros (sales-like): SMAPE's 0/0 rows occur


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


@pytest.mark.parametrize("name", list(CASES))
def test_a_keyless_run_optimizes_and_reports_the_new_metric(name: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    sentence, make, reference = CASES[name]
    payload, user_test = run_keyless(sentence, make, tmp_path, monkeypatch)
    rows, truth, pred = check_grades(payload, name, reference, numbers=True)
    run_dir, best = Path(payload["run_dir"]), payload["best"]

    # the direction: the model beats the constant floor on the metric's own terms
    model, floor = sorted(rows, key=lambda r: r["selection"], reverse=name == "gini")  # best first
    assert best["node_id"] == model["node_id"] and model["selection"] != floor["selection"]
    if name == "medae":  # the floor is the median (the constant an absolute error asks for); with 46%
        # exact zeros it beats a squared-error line on the median error, and the run says so honestly
        by_family = {family(run_dir, r["node_id"]): r for r in rows}
        assert set(by_family) == {"linear", "dummy"}
        floor_sub = pd.read_csv(run_dir / "nodes" / by_family["dummy"]["node_id"] / "submission.csv")
        train_y = pd.read_csv(tmp_path / "data" / "train.csv")["y"]
        assert floor_sub["y"].nunique() == 1 and floor_sub["y"].iloc[0] == pytest.approx(train_y.median(), abs=0.2)
    else:
        assert family(run_dir, model["node_id"]) == "linear" and family(run_dir, floor["node_id"]) == "dummy"
    if name == "gini":
        assert floor["selection"] == pytest.approx(0.0) and model["selection"] > 0.3
    if name == "smape":  # non-negative target: predictions clipped at 0, so some 0/0 rows score 0
        assert (pred >= 0).all() and ((truth.astype(float) == 0) & (pred == 0)).any()

    delivered = pd.read_csv(payload["paths"]["submission"])
    assert list(delivered["id"]) == list(user_test["id"]) and payload["refit"]["used"]
    if name in ("gini", "brier"):  # the positive-class probability
        assert delivered["y"].between(0, 1).all() and delivered["y"].nunique() > 10
