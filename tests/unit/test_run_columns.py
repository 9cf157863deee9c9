"""Which columns a run uses: one target, the user's own key, and nothing test.csv lacks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from loom.application.run_search import assessment, columns, task_prep
from loom.domain.errors import UsageError
from loom.domain.metrics import parse_metric


def _data(d: Path, train: pd.DataFrame, test: pd.DataFrame) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    train.to_csv(d / "train.csv", index=False)
    test.to_csv(d / "test.csv", index=False)
    return d


def _prepare(tmp: Path, data: Path, metric: str = "Maximize accuracy", **kw):
    return task_prep.prepare_task(data, tmp / "task", tmp / "sealed", goal="g", metric=parse_metric(metric), seed=0, **kw)


def _toy(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"id": np.arange(n), "x": x, "c": rng.choice(["a", "b"], n),
                         "y": (x + rng.normal(size=n) > 0).astype(int)})


def test_a_sample_submission_asking_for_two_targets_is_refused_not_cut_to_one(tmp_path: Path) -> None:
    """Predicting only the first of y, y2 would silently simplify the user's task."""
    train = _toy(80).assign(y2=np.arange(80) * 0.5)
    d = _data(tmp_path / "d", train, train.drop(columns=["y", "y2"]).iloc[:10])
    pd.DataFrame({"id": range(10), "y": 0, "y2": 0.0}).to_csv(d / "sample_submission.csv", index=False)
    with pytest.raises(UsageError, match=r"asks for 2 target columns \(y, y2\).*--target y "):
        _prepare(tmp_path, d)
    prep = _prepare(tmp_path / "one", d, target="y")
    assert prep.task.target == "y" and prep.train_only == ["y2"]


def test_a_column_test_csv_lacks_is_left_out_of_the_candidates_data(tmp_path: Path) -> None:
    """A train-only column (here the target rounded) would be a feature no prediction can have."""
    train = _toy(200).assign(y_rounded=lambda f: f["y"] * 1.0)
    d = _data(tmp_path / "d", train, _toy(40, seed=1).drop(columns="y").assign(id=range(500, 540)))
    prep = _prepare(tmp_path, d, target="y", leaks="fail")  # not a leak failure: the column is left out first
    assert prep.train_only == ["y_rounded"] and "y_rounded" not in prep.task.columns
    assert "y_rounded" not in pd.read_csv(tmp_path / "task" / "input" / "train.csv").columns
    said = assessment.assessment_warnings(prep.task, None, None, prep.split, {"train_only": prep.train_only})
    assert any("'y_rounded' is in train.csv only" in w for w in said)


