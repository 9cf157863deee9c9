"""test.csv repeating values of the key sample_submission.csv names is one line saying which (exit 2).
Before, Loom numbered the rows itself and delivered its own numbers under the user's header `id`:
a grader joining on id matched no row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loom.application.run_search import task_prep
from loom.domain.errors import UsageError
from loom.domain.metrics import parse_metric


def _data(tmp_path: Path, *, sample: bool, blank_id: bool = False) -> Path:
    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame({"id": np.arange(7000, 7000 + n), "x": rng.normal(size=n).round(3)})
    frame["y"] = (frame.x + rng.normal(size=n)).round(3)
    src = tmp_path / "d"
    src.mkdir()
    frame.iloc[:300].to_csv(src / "train.csv", index=False)
    test = frame.iloc[300:].drop(columns="y").reset_index(drop=True)
    if sample:
        test[["id"]].assign(y=0).to_csv(src / "sample_submission.csv", index=False)
    test["id"] = test["id"].astype("Int64")
    test.loc[5:9, "id"] = test.loc[0, "id"]  # six rows share one id
    test.loc[20:21, "id"] = test.loc[1, "id"]
    if blank_id:
        test.loc[30, "id"] = pd.NA
    test.to_csv(src / "test.csv", index=False)
    return src


def _prepare(src: Path, tmp_path: Path) -> task_prep.Prepared:
    return task_prep.prepare_task(src, tmp_path / "task", tmp_path / "sealed", goal="g",
                                  metric=parse_metric("Minimize RMSE"), seed=0)


def test_repeated_ids_of_the_samples_key_are_refused_naming_them(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as err:
        _prepare(_data(tmp_path, sample=True), tmp_path)
    assert str(err.value) == ("test.csv repeats 2 values of 'id' (7300 (6 rows), 7301 (3 rows)), the key "
                              "sample_submission.csv names; a submission holds one row per id: give each test "
                              "row its own id (or drop the repeated rows)")


def test_a_blank_id_is_said_too(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"repeats 2 values of 'id' .* and leaves 'id' empty in 1 row,"):
        _prepare(_data(tmp_path, sample=True, blank_id=True), tmp_path)


def test_without_a_sample_a_repeating_id_is_a_column_and_loom_numbers_the_rows(tmp_path: Path) -> None:
    prep = _prepare(_data(tmp_path, sample=False), tmp_path)
    assert prep.task.id_column == "_id"  # its own name: never the user's `id` with other values
