"""The same honest numbers with `--mlops metaflow` (real flows on a temp local datastore), a single
CSV split by ingest and run alike (by time when it has dates), and `loom show --json` in full."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("metaflow")

from loom.entrypoints.cli.app import main  # noqa: E402
from tests.integration.test_run_estimates import CASES, fresh_split, sealed_dir  # noqa: E402

pytestmark = pytest.mark.slow


def _loom(argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict | None, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    try:
        payload = json.loads(out) if out.strip() else None
    except ValueError:
        payload = None
    return int(exc.value.code or 0), payload, err


def _dated(n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    x = rng.normal(size=n)
    days = pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d")
    df = pd.DataFrame({"id": np.arange(n), "opened": days, "x": x.round(4), "y": (x + rng.normal(0, 1, n) > 0).astype(int)})
    return df.sample(frac=1, random_state=1).reset_index(drop=True)  # the file is not in time order


def test_metaflow_run_reports_an_estimate_whose_interval_holds_the_fresh_score(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    case = CASES["breast_cancer"]
    given, fresh = fresh_split(case.frame(), case.target)
    data = tmp_path / "data"
    data.mkdir()
    given.to_csv(data / "train.csv", index=False)
    fresh.drop(columns=[case.target]).to_csv(data / "test.csv", index=False)
    monkeypatch.setenv("LOOM_HOME", str(tmp_path / "home"))
    code, payload, err = _loom(["run", "--json", "--search", "baseline", "--mlops", "metaflow", "--data", str(data),
                                "--target", "label", "--goal", "Predict the diagnosis", "--metric", "Maximize ROC-AUC",
                                "--steps", "2"], monkeypatch, capsys)
    assert code == 0 and payload is not None, err
    assert all(row["pathspec"] and row["pathspec"].startswith("CandidateRun/") for row in payload["leaderboard"])
    submission = pd.read_csv(payload["paths"]["submission"])
    assert list(submission["id"]) == list(fresh["id"])
    score = case.score(fresh[case.target].to_numpy(), submission)
    estimate = payload["estimate"]
    assert estimate["low"] <= score <= estimate["high"] and estimate["node_id"] == payload["best"]["node_id"]


def test_a_dated_file_splits_by_time_in_ingest_and_in_run_alike(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    df = _dated()
    source = tmp_path / "loans.csv"
    df.to_csv(source, index=False)
    monkeypatch.setenv("LOOM_HOME", str(tmp_path / "home"))
    code, payload, err = _loom(["run", "--json", "--search", "baseline", "--mlops", "metaflow", "--data", str(source),
                                "--target", "y", "--time-column", "opened", "--goal", "Predict y",
                                "--metric", "Maximize accuracy", "--steps", "1"], monkeypatch, capsys)
    assert code == 0 and payload is not None, err
    assert payload["split"]["kind"] == "time" and payload["split"]["time_column"] == "opened"
    journal = json.loads(Path(payload["paths"]["journal"]).read_text())
    pathspec = journal["task"]["dataset"]
    assert pathspec and pathspec.startswith("IngestDataset/")

    # `loom show --json`: JSON-native artifacts in full, frames summarised; --artifact prints one value
    code, shown, err = _loom(["show", pathspec, "--json"], monkeypatch, capsys)
    assert code == 0 and shown is not None, err
    artifacts = shown["artifacts"]
    assert artifacts["schema"]["target"] == "y" and {"name": "opened", "dtype": "object"} in artifacts["schema"]["columns"]
    assert artifacts["split"] == {"kind": "time", "time_column": "opened", "test_fraction": 0.2, "seed": 0}

    # and `loom ingest` finds the date column by itself
    code, ingested, err = _loom(["ingest", "--source", str(source), "--target", "y", "--json"], monkeypatch, capsys)
    assert code == 0 and ingested is not None, err
    code, split, _ = _loom(["show", ingested["pathspec"], "--artifact", "split", "--json"], monkeypatch, capsys)
    assert split["value"]["kind"] == "time" and split["value"]["time_column"] == "opened"
    train = artifacts["train"]
    assert train["type"] == "DataFrame" and train["shape"] == [192, 4] and train["dtypes"]["x"] == "float64"
    assert len(train["head"]) == 5 and set(train["head"][0]) == {"id", "opened", "x", "y"}
    code, one, _ = _loom(["show", pathspec, "--artifact", "schema", "--json"], monkeypatch, capsys)
    assert code == 0 and one["value"] == artifacts["schema"]
    code, _, err = _loom(["show", pathspec, "--artifact", "nope"], monkeypatch, capsys)
    assert code == 2 and "no artifact 'nope'" in err and "schema" in err

    # the data object's test rows are the latest 20% by date, and the run held out exactly those
    test_ids = pd.read_csv(sealed_dir(payload) / "test_ids.csv")["id"]
    latest = df.sort_values("opened")["id"].tail(48)
    assert sorted(test_ids) == sorted(latest)
    code, out, _ = _loom(["show", pathspec, "--artifact", "test", "--json"], monkeypatch, capsys)
    assert code == 0 and out["value"]["shape"] == [48, 3]