def test_the_users_key_names_the_rows_whatever_it_is_called(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    keys = rng.permutation(300) + 10_000
    train = _toy(240).drop(columns="id")
    train.insert(0, "key", keys[:240])
    test = _toy(60, seed=1).drop(columns=["id", "y"])
    test.insert(0, "key", keys[240:])
    prep = _prepare(tmp_path, _data(tmp_path / "d", train, test))
    assert prep.task.id_column == "key" and "key" not in prep.task.columns


@pytest.mark.parametrize("name, train, test, expected", [
    ("key", ["10", "11", "12"], ["13", "14"], True),
    ("ref", ["A-1", "B-7", "C-2"], ["D-9"], True),
    ("key", ["10", "11", "12"], ["12", "14"], False),  # a test value seen in train: not a row key
    ("key", ["10", "10", "12"], ["13"], False),  # repeats
    ("t", ["1", "2", "3"], ["4", "5"], False),  # a running time index is a feature
    ("day_number", ["1", "2", "3"], ["4"], False),
    ("when", ["2024-01-01", "2024-01-02"], ["2024-01-03"], False),  # dates
    ("note", ["a b c", "d e f"], ["g h"], False),  # unique text is text
    ("x", ["0.51", "0.72"], ["0.13"], False),  # decimals: a measurement
])
def test_a_key_by_values(name: str, train: list[str], test: list[str], expected: bool) -> None:
    assert columns.key_by_values(name, pa.chunked_array([train]), pa.chunked_array([test])) is expected


def test_the_delivered_submission_spells_ids_and_classes_as_the_users_files_do(tmp_path: Path) -> None:
    """A candidate's pandas reads "000244" as 244 and class "002" as 2; the user gets their own spelling back."""
    from loom.application.run_search import grading

    rng = np.random.default_rng(5)
    train = pd.DataFrame({"id": [f"{i:06d}" for i in range(300)], "x": rng.normal(size=300),
                          "grade": rng.choice(["001", "002", "010"], 300)})
    test = pd.DataFrame({"id": [f"{i:06d}" for i in range(300, 340)], "x": rng.normal(size=40)})
    prep = _prepare(tmp_path, _data(tmp_path / "d", train.astype(str), test.astype({"x": str})))
    assert prep.task.classes == ("1", "2", "10")  # Loom's canonical labels
    made = pd.read_csv(tmp_path / "task" / "input" / "test.csv")  # as a candidate reads it: ints
    made["grade"] = rng.choice([1, 2, 10], len(made))
    made[["id", "grade"]].to_csv(tmp_path / "sub.csv", index=False)
    rows = grading.user_submission(prep.task, tmp_path / "sealed", tmp_path / "sub.csv", tmp_path / "out.csv")
    out = pd.read_csv(tmp_path / "out.csv", dtype=str)
    assert rows == 40 and out["id"].tolist() == test["id"].tolist()
    assert set(out["grade"]) <= {"001", "002", "010"}
    back = made.assign(id=made["id"].map(lambda i: f"{i:06d}")).set_index("id")["grade"]
    assert [f"{back[i]:03d}" for i in out["id"]] == out["grade"].tolist()  # each row kept its own prediction


def test_labels_pandas_reads_as_missing_are_no_labels_and_other_words_are_counted(tmp_path: Path) -> None:
    train = _toy(200).astype({"y": object})
    train.loc[:9, "y"] = ["NA", "N/A", "null", "", "NaN", "NA", "NA", "None", "n/a", "<NA>"]
    test = _toy(20, seed=1).drop(columns="y").assign(id=range(900, 920))
    prep = _prepare(tmp_path, _data(tmp_path / "d", train, test))
    assert prep.task.classes == ("0", "1") and prep.split["rows"]["unlabelled"] == 10
    numbers = _toy(200).assign(y=lambda f: f["x"] * 2.0).astype({"y": object})
    numbers.loc[:2, "y"], numbers.loc[3:5, "y"] = "?", "NA"
    with pytest.raises(UsageError, match=r"holds text in 3 of its 197 labelled rows, such as '\?'") as err:
        _prepare(tmp_path / "r", _data(tmp_path / "dr", numbers, test), "Minimize RMSE")
    assert "blank them" in (err.value.hint or "")


def test_a_test_csv_carrying_the_target_never_hands_candidates_the_sealed_labels(tmp_path: Path) -> None:
    test = _toy(40, seed=1).assign(id=range(500, 540))  # labels included, as in a public test set
    prep = _prepare(tmp_path, _data(tmp_path / "d", _toy(200), test), target="y")
    given = pd.read_csv(tmp_path / "task" / "input" / "test.csv")
    assert "y" not in given.columns and len(given) == 40 + prep.split["rows"]["selection"] + prep.split["rows"]["final"]
    assert any("test.csv holds the target column 'y'" in n for n in prep.notes)
    said = assessment.assessment_warnings(prep.task, None, None, prep.split, {"notes": prep.notes})
    assert said == prep.notes


def test_the_delivered_submission_has_the_header_of_the_users_sample_submission(tmp_path: Path) -> None:
    from loom.application.run_search import grading

    train = _toy(200).rename(columns={"id": "Id", "y": "label"})
    test = _toy(30, seed=1).drop(columns="y").rename(columns={"id": "Id"}).assign(Id=range(900, 930))
    d = _data(tmp_path / "d", train, test)
    pd.DataFrame({"Id": test["Id"], "Predicted": 0.5}).to_csv(d / "sample_submission.csv", index=False)
    prep = _prepare(tmp_path, d, "Maximize ROC-AUC", target="label")
    assert prep.task.target == "label" and prep.task.id_column == "Id"
    made = pd.read_csv(tmp_path / "task" / "input" / "test.csv")[["Id"]].assign(label=0.25)  # what a candidate writes
    made.to_csv(tmp_path / "sub.csv", index=False)
    grading.user_submission(prep.task, tmp_path / "sealed", tmp_path / "sub.csv", tmp_path / "out.csv")
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["Id", "Predicted"] and out["Id"].tolist() == list(range(900, 930))


@pytest.mark.parametrize("asked, classes, expected", [
    (["class_0", "class_1", "class_2"], ["0", "1", "2"], {"class_0": "0", "class_1": "1", "class_2": "2"}),
    (["class_10", "class_11", "class_12"], ["10", "11", "12"], {"class_10": "10", "class_11": "11", "class_12": "12"}),
    (["prob_yes", "prob_no"], ["no", "yes"], {"prob_yes": "yes", "prob_no": "no"}),
    (["Class_2", "Class_1"], ["Class_1", "Class_2"], {"Class_2": "Class_2", "Class_1": "Class_1"}),
    (["a", "b"], ["0", "1"], None),  # named otherwise: left as Loom wrote it
])
def test_class_columns_are_matched_to_the_sample_headers(asked, classes, expected) -> None:  # noqa: ANN001
    from loom.application.run_search import grading

    assert grading.class_headers(asked, classes) == expected


def test_class_probabilities_are_delivered_under_the_sample_headers_in_its_order(tmp_path: Path) -> None:
    from loom.application.run_search import grading

    rng = np.random.default_rng(2)
    train = _toy(300).assign(y=rng.integers(0, 3, 300))
    test = _toy(30, seed=1).drop(columns="y").assign(id=range(900, 930))
    d = _data(tmp_path / "d", train, test)
    pd.DataFrame({"id": test["id"], "class_2": 0.3, "class_0": 0.3, "class_1": 0.4}).to_csv(d / "sample_submission.csv",
                                                                                             index=False)
    prep = _prepare(tmp_path, d, "Minimize log loss", target="y")
    made = pd.read_csv(tmp_path / "task" / "input" / "test.csv")[["id"]].assign(**{"0": 0.1, "1": 0.2, "2": 0.7})
    made.to_csv(tmp_path / "sub.csv", index=False)
    grading.user_submission(prep.task, tmp_path / "sealed", tmp_path / "sub.csv", tmp_path / "out.csv")
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["id", "class_2", "class_0", "class_1"]
    assert out[["class_2", "class_0", "class_1"]].iloc[0].tolist() == [0.7, 0.1, 0.2]
