"""Scale-out as far as it can be proven without a cluster: the exact `--with` command line.

`LOOM_METAFLOW_WITH` is passed through to Metaflow, never emulated. A recording interpreter
(LOOM_PYTHON) stands in for the flow process: it stores the CandidateInput as a run would (prints
nothing, writes a run id) and records the CandidateRun command line, which the test compares with
what Metaflow's CLI expects for remote steps. That Metaflow accepts and compiles these decospecs is
proven in test_metaflow_s3.py (the Argo Workflows template, compiled offline).
"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

pytest.importorskip("metaflow")

from loom.adapters.mlops.metaflow import MetaflowMLOps  # noqa: E402
from loom.adapters.mlops.metaflow.executor import CANDIDATE_FLOW  # noqa: E402
from loom.application.config import LoomConfig  # noqa: E402
from loom.application.ports.mlops import ExecRequest  # noqa: E402

RECORDER = """#!{python}
import json, sys
from pathlib import Path
argv = sys.argv
with open({log!r}, "a") as fh:
    fh.write(json.dumps(argv) + "\\n")
if "--run-id-file" in argv:
    Path(argv[argv.index("--run-id-file") + 1]).write_text("1")
if argv[1].endswith("candidate_input.py"):
    sys.exit(0)
print("kubernetes: no cluster here (recording interpreter)", file=sys.stderr)
sys.exit(1)
"""


def test_loom_metaflow_with_kubernetes_is_the_exact_metaflow_command_line(tmp_path: Path, monkeypatch) -> None:
    log = tmp_path / "argv.jsonl"
    fake = tmp_path / "python"
    fake.write_text(RECORDER.format(python=sys.executable, log=str(log)))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    data = tmp_path / "input"
    data.mkdir()
    (data / "train.csv").write_text("id,target\n1,0\n")
    monkeypatch.setenv("METAFLOW_PROFILE", "remote")  # a remote step needs the user's own Metaflow
    config = LoomConfig.load(env_file=None, flags={
        "python": str(fake), "metaflow_with": "kubernetes:cpu=2,memory=4096;retry:times=1", "home": str(tmp_path / "home")})
    result = MetaflowMLOps(config).execute(ExecRequest(code="print(1)", input_dir=data, timeout=30, run_id="s1",
                                                       node_id="n1", experiment_id="e1"))
    assert result.exc_type == "MetaflowRunFailed" and "no cluster here" in result.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [Path(c[1]).name for c in calls] == ["candidate_input.py", "candidate_run.py"]
    argv = calls[1]
    assert argv[:5] == [str(fake), str(CANDIDATE_FLOW), "--no-pylint", "run", "--run-id-file"]
    tail = argv[argv.index("--with"):]
    assert tail == ["--with", "kubernetes:cpu=2,memory=4096", "--with", "retry:times=1"]
    options = dict(zip(argv[6:argv.index("--with"):2], argv[7:argv.index("--with"):2]))
    assert options["--input"] == "CandidateInput/1" and options["--node"] == "n1" and options["--search-run"] == "s1"
    assert "--workspace" not in options  # a remote step makes its own folder
    spec = json.loads(options["--sandbox"])
    assert spec["sandbox"] == "auto" and spec["input_cache"] == ""  # chosen and materialized on the remote machine
    tags = [argv[i + 1] for i, a in enumerate(argv) if a == "--tag"]
    assert {"loom_run:s1", "experiment:e1", "node:n1"} <= set(tags)
