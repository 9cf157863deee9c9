"""Input checks of deploy / proxy serve / run / ingest: bad input is one line and exit 2 before any work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loom.domain.errors import UsageError
from loom.entrypoints.cli.app import main

CHURN = Path(__file__).resolve().parents[2] / "examples" / "churn"


def _main(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0)


def _no_work(monkeypatch: pytest.MonkeyPatch, module: str) -> list[str]:
    """Make `module`'s container_for record that work began (and fail the command)."""
    import importlib

    began: list[str] = []

    def container_for(*_a: object, **_k: object) -> object:
        began.append(module)
        raise RuntimeError("work began")

    monkeypatch.setattr(importlib.import_module(module), "container_for", container_for)
    return began


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ---- item 1: deploy --serve --port ----------------------------------------------------------
@pytest.mark.parametrize("port", ["99999", "65536", "-5", "0"])
def test_deploy_refuses_a_port_out_of_range_before_the_gate_runs(
        port: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    began = _no_work(monkeypatch, "loom.entrypoints.cli.deploy")
    code = _main(["deploy", "--validate", "ValidateFlow/1", "--apply", "--serve", "--port", port])
    line = _one_line(capsys.readouterr().err)
    assert code == 2 and "--port must be between 1 and 65535" in line and not began


def test_deploy_without_serve_ignores_the_port(monkeypatch: pytest.MonkeyPatch) -> None:
    began = _no_work(monkeypatch, "loom.entrypoints.cli.deploy")
    assert _main(["deploy", "--validate", "ValidateFlow/1", "--port", "99999"]) == 1 and began  # only --serve listens


def test_check_port_bounds() -> None:
    from loom.entrypoints.cli.ports import check_port

    assert check_port(1) == 1 and check_port(65535) == 65535 and check_port(0, any_free=True) == 0
    for bad, any_free in ((0, False), (65536, False), (-1, True), (65536, True)):
        with pytest.raises(UsageError, match="--port must be between"):
            check_port(bad, any_free=any_free)


# ---- item 2: proxy serve --port -------------------------------------------------------------
@pytest.mark.parametrize("port", ["99999", "-1"])
def test_proxy_serve_refuses_a_port_out_of_range_in_one_line(
        port: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from loom.entrypoints.gateway import server

    served: list[int] = []
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789")
    monkeypatch.setattr(server, "serve", lambda *_a, **k: served.append(k["port"]) or (_ for _ in ()).throw(
        RuntimeError("served")))
    code = _main(["proxy", "serve", "--port", port])
    line = _one_line(capsys.readouterr().err)
    assert code == 2 and "--port must be between 0 and 65535" in line and not served


# ---- item 3: run --data and --dataset ---------------------------------------------------------
def test_run_refuses_data_and_dataset_together_before_any_work(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    began = _no_work(monkeypatch, "loom.entrypoints.cli.run")
    code = _main(["run", "--data", str(CHURN), "--dataset", "IngestDataset/1", "--goal", "Predict churn",
                  "--metric", "Maximize ROC-AUC", "--search", "baseline"])
    line = _one_line(capsys.readouterr().err)
    assert code == 2 and "pass exactly one of --data" in line and not began


def test_the_run_use_case_refuses_data_and_dataset_together(tmp_path: Path) -> None:
    from loom.application.ports.observer import NullObserver
    from loom.application.run_search import RunRequest, sourcing

    request = RunRequest(data=CHURN, dataset="IngestDataset/1", goal="Predict churn")
    with pytest.raises(UsageError, match="pass exactly one of --data"):
        sourcing.source(request, object(), tmp_path / "sealed", NullObserver(), seed=0)
    assert not (tmp_path / "sealed").exists()


# ---- item 4: the run's JSON names its data object -----------------------------------------------
def _result(run_dir: Path, manifest: Path | None):  # type: ignore[no-untyped-def]
    from loom.domain.metrics import parse_metric
    from loom.domain.search import SearchResult
    from loom.domain.status import Status

    paths = {"run_dir": str(run_dir)} | ({"manifest": str(manifest)} if manifest else {})
    return SearchResult(run_id="r1", status=Status.OK, run_dir=str(run_dir), metric=parse_metric("Maximize accuracy"),
                        nodes=[], leaderboard=[], paths=paths)


def test_the_run_payload_names_the_dataset_the_manifest_records(tmp_path: Path) -> None:
    from loom.entrypoints.cli.run_render import payload

    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"inputs": {"data": "examples/churn", "dataset": "IngestDataset/42"}}))
    out = payload(_result(tmp_path, manifest))
    assert out["dataset"] == "IngestDataset/42" and list(out)[:4] == ["status", "run_id", "run_dir", "dataset"]
    assert payload(_result(tmp_path, None), "IngestDataset/7")["dataset"] == "IngestDataset/7"  # no manifest: the flag
    manifest.write_text(json.dumps({"inputs": {"data": "examples/churn", "dataset": None}}))
    assert payload(_result(tmp_path, manifest))["dataset"] is None  # --data without data objects (local)
    assert set(payload(_result(tmp_path, manifest))) == set(_result(tmp_path, manifest).to_dict()) | {"dataset"}


# ---- item 5: ingest --time-column -------------------------------------------------------------
def test_ingest_refuses_a_time_column_for_a_data_dir_before_any_flow(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    began = _no_work(monkeypatch, "loom.entrypoints.cli.ingest")
    for column in ("nosuch", "tenure_months"):
        code = _main(["ingest", "--source", str(CHURN), "--time-column", column])
        line = _one_line(capsys.readouterr().err)
        assert code == 2 and "has its own train/test split" in line and not began
    assert _main(["ingest", "--source", str(CHURN), "--time-column", "none"]) == 1 and began  # 'none' goes on


def test_ingest_prep_names_the_columns_of_an_unknown_time_column(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    from loom.adapters.mlops.metaflow import ingest_prep as ip
    from loom.adapters.mlops.metaflow import tabular as tb

    rows = "id,when,x,y\n" + "".join(f"{i},2024-01-{i + 1:02d},{i % 3},{i % 2}\n" for i in range(20))
    (tmp_path / "train.csv").write_text(rows)
    (tmp_path / "whole.csv").write_text(rows)
    for files in ({"train": tmp_path / "train.csv"}, {"single": tmp_path / "whole.csv"}):
        for prepare in (ip.prepare, ip.prepare_frames):
            with pytest.raises(tb.LoomInputError, match=r"--time-column 'nosuch' is not a column.*columns: id, when, x, y"):
                prepare(files, target="y", seed=0, test_fraction=0.2, time_column="nosuch")
    kept = ip.prepare({"train": tmp_path / "train.csv"}, target="y", seed=0, test_fraction=0.2, time_column="when")
    assert kept.split == {"kind": "given"}  # a dir's own split; a real column is no error (`loom run` seals by it)
    assert ip.prepare({"train": tmp_path / "train.csv"}, target="y", seed=0, test_fraction=0.2,
                      time_column="none").split == {"kind": "given"}
