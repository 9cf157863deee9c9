"""End to end on Metaflow: a bad --port records no DeployFlow run; `loom run --data --json` names the
data object it ingested first; `loom ingest` refuses a --time-column that cannot apply."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("metaflow")

pytestmark = pytest.mark.slow
LOOM = [sys.executable, "-m", "loom.entrypoints.cli.app"]
CHURN = Path(__file__).resolve().parents[2] / "examples" / "churn"


def _loom(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LOOM, *args], capture_output=True, text=True, timeout=300)


def _json(*args: str) -> dict:
    proc = _loom(*args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _flows() -> list[str]:
    return [r["flow"] for r in _json("runs")["runs"]]


def test_a_bad_serve_port_is_exit_2_before_the_deploy_flow_runs() -> None:
    dataset = _json("ingest", "--source", str(CHURN))["pathspec"]
    validated = _json("validate", "--dataset", dataset)
    assert validated["verdict"] == "PASS", validated
    for port in ("99999", "-5"):
        proc = _loom("deploy", "--validate", validated["pathspec"], "--apply", "--serve", "--port", port)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip().splitlines() == [f"loom: --port must be between 1 and 65535 (got {port})"]
        assert "serving on" not in proc.stdout
    assert "DeployFlow" not in _flows()


def test_run_json_names_the_data_object_data_was_ingested_as() -> None:
    out = _json("run", "--mlops", "metaflow", "--search", "baseline", "--data", str(CHURN), "--goal", "Predict churn",
                "--metric", "Maximize ROC-AUC", "--steps", "1")
    assert out["status"] == "OK" and str(out["dataset"]).startswith("IngestDataset/"), out.get("dataset")
    manifest = json.loads(Path(out["paths"]["manifest"]).read_text())
    assert manifest["inputs"]["dataset"] == out["dataset"]
    assert out["dataset"] in [d["pathspec"] for d in _json("datasets")["datasets"]]


def test_ingest_time_column_a_file_names_its_columns_and_a_dir_refuses_it(tmp_path: Path) -> None:
    proc = _loom("ingest", "--source", str(CHURN / "train.csv"), "--time-column", "nosuch")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert "--time-column 'nosuch' is not a column" in line and "tenure_months" in line
    before = _flows().count("IngestDataset")
    proc = _loom("ingest", "--source", str(CHURN), "--time-column", "tenure_months")
    assert proc.returncode == 2 and "has its own train/test split" in proc.stderr
    assert _flows().count("IngestDataset") == before  # refused before any flow
    assert _json("ingest", "--source", str(CHURN), "--time-column", "none")["rows"]["train"] == 2000
