"""Copies of train.csv's rows that test.csv's rows are not: found by a row key over the shared
features, and sealed whole so that a memorised row is never graded on its own copy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from loom.application.run_search import copies, grading, task_prep
from loom.domain.metrics import parse_metric


def _keys(rows: dict[str, list[str]], keys: copies.RowKeys | None = None) -> np.ndarray:
    keys = keys or copies.RowKeys(list(rows))
    return keys.rows(pa.table({k: pa.array(v, pa.string()) for k, v in rows.items()}))


def test_a_rows_key_is_its_values_numbers_by_value() -> None:
    k = _keys({"x": ["1.5", "1.50", " 1.5", "2", "", "1.5"], "c": ["a", "a", "a", "a", "a", "b"]})
    assert k[0] == k[1] == k[2]  # one number, written three ways
    assert len({k[0], k[3], k[4], k[5]}) == 4  # another number, a blank, another category


def test_keys_differ_for_rows_that_differ_in_one_value_anywhere() -> None:
    rng = np.random.default_rng(0)
    base = {"a": [f"{v:.6f}" for v in rng.normal(size=2000)], "t": [f"word{v}" for v in rng.integers(0, 50, 2000)],
            "long": ["x" * int(n) for n in rng.integers(0, 300, 2000)]}
    k = _keys(base)
    assert len(set(k.tolist())) == len(set(zip(*base.values())))
    swapped = {"a": base["t"][:10], "t": base["a"][:10], "long": base["long"][:10]}  # same values, other columns
    assert not set(_keys(swapped).tolist()) & set(k.tolist())


def test_a_numeric_columns_later_text_keeps_its_numbers_keys() -> None:
    keys = copies.RowKeys(["x"])
    first = _keys({"x": ["1", "2.0", "3"]}, keys)  # numbers: hashed by value
    later = _keys({"x": ["2", "unknown", "3.00", ""]}, keys)  # a chunk the float cast refuses
    assert later[0] == first[1] and later[2] == first[2] and later[1] != later[3]
    text = copies.RowKeys(["x"])
    _keys({"x": ["a", "b"]}, text)  # text first: hashed by bytes from then on
    assert _keys({"x": ["1", "1.0"]}, text)[0] != _keys({"x": ["1", "1.0"]}, text)[1]


@pytest.mark.parametrize(("copied", "test_copied", "whole"), [(0.9, 0.0, True), (0.3, 0.1, True), (0.3, 0.3, False),
                                                               (0.005, 0.0, False), (0.0, 0.0, False)])
def test_copies_are_sealed_whole_only_when_test_csv_repeats_train_less(copied: float, test_copied: float,
                                                                       whole: bool) -> None:
    rng = np.random.default_rng(1)
    n = 10_000
    keys = rng.integers(0, 2**63, n, dtype=np.uint64)
    k = int(n * copied / 2)
    keys[n - k:] = keys[:k]  # k pairs: 2k rows with a copy
    test = rng.integers(0, 2**63, 1000, dtype=np.uint64)
    test[: int(1000 * test_copied)] = keys[: int(1000 * test_copied)]
    found = copies.judge(keys, test)
    assert found.rows == 2 * k and found.share == pytest.approx(copied, abs=1e-3)
    assert found.test_share == pytest.approx(test_copied, abs=1e-3)
    assert found.sealed_whole is whole
    if whole:
        assert found.codes is not None and len(found.codes) == n
        assert (found.codes[n - k:] == found.codes[:k]).all() and len(set(found.codes.tolist())) == n - k


def _dups(root: Path, *, test_copies: bool) -> Path:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(700, 3)).round(3)
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": (x[:, 0] + rng.normal(size=700)).round(3)})
    base, test = frame.iloc[:600], frame.iloc[600:]
    train = base.loc[base.index.repeat(rng.integers(1, 4, 600))].sample(frac=1, random_state=1).reset_index(drop=True)
    if test_copies:  # test.csv's rows are copies of train.csv's as often: nothing to change
        test = train.drop_duplicates(subset=["a", "b", "c"]).iloc[:100]
        train = train.sample(frac=1, random_state=2)
    d = root / "d"
    d.mkdir()
    train.insert(0, "id", np.arange(len(train)))
    train.to_csv(d / "train.csv", index=False)
    test.drop(columns="y").assign(id=np.arange(10_000, 10_000 + len(test))).to_csv(d / "test.csv", index=False)
    return d


def test_a_run_seals_each_set_of_copies_on_one_side(tmp_path: Path) -> None:
    prep = task_prep.prepare_task(_dups(tmp_path, test_copies=False), tmp_path / "task", tmp_path / "sealed",
                                  goal="g", metric=parse_metric("RMSE"), seed=0)
    assert prep.split["kind"] == "copies" and prep.notes and "sealed whole" in prep.notes[0]
    assert prep.task.copies and "GroupKFold over identical feature rows" in prep.task.description()  # an LLM brain is told
    train = pd.read_csv(tmp_path / "task" / "input" / "train.csv")
    test = pd.read_csv(tmp_path / "task" / "input" / "test.csv")
    sealed = pd.concat([pd.read_csv(tmp_path / "sealed" / name) for name in (grading.SELECTION, grading.FINAL)])
    sealed_rows = test[test["id"].isin(sealed["id"])]
    seen = set(map(tuple, train[["a", "b", "c"]].to_numpy().round(3)))
    assert len(sealed_rows) == len(sealed) > 0
    assert not any(tuple(r) in seen for r in sealed_rows[["a", "b", "c"]].to_numpy().round(3))
    groups = pd.read_csv(tmp_path / "sealed" / grading.FINAL_GROUPS)
    assert len(groups) == prep.split["rows"]["final"] and groups.iloc[:, 0].nunique() < len(groups)


def test_copies_test_csv_shares_leave_the_split_as_it_was(tmp_path: Path) -> None:
    prep = task_prep.prepare_task(_dups(tmp_path, test_copies=True), tmp_path / "task", tmp_path / "sealed",
                                  goal="g", metric=parse_metric("RMSE"), seed=0)
    assert prep.split["kind"] == "random" and not prep.notes and not prep.task.copies
    assert not (tmp_path / "sealed" / grading.FINAL_GROUPS).exists()


def test_missing_markers_in_numbers_are_one_missing_value_and_stay_fast() -> None:
    keys = copies.RowKeys(["x"])
    first = _keys({"x": ["1", "?", "NA", "", "2.50"]}, keys)
    assert first[1] == first[2] == first[3] and first[0] != first[1]
    later = _keys({"x": ["n/a", "2.5", "seven", "1.0"]}, keys)  # "seven": the per-value path
    assert later[0] == first[1] and later[1] == first[4] and later[3] == first[0]
    assert len(set(later.tolist())) == 4
