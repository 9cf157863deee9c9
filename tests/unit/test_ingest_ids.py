"""`loom ingest` names the same id a run delivers its submission by: a CustomerID, a PassengerId or a
sample_submission.csv's key. Before, its narrower name rule missed them, eda flagged the key as an
id-like leak, `features` dropped it, and the pipeline's run delivered Loom's own row numbers. And a
spreadsheet's blank rows (",,,,") are left out, before the types are settled: an int id stays int."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from loom.adapters.mlops.metaflow import ingest_prep as ip


def _back(value: Any) -> Any:
    return None if value is None else pickle.loads(pickle.dumps(value, protocol=4))


def _data(root: Path, key: str, *, sample: list[str] | None = None, keys: list[Any] | None = None) -> Path:
    rng = np.random.default_rng(0)
    d = root / "d"
    d.mkdir()
    ids = keys if keys is not None else list(range(1000, 1100))
    frame = pd.DataFrame({key: ids, "x": rng.normal(size=100).round(3), "y": rng.normal(size=100).round(3)})
    frame.iloc[:80].to_csv(d / "train.csv", index=False)
    frame.iloc[80:].drop(columns="y").to_csv(d / "test.csv", index=False)
    if sample:
        frame.iloc[80:][[key]].assign(y=0.0)[sample].to_csv(d / "sample_submission.csv", index=False)
    return d


@pytest.mark.parametrize(("key", "sample"), [("PassengerId", None), ("CustomerID", None), ("Listing ID", None),
                                             ("key", ["y", "key"]), ("ref", ["ref", "y"])])
def test_the_runs_id_is_the_data_objects_id(tmp_path: Path, key: str, sample: list[str] | None) -> None:
    prepared, _ = ip.prepare_source(_data(tmp_path, key, sample=sample), tmp_path / "plain", target=None, seed=0,
                                    test_fraction=0.2, time_column=None)
    assert prepared.schema["target"] == "y" and prepared.schema["id_columns"][0] == key


def test_a_key_named_like_an_id_that_repeats_is_no_id(tmp_path: Path) -> None:
    prepared, _ = ip.prepare_source(_data(tmp_path, "PassengerId", keys=[i // 2 for i in range(100)]),
                                    tmp_path / "plain", target=None, seed=0, test_fraction=0.2, time_column=None)
    assert "PassengerId" not in prepared.schema["id_columns"]


def test_blank_rows_are_left_out_and_an_int_column_stays_int(tmp_path: Path) -> None:
    d = _data(tmp_path, "CustomerID")
    for name in ("train.csv", "test.csv"):
        path = d / name
        width = len(path.read_text().splitlines()[0].split(","))
        path.write_text(path.read_text() + ("," * (width - 1) + "\n") * 3)
    prepared, notes = ip.prepare_source(d, tmp_path / "plain", target=None, seed=0, test_fraction=0.2,
                                        time_column=None)
    assert notes == ["train.csv: 3 blank rows (every field empty) left out",
                     "test.csv: 3 blank rows (every field empty) left out"]
    train, test = _back(prepared.stored[0]), _back(prepared.stored[1])
    assert len(train) == 80 and len(test) == 20 and str(test["CustomerID"].dtype) == "int64"
    assert prepared.schema["id_columns"] == ["CustomerID"] and prepared.schema["rows"] == {"train": 80, "test": 20}


def test_codes_written_with_leading_zeros_stay_text_and_a_first_column_of_codes_is_the_id(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    d = tmp_path / "d"
    d.mkdir()
    frame = pd.DataFrame({"code": [f"{i:06d}" for i in range(100)], "x": rng.normal(size=100).round(3),
                          "segment": [f"{k:02d}" for k in rng.integers(1, 5, 100)]})
    frame.iloc[:80].to_csv(d / "train.csv", index=False)
    frame.iloc[80:].drop(columns="segment").to_csv(d / "test.csv", index=False)
    prepared, _ = ip.prepare_source(d, tmp_path / "plain", target=None, seed=0, test_fraction=0.2, time_column=None)
    assert prepared.schema["target"] == "segment" and prepared.schema["id_columns"] == ["code"]
    train, test = _back(prepared.stored[0]), _back(prepared.stored[1])
    assert train["code"].tolist() == frame["code"].iloc[:80].tolist()  # "000007", not 7
    assert test["code"].tolist() == frame["code"].iloc[80:].tolist()
    assert sorted(set(train["segment"])) == sorted(set(frame["segment"].iloc[:80]))  # "04", not 4
    plain = tmp_path / "plain_numbers"  # numbers without leading zeros stay numbers
    plain.mkdir()
    frame.assign(code=range(100)).iloc[:80].to_csv(plain / "train.csv", index=False)
    got, _ = ip.prepare_source(plain, tmp_path / "p2", target=None, seed=0, test_fraction=0.2, time_column=None)
    assert dict((c["name"], c["dtype"]) for c in got.schema["columns"])["code"] == "int64"
