"""The delivered submission.csv lists the rows in the user's sample_submission.csv order: a grader
that compares row by row (or checks the ids line up with the sample) scored a submission in
test.csv's order as noise (held-out RMSE 3.0 against an estimate of 0.56)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loom.application.run_search import grading, task_prep
from loom.domain.metrics import parse_metric


def _data(root: Path, sample_ids: list[str] | None) -> tuple[Path, pd.DataFrame]:
    rng = np.random.default_rng(5)
    d = root / "d"
    d.mkdir()
    ids = [f"R{i:05d}" for i in rng.permutation(1000)[:260]]
    x = rng.normal(size=260).round(4)
    frame = pd.DataFrame({"rid": ids, "x": x, "value": (2 * x).round(4)})
    frame.iloc[:200].to_csv(d / "train.csv", index=False)
    test = frame.iloc[200:].drop(columns="value")
    test.to_csv(d / "test.csv", index=False)
    if sample_ids is not None:
        pd.DataFrame({"rid": sample_ids, "value": 0.0}).to_csv(d / "sample_submission.csv", index=False)
    return d, test


def _deliver(root: Path, d: Path) -> pd.DataFrame:
    prep = task_prep.prepare_task(d, root / "task", root / "sealed", goal="g", metric=parse_metric("RMSE"), seed=0)
    made = pd.read_csv(root / "task" / "input" / "test.csv", dtype={"rid": str})
    made["value"] = 2 * made["x"]  # a perfect candidate, in the candidates' (shuffled) order
    made[["rid", "value"]].to_csv(root / "sub.csv", index=False)
    grading.user_submission(prep.task, root / "sealed", root / "sub.csv", root / "out.csv")
    out = pd.read_csv(root / "out.csv", dtype={"rid": str})
    assert np.allclose(out["value"], 2 * out["rid"].map(made.set_index("rid")["x"]))  # each row kept its own prediction
    return out


def test_rows_follow_the_sample_submissions_order(tmp_path: Path) -> None:
    d, test = _data(tmp_path, None)
    order = np.random.default_rng(9).permutation(len(test))
    pd.DataFrame({"rid": test["rid"].to_numpy()[order], "value": 0.0}).to_csv(d / "sample_submission.csv", index=False)
    out = _deliver(tmp_path, d)
    assert out["rid"].tolist() == test["rid"].to_numpy()[order].tolist()
    assert out["rid"].tolist() != test["rid"].tolist()


@pytest.mark.parametrize("cut", [0, 1], ids=["no sample", "a sample listing other ids"])
def test_rows_follow_test_csv_without_a_sample_listing_its_ids(tmp_path: Path, cut: int) -> None:
    d, test = _data(tmp_path, None)
    if cut:  # a sample that lists one id fewer: its order cannot be the delivered one
        pd.DataFrame({"rid": test["rid"].iloc[::-1].iloc[cut:], "value": 0.0}).to_csv(d / "sample_submission.csv",
                                                                                       index=False)
    out = _deliver(tmp_path, d)
    assert out["rid"].tolist() == test["rid"].tolist()


def test_ids_written_otherwise_in_the_sample_keep_test_csvs_spelling(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    d = tmp_path / "d"
    d.mkdir()
    x = rng.normal(size=240).round(4)
    pd.DataFrame({"id": [f"{i:04d}" for i in range(200)], "x": x[:200], "value": 2 * x[:200]}).to_csv(
        d / "train.csv", index=False)
    ids = [f"{i:04d}" for i in range(200, 240)]
    pd.DataFrame({"id": ids, "x": x[200:]}).to_csv(d / "test.csv", index=False)
    pd.DataFrame({"id": [int(i) for i in ids[::-1]], "value": 0}).to_csv(d / "sample_submission.csv", index=False)
    prep = task_prep.prepare_task(d, tmp_path / "task", tmp_path / "sealed", goal="g", metric=parse_metric("RMSE"),
                                  seed=0)
    made = pd.read_csv(tmp_path / "task" / "input" / "test.csv", dtype={"id": str})
    made.assign(value=0.0)[["id", "value"]].to_csv(tmp_path / "sub.csv", index=False)
    grading.user_submission(prep.task, tmp_path / "sealed", tmp_path / "sub.csv", tmp_path / "out.csv")
    assert pd.read_csv(tmp_path / "out.csv", dtype=str)["id"].tolist() == ids[::-1]


@pytest.mark.parametrize("header", [["value", "rid"], ["Predicted", "rid"], ["rid", "Predicted"]])
def test_a_sample_with_the_target_first_is_read_and_written_in_its_order(tmp_path: Path, header: list[str]) -> None:
    d, test = _data(tmp_path, None)
    order = np.random.default_rng(1).permutation(len(test))
    ids = test["rid"].to_numpy()[order]
    pd.DataFrame({"rid": ids, header[0] if header[1] == "rid" else header[1]: 0.0})[header].to_csv(
        d / "sample_submission.csv", index=False)  # before: 'rid' taken for the target, exit 2
    prep = task_prep.prepare_task(d, tmp_path / "task", tmp_path / "sealed", goal="g", metric=parse_metric("RMSE"),
                                  seed=0)
    assert (prep.task.target, prep.task.id_column) == ("value", "rid")
    made = pd.read_csv(tmp_path / "task" / "input" / "test.csv", dtype={"rid": str})
    made["value"] = 2 * made["x"]
    made[["rid", "value"]].to_csv(tmp_path / "sub.csv", index=False)
    grading.user_submission(prep.task, tmp_path / "sealed", tmp_path / "sub.csv", tmp_path / "out.csv")
    out = pd.read_csv(tmp_path / "out.csv", dtype={"rid": str})
    assert list(out.columns) == header and out["rid"].tolist() == ids.tolist()
    predicted = out[[c for c in header if c != "rid"][0]]
    assert np.allclose(predicted, 2 * out["rid"].map(made.set_index("rid")["x"]))


def test_a_binary_sample_asking_for_one_column_per_class_gets_both_probabilities(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    d = tmp_path / "d"
    d.mkdir()
    x = rng.normal(size=260).round(4)
    animal = np.where(x + rng.normal(size=260) > 0, "dog", "cat")
    pd.DataFrame({"id": range(200), "x": x[:200], "animal": animal[:200]}).to_csv(d / "train.csv", index=False)
    pd.DataFrame({"id": range(200, 260), "x": x[200:]}).to_csv(d / "test.csv", index=False)
    pd.DataFrame({"id": range(200, 260), "cat": 0.5, "dog": 0.5}).to_csv(d / "sample_submission.csv", index=False)
    prep = task_prep.prepare_task(d, tmp_path / "task", tmp_path / "sealed", goal="g",
                                  metric=parse_metric("Minimize log loss"), seed=0)
    assert prep.task.target == "animal" and not prep.task.class_columns  # candidates write P(dog) in `animal`
    made = pd.read_csv(tmp_path / "task" / "input" / "test.csv")
    made["animal"] = 1 / (1 + np.exp(-made["x"]))
    made[["id", "animal"]].to_csv(tmp_path / "sub.csv", index=False)
    grading.user_submission(prep.task, tmp_path / "sealed", tmp_path / "sub.csv", tmp_path / "out.csv")
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["id", "cat", "dog"] and out["id"].tolist() == list(range(200, 260))
    assert np.allclose(out["dog"], 1 / (1 + np.exp(-x[200:]))) and np.allclose(out["cat"] + out["dog"], 1)


@pytest.mark.parametrize("metric", ["Maximize accuracy", "Maximize macro F1"])
def test_a_label_metric_with_a_sample_asking_one_column_per_class_gets_the_class_marked(tmp_path: Path,
                                                                                        metric: str) -> None:
    """id,a,b,c in the sample with accuracy: the delivered file has those columns, 1 under the predicted
    class (before: a column `kind` the sample does not have, and no word about it)."""
    rng = np.random.default_rng(3)
    d = tmp_path / "d"
    d.mkdir()
    x = rng.normal(size=300).round(4)
    kind = np.select([x < -0.5, x < 0.5], ["a", "b"], "c")
    pd.DataFrame({"id": range(240), "x": x[:240], "kind": kind[:240]}).to_csv(d / "train.csv", index=False)
    pd.DataFrame({"id": range(240, 300), "x": x[240:]}).to_csv(d / "test.csv", index=False)
    pd.DataFrame({"id": range(240, 300), "class_a": 0.3, "class_b": 0.3, "class_c": 0.4}).to_csv(
        d / "sample_submission.csv", index=False)
    prep = task_prep.prepare_task(d, tmp_path / "task", tmp_path / "sealed", goal="g", metric=parse_metric(metric), seed=0)
    assert any("one column per class (class_a, class_b, class_c)" in n and "1 in its column" in n for n in prep.notes)
    made = pd.read_csv(tmp_path / "task" / "input" / "test.csv")
    made["kind"] = np.select([made["x"] < -0.5, made["x"] < 0.5], ["a", "b"], "c")
    made[["id", "kind"]].to_csv(tmp_path / "sub.csv", index=False)
    grading.user_submission(prep.task, tmp_path / "sealed", tmp_path / "sub.csv", tmp_path / "out.csv")
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["id", "class_a", "class_b", "class_c"] and out["id"].tolist() == list(range(240, 300))
    assert (out[["class_a", "class_b", "class_c"]].sum(axis=1) == 1).all()
    picked = out[["class_a", "class_b", "class_c"]].idxmax(axis=1).str.removeprefix("class_")
    assert picked.tolist() == kind[240:].tolist()


def test_a_label_metric_with_a_two_column_sample_is_left_as_it_was(tmp_path: Path) -> None:
    d, _ = _data(tmp_path, None)
    prep = task_prep.prepare_task(d, tmp_path / "task", tmp_path / "sealed", goal="g", metric=parse_metric("RMSE"), seed=0)
    assert not grading.one_hot_asked(prep.task, ["rid", "value"]) and not prep.notes
