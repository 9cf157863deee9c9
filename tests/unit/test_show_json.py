"""`loom show --json`: JSON-native artifact values in full, frames and arrays summarised."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd

from loom.adapters.mlops.metaflow.artifact_json import to_json


def test_json_native_values_come_back_in_full() -> None:
    schema = {"columns": [{"name": f"c{i}", "dtype": "int64"} for i in range(300)], "rows": {"train": 10, "test": 0},
              "target": "y", "id_columns": ["id"], "nested": {"a": (1, 2.5, None, True)}}
    assert to_json(schema) == json.loads(json.dumps(schema))  # nothing truncated (300 columns)


def test_frames_and_arrays_are_summarised_and_everything_is_valid_json() -> None:
    frame = pd.DataFrame({"id": np.arange(100), "x": np.linspace(0, 1, 100), "when": pd.date_range("2024-01-01", periods=100)})
    out = to_json({"train": frame, "scores": np.arange(12.0).reshape(6, 2), "auc": np.float64(0.91),
                   "n": np.int64(3), "bad": math.nan, "at": dt.date(2024, 5, 1), "blob": b"abc"})
    train = out["train"]
    assert train["type"] == "DataFrame" and train["shape"] == [100, 3] and train["dtypes"]["x"] == "float64"
    assert len(train["head"]) == 5 and train["head"][0]["id"] == 0 and train["head"][0]["when"].startswith("2024-01-01")
    assert out["scores"] == {"type": "ndarray", "shape": [6, 2], "dtype": "float64",
                             "head": [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0], [8.0, 9.0]]}
    assert out["auc"] == 0.91 and out["n"] == 3 and out["bad"] is None and out["at"] == "2024-05-01"
    assert out["blob"] == {"type": "bytes", "bytes": 3}
    json.dumps(out, allow_nan=False)  # strict JSON: no NaN, no objects
