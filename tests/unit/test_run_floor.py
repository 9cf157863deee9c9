"""The constant floor a run's best must clear (run_search.floor) and the warning when it does not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_error, roc_auc_score

from loom.application.run_search.assessment import _floor_warning
from loom.application.run_search.floor import constant_floor
from loom.domain.metrics import parse_metric
from loom.domain.search import Estimate, Task


def _task(tmp_path: Path, y_train, y_selection, y_final, metric: str, task_type: str, classes=()) -> tuple[Task, Path]:
    inp, sealed = tmp_path / "input", tmp_path / "sealed"
    inp.mkdir()
    sealed.mkdir()
    pd.DataFrame({"id": range(len(y_train)), "x": 0, "y": y_train}).to_csv(inp / "train.csv", index=False)
    for name, y in (("selection.csv", y_selection), ("final.csv", y_final)):
        pd.DataFrame({"id": range(len(y)), "y": y}).to_csv(sealed / name, index=False)
    task = Task(goal="g", metric=parse_metric(metric), input_dir=str(inp), target="y", id_column="id",
                task_type=task_type, classes=tuple(classes))
    return task, sealed


def test_mae_floor_is_the_median_chosen_on_selection_and_scored_on_final(tmp_path):
    rng = np.random.default_rng(0)
    y_train = np.concatenate([rng.exponential(2.0, 300), [500.0]])  # one huge value drags the mean
    y_sel, y_fin = rng.exponential(2.0, 100), rng.exponential(2.0, 100)
    task, sealed = _task(tmp_path, y_train, y_sel, y_fin, "Minimize MAE", "regression")
    floor = constant_floor(task, sealed)
    assert floor is not None and floor["constant"].startswith("the median")
    median = float(pd.read_csv(tmp_path / "input" / "train.csv")["y"].median())
    assert abs(floor["value"] - mean_absolute_error(y_fin, np.full(100, median))) < 1e-9


def test_roc_auc_floor_is_one_half_and_a_best_at_it_is_warned(tmp_path):
    task, sealed = _task(tmp_path, ["no", "yes", "no", "no", ""], ["no", "yes", "yes"], ["yes", "no", "no", "no"],
                         "Maximize ROC-AUC", "classification", classes=("no", "yes"))
    floor = constant_floor(task, sealed)
    assert floor == {"value": roc_auc_score([1, 0, 0, 0], [0.25] * 4), "constant": "the class shares"}
    at_floor = Estimate(metric="roc_auc", value=0.5, low=0.4, high=0.6, rows=4, split="random", method="bootstrap")
    (warning,) = _floor_warning(task, at_floor, floor)
    assert "no better than always predicting the class shares" in warning
    better = Estimate(metric="roc_auc", value=0.71, low=0.6, high=0.8, rows=4, split="random", method="bootstrap")
    assert _floor_warning(task, better, floor) == []


def test_accuracy_floor_tries_every_class(tmp_path):
    task, sealed = _task(tmp_path, ["a"] * 6 + ["b"] * 4, ["b", "b", "a"], ["b", "b", "b", "a"],
                         "Maximize accuracy", "classification", classes=("a", "b"))
    assert constant_floor(task, sealed) == {"value": 0.75, "constant": "the class 'b'"}  # b wins on selection


def test_no_floor_without_sealed_rows(tmp_path):
    task, sealed = _task(tmp_path, [1.0, 2.0], [1.0], [2.0], "Minimize RMSE", "regression")
    (sealed / "final.csv").unlink()
    assert constant_floor(task, sealed) is None
