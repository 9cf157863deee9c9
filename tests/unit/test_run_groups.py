"""Grouped rows (test.csv holds new patients, customers, sites): whole groups are sealed, the
estimate resamples whole groups, and the baseline cross-validates on whole groups."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from loom.application.evaluation import splits
from loom.application.evaluation.interval import bootstrap
from loom.application.evaluation.metrics import Scorer
from loom.application.run_search import columns, grading, task_prep
from loom.domain.errors import UsageError
from loom.domain.metrics import parse_metric


def _patients(patients: range, rows: int = 6, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed + patients.start)
    pid = np.repeat(np.array(patients), rows)
    effect = rng.normal(0, 2, len(patients)).repeat(rows)
    dose = rng.normal(size=len(pid))
    return pd.DataFrame({"row_id": np.arange(len(pid)) + 10 * patients.start, "patient": [f"P{p:04d}" for p in pid],
                         "ward": rng.choice(["a", "b", "c"], len(pid)), "dose": dose.round(4),
                         "response": (effect + dose + rng.normal(0, 0.3, len(pid))).round(4)})


def test_sealed_slices_keep_every_group_on_one_side() -> None:
    groups = np.repeat(np.arange(100), 7)
    out = splits.sealed_slices(len(groups), 3, groups=groups)
    for g in range(100):
        assert len(set(out[groups == g])) == 1
    selection, final = splits.slice_sizes(len(groups))
    assert abs((out == 1).sum() - selection) < 14 and abs((out == 2).sum() - final) < 14  # within two groups
    assert not splits.sealed_slices(40, 3, groups=np.repeat(np.arange(2), 20)).any()  # two groups: nothing sealed


def test_the_group_column_is_the_one_test_csv_splits_off_by() -> None:
    train, test = _patients(range(0, 60)), _patients(range(60, 80))
    t = pa.Table.from_pandas(train.astype(str), preserve_index=False)
    u = pa.Table.from_pandas(test.astype(str), preserve_index=False)
    names = ["patient", "ward", "dose"]
    assert columns.group_column(names, t, u, lambda c: t.column(c), None) == "patient"
    mixed = pa.Table.from_pandas(pd.concat([train, test.head(60)]).astype(str), preserve_index=False)
    assert columns.group_column(names, mixed, u, lambda c: mixed.column(c), None) is None  # test patients seen before
    assert columns.group_column(names, t, u, lambda c: t.column(c), "none") is None
    assert columns.group_column(names, t, u, lambda c: t.column(c), "ward") == "ward"
    with pytest.raises(UsageError, match="--group-column 'nope'"):
        columns.group_column(names, t, u, lambda c: t.column(c), "nope")


def test_the_cluster_bootstrap_is_wider_when_rows_of_a_group_move_together() -> None:
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(30), 10)
    truth = rng.normal(size=300)
    pred = truth + rng.normal(0, 1, 30)[groups] + rng.normal(0, 0.1, 300)  # errors shared within a group
    scorer = Scorer(parse_metric("Minimize RMSE"), truth, pred)
    _, low, high, _, method = bootstrap(scorer, 0)
    _, g_low, g_high, _, g_method = bootstrap(scorer, 0, groups=groups)
    assert (g_high - g_low) > 2 * (high - low) and "300 rows in 30 groups" in g_method and "groups" not in method


def test_prep_seals_whole_groups_and_the_estimate_resamples_them(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    _patients(range(0, 100)).to_csv(d / "train.csv", index=False)
    _patients(range(100, 130)).drop(columns="response").to_csv(d / "test.csv", index=False)
    prep = task_prep.prepare_task(d, tmp_path / "task", tmp_path / "sealed", goal="g",
                                  metric=parse_metric("Minimize RMSE"), seed=0)
    assert prep.split["kind"] == "group" and prep.task.group_column == "patient"
    assert "groups by 'patient'" in prep.task.description() and "GroupKFold" in prep.task.description()
    train = pd.read_csv(tmp_path / "task" / "input" / "train.csv")
    sealed_rows = pd.concat([pd.read_csv(tmp_path / "sealed" / f) for f in (grading.SELECTION, grading.FINAL)])
    sealed_patients = set(_patients(range(0, 100)).set_index("row_id").loc[sealed_rows["row_id"], "patient"])
    assert sealed_patients and not sealed_patients & set(train["patient"])  # no patient on both sides
    groups = pd.read_csv(tmp_path / "sealed" / grading.FINAL_GROUPS)
    assert len(groups) == len(pd.read_csv(tmp_path / "sealed" / grading.FINAL))
    test = pd.read_csv(tmp_path / "task" / "input" / "test.csv")
    test.assign(response=0.0)[["row_id", "response"]].to_csv(tmp_path / "sub.csv", index=False)
    estimate = grading.final_estimate(prep.task, tmp_path / "sealed", tmp_path / "sub.csv", node_id="n", seed=0,
                                      split="group")
    assert estimate is not None and f"in {groups['patient'].nunique()} groups" in estimate.method
    flat = task_prep.prepare_task(d, tmp_path / "t2", tmp_path / "s2", goal="g", metric=parse_metric("Minimize RMSE"),
                                  seed=0, group_column="none")
    assert flat.split["kind"] == "random" and not (tmp_path / "s2" / grading.FINAL_GROUPS).exists()


def test_baseline_folds_hold_out_whole_groups() -> None:
    from loom.adapters.search.baseline_program.scoring import folds

    groups = np.repeat(np.array([f"g{i}" for i in range(40)]), 5)
    y = pd.Series(np.tile(["a", "b"], 100))
    for classify in (True, False):
        data = SimpleNamespace(y=y if classify else pd.Series(np.arange(200.0)), classify=classify, groups=groups,
                               time_order=lambda: None)
        for train, valid in folds(data, 5, 2, 0):
            assert not set(groups[train]) & set(groups[valid])
