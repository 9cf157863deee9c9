"""Class labels come back spelled as train.csv writes them, surrounding spaces included: the UCI
adult files write " <=50K"; a submission of "<=50K" scored 0 against an exact-text grader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loom.application.run_search import grading, task_prep
from loom.domain.metrics import parse_metric


def test_labels_keep_train_csvs_spaces(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    d = tmp_path / "d"
    d.mkdir()
    train = pd.DataFrame({"id": range(300), "x": rng.normal(size=300).round(3),
                          "income": rng.choice([" <=50K", " >50K"], 300)})
    test = pd.DataFrame({"id": range(300, 340), "x": rng.normal(size=40).round(3)})
    train.to_csv(d / "train.csv", index=False)
    test.to_csv(d / "test.csv", index=False)
    prep = task_prep.prepare_task(d, tmp_path / "task", tmp_path / "sealed", goal="g",
                                  metric=parse_metric("Maximize accuracy"), seed=0)
    assert prep.task.classes == ("<=50K", ">50K")  # canonical inside Loom
    made = pd.read_csv(tmp_path / "task" / "input" / "test.csv")
    made["income"] = rng.choice(["<=50K", ">50K"], len(made))  # a candidate that strips its labels
    made[["id", "income"]].to_csv(tmp_path / "sub.csv", index=False)
    grading.user_submission(prep.task, tmp_path / "sealed", tmp_path / "sub.csv", tmp_path / "out.csv")
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert set(out["income"]) == {" <=50K", " >50K"}
    back = made.set_index("id")["income"]
    assert [" " + back[int(i)] for i in out["id"]] == out["income"].tolist()  # each row kept its prediction


def _regions(tmp_path: Path, *, r_style: bool) -> Path:
    rng = np.random.default_rng(7)
    d = tmp_path / "d"
    d.mkdir()
    x = rng.normal(size=300).round(3)
    train = pd.DataFrame({"id": range(300), "x": x.astype(object), "region": rng.choice(["NA", "EU", "AS"], 300)})
    if r_style:  # an R export: NA marks a missing value in every column
        train.loc[::7, "x"] = "NA"
    train.to_csv(d / "train.csv", index=False)
    pd.DataFrame({"id": range(300, 340), "x": rng.normal(size=40).round(3)}).to_csv(d / "test.csv", index=False)
    return d


def test_a_class_written_like_a_missing_value_is_exit_2_not_silently_dropped(tmp_path: Path) -> None:
    from loom.domain.errors import UsageError

    with pytest.raises(UsageError, match=r"target 'region' holds 'NA' in \d+ of its 300 rows") as exc:
        task_prep.prepare_task(_regions(tmp_path, r_style=False), tmp_path / "task", tmp_path / "sealed", goal="g",
                               metric=parse_metric("Maximize accuracy"), seed=0)
    assert "spell it otherwise" in (exc.value.hint or "")


def test_na_labels_in_an_r_export_are_missing_labels_and_said_so(tmp_path: Path) -> None:
    prep = task_prep.prepare_task(_regions(tmp_path, r_style=True), tmp_path / "task", tmp_path / "sealed", goal="g",
                                  metric=parse_metric("Maximize accuracy"), seed=0)
    assert prep.task.classes == ("AS", "EU") and prep.split["rows"]["unlabelled"] > 50
    assert any("holds 'NA'" in n and "missing label" in n for n in prep.notes)
