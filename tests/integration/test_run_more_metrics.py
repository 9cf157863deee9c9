"""`loom run --search baseline --mlops local` end to end with MSLE, F2, F0.5, Pearson r, Spearman rho,
explained variance and the error rate: the keyless brain's candidates optimize the metric asked
for, and every grade Loom reports (each node's selection score, the final estimate) equals the
metric recomputed here from the candidates' own submission files and the sealed labels
(scikit-learn, scipy).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest

from tests.integration.keyless_runs import binary, check_grades, family, regression, run_keyless

sk = pytest.importorskip("sklearn.metrics")
stats = pytest.importorskip("scipy.stats")
_binary = partial(binary, bias=-1.0)  # a 'yes' class of about a third of the rows: F2 and F0.5 cut it apart
_regression = partial(regression, shift=4.0, decimals=1)  # skewed, with ties: MSLE's clip at 0 and Spearman's ties occur


def _correlation(fn: Callable) -> Callable[[np.ndarray, np.ndarray], float]:
    """scipy's coefficient; 0 for a constant side (the dummy floor), where scipy says nan (Loom's documented rule)."""
    def reference(y: np.ndarray, p: np.ndarray) -> float:
        y, p = y.astype(float), p.astype(float)
        return 0.0 if np.ptp(y) == 0 or np.ptp(p) == 0 else float(fn(y, p)[0])
    return reference


Reference = Callable[[np.ndarray, np.ndarray], float]
CASES: dict[str, tuple[str, Callable[[int, int], pd.DataFrame], Reference]] = {
    "msle": ("Minimize Mean Squared Logarithmic Error", _regression,
             lambda y, p: sk.mean_squared_log_error(y.astype(float), p.astype(float))),
    "f2": ("Maximize the F2 score", _binary, lambda y, q: sk.fbeta_score(y, q, beta=2, pos_label="yes")),
    "f0_5": ("Maximize F0.5", _binary, lambda y, q: sk.fbeta_score(y, q, beta=0.5, pos_label="yes")),
    "pearson": ("Maximize Pearson correlation", _regression, _correlation(stats.pearsonr)),
    "spearman": ("Maximize Spearman correlation", _regression, _correlation(stats.spearmanr)),
    "explained_variance": ("Maximize explained variance", _regression,
                           lambda y, p: sk.explained_variance_score(y.astype(float), p.astype(float))),
    "error_rate": ("Minimize error rate", _binary, lambda y, q: sk.zero_one_loss(y, q)),
}
LABELS = ("f2", "f0_5", "error_rate")


@pytest.mark.parametrize("name", list(CASES))
def test_a_keyless_run_optimizes_and_reports_the_metric(name: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    sentence, make, reference = CASES[name]
    payload, user_test = run_keyless(sentence, make, tmp_path, monkeypatch)
    rows, truth, pred = check_grades(payload, name, reference, numbers=False)
    run_dir, best = Path(payload["run_dir"]), payload["best"]

    # the direction: the model beats the constant floor on the metric's own terms
    maximize = name != "msle" and name != "error_rate"
    model, floor = sorted(rows, key=lambda r: r["selection"], reverse=maximize)  # best first
    assert best["node_id"] == model["node_id"] and model["selection"] != floor["selection"]
    assert family(run_dir, model["node_id"]) == "linear" and family(run_dir, floor["node_id"]) == "dummy"
    if name in ("pearson", "spearman", "explained_variance"):  # a constant prediction explains nothing
        assert floor["selection"] == pytest.approx(0.0, abs=1e-9) and model["selection"] > 0.5
    if name == "msle":  # non-negative target: predictions clipped at 0
        assert (pred.astype(float) >= 0).all()
    if name in LABELS:  # classes, under the user's spelling
        assert set(pred) <= {"yes", "no"}

    delivered = pd.read_csv(payload["paths"]["submission"], dtype={"y": str})
    assert list(delivered["id"]) == list(user_test["id"]) and payload["refit"]["used"]
    if name in LABELS:
        assert set(delivered["y"]) == {"yes", "no"}
    else:
        assert delivered["y"].astype(float).nunique() > 10


def test_f2_calls_more_rows_positive_than_f0_5(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same data and model: F2 (recall favoured) cuts the probability lower than F0.5."""
    share = {}
    for name in ("f2", "f0_5"):
        payload, _ = run_keyless(CASES[name][0], _binary, tmp_path / name, monkeypatch)
        delivered = pd.read_csv(payload["paths"]["submission"], dtype={"y": str})
        share[name] = float((delivered["y"] == "yes").mean())
    assert share["f2"] > share["f0_5"], share
