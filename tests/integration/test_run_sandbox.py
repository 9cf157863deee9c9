"""Run-level promises of the sandbox issue, through `loom run` for real.

- a cheating candidate that hunts for the sealed labels cannot become best;
- a secret a candidate manages to print (without isolation) never reaches the journal, the corpus,
  tree.html, the leaderboard, a Metaflow card or the LLM prompt;
- Ctrl-C kills every candidate process and removes its temporary folder (both executors);
- two writers on one run folder: the second exits 2 naming the first's pid; a stale lock is taken over.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from loom.adapters import sandbox as sandboxes
from loom.entrypoints.cli.app import main
from tests.fakes.env import default_sigint
from tests.fakes.llm_server import FakeLLMServer

ROOT = Path(__file__).resolve().parents[2]
CHURN = ROOT / "examples" / "churn"
LOOM = [sys.executable, "-m", "loom.entrypoints.cli.app"]
RUN = ["run", "--data", str(CHURN), "--goal", "Predict churn", "--metric", "Maximize ROC-AUC", "--json"]
needs_bwrap = pytest.mark.skipif(not sandboxes.probe()[0], reason="bubblewrap cannot run here")

CHEAT = '''Plan: find the answers.

```python
import csv, os
best = None
for top in ("..", "../..", "../../..", "/", os.path.expanduser("~"), os.environ.get("LOOM_HOME", "/nonexistent")):
    for root, dirs, files in os.walk(top):
        if root.count(os.sep) > 12:
            dirs[:] = []
        if "holdout.csv" in files:
            best = os.path.join(root, "holdout.csv")
            break
    if best:
        break
test = list(csv.DictReader(open("input/test.csv")))
labels = {}
if best:
    for row in csv.DictReader(open(best)):
        labels[row["customer_id"]] = row["churn"]
print("found", best)
print("Validation metric: 0.5")
os.makedirs("working", exist_ok=True)
with open("working/submission.csv", "w") as fh:
    fh.write("customer_id,churn\\n")
    for row in test:
        fh.write(row["customer_id"] + "," + str(float(labels.get(row["customer_id"], 0.5))) + "\\n")
```
'''

HONEST = '''Plan: a small linear model.

```python
import pandas as pd
from sklearn.linear_model import LogisticRegression
tr = pd.read_csv("input/train.csv"); te = pd.read_csv("input/test.csv")
X = pd.get_dummies(tr.drop(columns=["customer_id", "churn"]), dtype=float).fillna(0)
Xt = pd.get_dummies(te.drop(columns=["customer_id"]), dtype=float).reindex(columns=X.columns, fill_value=0).fillna(0)
m = LogisticRegression(max_iter=500).fit(X, tr["churn"])
print("Validation metric: 0.8")
pd.DataFrame({"customer_id": te["customer_id"], "churn": m.predict_proba(Xt)[:, 1]}).to_csv(
    "working/submission.csv", index=False)
```
'''


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    captured = capsys.readouterr()
    return int(exc.value.code or 0), (json.loads(captured.out) if captured.out.strip() else {"stderr": captured.err})


@pytest.fixture
def llm(fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, workdir: Path) -> FakeLLMServer:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-fake-key-0001")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_llm.base_url)
    return fake_llm


@needs_bwrap
def test_a_candidate_that_copies_the_labels_cannot_become_best(llm: FakeLLMServer,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    replies = iter([CHEAT, HONEST])
    llm.set_responder(lambda req: None if req.tool_name else next(replies, None))
    code, payload = _cli([*RUN, "--mlops", "local", "--steps", "2", "--num-drafts", "2", "--exec-timeout", "120"], capsys)
    assert code == 0 and payload["status"] == "OK", payload
    journal = json.loads(Path(payload["paths"]["journal"]).read_text())
    cheat, honest = journal["nodes"]
    assert "found None" in cheat["term_out"]  # nothing to find inside the sandbox
    assert cheat["selection"] == pytest.approx(0.5)
    assert payload["best"]["node_id"] == honest["id"] and honest["selection"] > 0.7


@pytest.mark.parametrize("mlops", ["local", "metaflow"])
def test_a_leaked_secret_is_redacted_everywhere_loom_writes_or_sends(
        mlops: str, llm: FakeLLMServer, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-ant-canary-" + uuid.uuid4().hex
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    leaked = tmp_path / "dotenv"  # without isolation a candidate can read the user's files
    leaked.write_text(f"ANTHROPIC_API_KEY={key}\n")
    leak = HONEST.replace('print("Validation metric: 0.8")',
                          f'print("found:", open({str(leaked)!r}).read())\nprint("Validation metric: 0.8")')
    llm.set_responder(lambda req: None if req.tool_name else leak)
    code, payload = _cli([*RUN, "--mlops", mlops, "--sandbox", "none", "--steps", "1", "--exec-timeout", "120"], capsys)
    assert code == 0 and payload["status"] == "OK", payload
    home = Path(os.environ["LOOM_HOME"])
    journal = Path(payload["paths"]["journal"]).read_text()
    assert "[REDACTED:ANTHROPIC_API_KEY]" in journal  # it was printed, and caught
    written = [journal, Path(payload["paths"]["corpus"]).read_text(), Path(payload["paths"]["tree"]).read_text(),
               Path(payload["paths"]["leaderboard"]).read_text()]
    written += [p.read_text(errors="replace") for p in home.rglob("*.html")]  # Metaflow cards too
    sent = [json.dumps(r.body) for r in llm.requests]
    assert len(sent) == 2 and all(key not in text for text in written + sent)


@pytest.mark.parametrize("mlops", ["local", "metaflow"])
def test_ctrl_c_kills_every_candidate_process_and_removes_its_folder(
        mlops: str, llm: FakeLLMServer, clean_env: Path, tmp_path: Path) -> None:
    marker = f"SPIN-{uuid.uuid4().hex[:8]}"
    spin = ("Plan: spin.\n\n```python\nimport subprocess, sys, time\n"
            f"subprocess.Popen([sys.executable, '-c', 'while True: pass  # {marker}'])\n"
            "while True:\n    time.sleep(0.05)\n```\n")
    llm.set_responder(lambda req: None if req.tool_name else spin)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "LOOM_HOME": str(clean_env), "TMPDIR": str(scratch)}
    proc = subprocess.Popen([*LOOM, *RUN, "--mlops", mlops, "--steps", "3", "--exec-timeout", "300"],
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)
    try:
        deadline = time.monotonic() + 180  # a guard against a hang, not a speed assertion
        while time.monotonic() < deadline and not _alive(marker):
            time.sleep(0.2)
        assert _alive(marker), "the candidate never started"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-2000:]
    time.sleep(0.5)
    assert _alive(marker) == []
    assert [p.name for p in scratch.iterdir() if p.name.startswith("loom-candidate-")] == []


def _alive(marker: str) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if marker in line]


def test_a_second_writer_is_refused_and_a_stale_lock_is_taken_over(clean_env: Path, workdir: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, first = _cli([*RUN, "--search", "baseline", "--mlops", "local", "--steps", "1"], capsys)
    assert code == 0, first
    run_id = first["run_id"]
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from loom.application.run_search.artifacts import RunStore; "
         "store = RunStore(Path(sys.argv[1]), sys.argv[2])\n"
         "with store.lock():\n    print('held', flush=True); time.sleep(120)", str(clean_env), run_id],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        code, refused = _cli(["run", "--resume", run_id, "--steps", "1", "--json"], capsys)
        assert code == 2 and refused["exit_code"] == 2 and refused["status"] == "USAGE_ERROR", refused
        assert f"run {run_id} is in use by pid {holder.pid}" in refused["message"]
    finally:
        holder.kill()
        holder.wait()
    code, resumed = _cli(["run", "--resume", run_id, "--steps", "1", "--json"], capsys)  # the holder died
    assert code == 0 and resumed["nodes"] == 2, resumed
