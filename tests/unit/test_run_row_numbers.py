"""A pandas index written along (`to_csv()` without `index=False`): an unnamed first column that
numbers the rows of train.csv and again of test.csv. It is left out of the candidates' data: in a
train.csv sorted by the target it predicted the sealed rows perfectly (estimate RMSE 0.08) and
test.csv not at all (held-out RMSE 3.1, against a noise floor of 0.5)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from loom.application.run_search import task_prep
from loom.application.run_search.assessment import assessment_warnings
from loom.domain.metrics import parse_metric


def _frames(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(500, 2))
    frame = pd.DataFrame({"a": x[:, 0].round(4), "b": x[:, 1].round(4), "y": (2 * x[:, 0] + x[:, 1]).round(4)})
    train = frame.iloc[:400].sort_values("y").reset_index(drop=True)  # sorted by the target
    return train, frame.iloc[400:].drop(columns="y").reset_index(drop=True)


def _prepare(tmp: Path, data: Path) -> task_prep.Prepared:
    return task_prep.prepare_task(data, tmp / "task", tmp / "sealed", goal="g", metric=parse_metric("Minimize RMSE"),
                                  seed=0)


def test_a_written_pandas_index_is_left_out_and_said(tmp_path: Path) -> None:
    train, test = _frames()
    data = tmp_path / "d"
    data.mkdir()
    train.to_csv(data / "train.csv")  # the index goes along, unnamed
    test.to_csv(data / "test.csv")
    prep = _prepare(tmp_path, data)
    assert prep.row_numbers == ["Unnamed: 0"]
    assert prep.task.columns == ("a", "b") and prep.task.id_column == "id"  # Loom numbers the rows itself
    seen_train = pd.read_csv(tmp_path / "task" / "input" / "train.csv")
    seen_test = pd.read_csv(tmp_path / "task" / "input" / "test.csv")
    assert list(seen_train.columns) == ["id", "a", "b", "y"] and list(seen_test.columns) == ["id", "a", "b"]
    screen = {"row_numbers": prep.row_numbers, "flagged": [
        {"column": "Unnamed: 0", "kind": "id_like", "detail": "a row key", "fix": "drop it"}]}
    warnings = assessment_warnings(prep.task, None, None, prep.split, screen)
    assert warnings == ["column 'Unnamed: 0' only numbers the rows of each file (0, 1, 2, ... in train.csv and again "
                        "in test.csv: a pandas index written along): left out of the candidates' data, since where "
                        "a row sits in its file says nothing about it"]


def test_a_first_column_that_goes_on_counting_in_test_is_the_id(tmp_path: Path) -> None:
    train, test = _frames()
    data = tmp_path / "d"
    data.mkdir()
    train.assign(key=range(400)).set_index("key").to_csv(data / "train.csv")
    test.assign(key=range(400, 500)).set_index("key").to_csv(data / "test.csv")
    prep = _prepare(tmp_path, data)
    assert prep.row_numbers == [] and prep.task.id_column == "key"


def test_an_id_numbered_afresh_in_each_file_stays_the_id(tmp_path: Path) -> None:
    """A column named like an id is the user's key for their submission, whatever its values."""
    train, test = _frames()
    data = tmp_path / "d"
    data.mkdir()
    train.rename_axis("id").to_csv(data / "train.csv")
    test.rename_axis("id").to_csv(data / "test.csv")
    prep = _prepare(tmp_path, data)
    assert prep.row_numbers == [] and prep.task.id_column == "id"


def test_a_first_feature_that_counts_in_train_only_is_kept(tmp_path: Path) -> None:
    train, test = _frames()
    data = tmp_path / "d"
    data.mkdir()
    train.insert(0, "rank", range(1, 401))
    test.insert(0, "rank", np.random.default_rng(3).integers(1, 400, 100))
    train.to_csv(data / "train.csv", index=False)
    test.to_csv(data / "test.csv", index=False)
    prep = _prepare(tmp_path, data)
    assert prep.row_numbers == [] and "rank" in prep.task.columns
