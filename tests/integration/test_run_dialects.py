"""`loom run` on tables not written as UTF-8 comma CSV: a European spreadsheet export (';', decimal
commas, cp1252) and Parquet. The run reads them, says how in its warnings, hands the candidates
plain comma CSV with decimal points, and delivers a submission on the user's own ids whose grades
equal the metric recomputed from the candidates' files."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from loom.entrypoints.cli.app import main

sk = pytest.importorskip("sklearn.metrics")


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    area = rng.uniform(30, 150, n).round(2)
    city = rng.choice(["Köln", "Zürich", "Málaga"], n)
    rent = (area * np.select([city == "Zürich", city == "Köln"], [30, 15], 10) + rng.normal(0, 50, n)).round(2)
    return pd.DataFrame({"id": np.arange(n) + 1000 * seed, "ville": city, "surface": area, "loyer": rent})


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: Path, *extra: str) -> dict[str, Any]:
    monkeypatch.setenv("LOOM_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    with pytest.raises(SystemExit) as exc:
        main(["run", "--search", "baseline", "--data", str(data), "--goal", "Predict the rent",
              "--metric", "Minimize MAE", "--steps", "2", "--json", *extra])
    monkeypatch.undo()
    payload = json.loads(out.getvalue())
    assert (exc.value.code or 0) == 0 and payload["status"] == "OK", payload
    return payload


def _check_grades(payload: dict[str, Any], train: pd.DataFrame, *, nodes: bool = True) -> None:
    """Every selection grade and the estimate = MAE recomputed from the node's submission against the
    sealed labels, which are the user's own labels read right (decimal commas and all)."""
    from loom.application.run_search.artifacts import RunStore

    run_dir = Path(payload["run_dir"])
    sealed = RunStore(run_dir.parents[1], run_dir.name).sealed_dir
    truth = train.set_index("id")["loyer"]

    def graded(node_id: str, slice_name: str) -> float:
        labels = pd.read_csv(sealed / f"{slice_name}.csv").set_index("id")["loyer"]
        assert labels.to_dict() == truth.loc[labels.index].to_dict()
        preds = pd.read_csv(run_dir / "nodes" / node_id / "submission.csv").set_index("id")["loyer"]
        return sk.mean_absolute_error(labels, preds.loc[labels.index])

    for row in (r for r in payload["leaderboard"] if not r["buggy"] and nodes):
        assert row["selection"] == pytest.approx(graded(row["node_id"], "selection"), rel=1e-9)
    if nodes:  # (a Metaflow node's submission lives in its run, not under the run dir)
        assert payload["estimate"]["value"] == pytest.approx(graded(payload["best"]["node_id"], "final"), rel=1e-9)
    assert payload["estimate"]["value"] < truth.std() / 2  # learnt something: far under the rent's spread


def test_a_european_export_runs_as_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    data.mkdir()
    train, test = _frame(300, 0), _frame(40, 1).drop(columns="loyer")
    for name, frame in (("train.csv", train), ("test.csv", test)):
        (data / name).write_bytes(frame.to_csv(index=False, sep=";", decimal=",").encode("cp1252"))
    (data / "sample_submission.csv").write_bytes(
        test[["id"]].assign(Loyer=0).to_csv(index=False, sep=";").encode("cp1252"))
    payload = _run(tmp_path, monkeypatch, data, "--mlops", "local")

    assert payload["warnings"][:2] == [
        f"{name} was read as ';'-separated, cp1252 text{decimals}; the candidates get it as UTF-8 "
        "comma-separated CSV"
        for name, decimals in (("train.csv", ", with decimal commas in surface, loyer"),
                               ("test.csv", ", with decimal commas in surface"))]
    assert payload["warnings"][2] == ("sample_submission.csv was read as ';'-separated; the candidates get it as "
                                      "UTF-8 comma-separated CSV")  # ASCII: UTF-8 as it stands
    seen = pd.read_csv(Path(payload["run_dir"]) / "task" / "input" / "train.csv")
    assert seen["surface"].dtype == float and seen["loyer"].dtype == float  # numbers to the candidates
    assert set(seen["ville"]) == {"Köln", "Zürich", "Málaga"}
    _check_grades(payload, train)
    delivered = pd.read_csv(payload["paths"]["submission"])
    assert list(delivered.columns) == ["id", "Loyer"]  # the sample's header
    assert list(delivered["id"]) == list(test["id"]) and delivered["Loyer"].notna().all()
    assert delivered["Loyer"].std() > 100  # predictions that follow the rows, not one constant
    assert payload["refit"]["used"]


def test_parquet_tables_run_through_the_metaflow_ingest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    data.mkdir()
    train, test = _frame(300, 0), _frame(40, 1).drop(columns="loyer")
    train.astype({"ville": "category"}).to_parquet(data / "train.parquet")
    test.to_parquet(data / "test.parquet")
    payload = _run(tmp_path, monkeypatch, data, "--mlops", "metaflow")

    assert payload["warnings"][:2] == [f"{name}.parquet was read as Parquet; the candidates get it as UTF-8 "
                                       "comma-separated CSV" for name in ("train", "test")]
    _check_grades(payload, train, nodes=False)
    delivered = pd.read_csv(payload["paths"]["submission"])
    assert list(delivered["id"]) == list(test["id"]) and payload["refit"]["used"]
    assert all(row["pathspec"] for row in payload["leaderboard"])  # candidates ran as Metaflow runs
