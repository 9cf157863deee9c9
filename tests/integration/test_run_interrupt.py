"""A real Ctrl-C (SIGINT) on `loom run`: the run is saved, exit 130, and --resume continues it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.fakes.env import default_sigint

ROOT = Path(__file__).resolve().parents[2]
LOOM = [sys.executable, "-m", "loom.entrypoints.cli.app"]


def _journal(home: Path) -> dict | None:
    found = sorted((home / "runs").glob("*/journal.json")) if (home / "runs").is_dir() else []
    return json.loads(found[0].read_text()) if found else None


def test_sigint_saves_the_run_and_resume_continues(clean_env: Path, workdir: Path) -> None:
    home = clean_env
    env = {**os.environ, "LOOM_HOME": str(home)}
    proc = subprocess.Popen(
        [*LOOM, "run", "--search", "baseline", "--mlops", "local", "--data", str(ROOT / "examples" / "churn"),
         "--goal", "Predict churn", "--metric", "Maximize ROC-AUC", "--steps", "10"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint,
    )
    try:
        deadline = time.monotonic() + 120  # a guard against a hang, not a speed assertion
        while time.monotonic() < deadline:
            journal = _journal(home)
            if journal and journal["nodes"]:
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "STATUS INTERRUPTED" in out and "--resume" in out
    journal = _journal(home)
    assert journal["status"] == "INTERRUPTED"
    done = len(journal["nodes"])
    assert 1 <= done < 10 and all(n["exc_type"] != "Cancelled" for n in journal["nodes"])
    run_dir = home / "runs" / journal["run_id"]
    assert (run_dir / "leaderboard.json").is_file()

    resumed = subprocess.run([*LOOM, "run", "--resume", journal["run_id"], "--steps", "1", "--json"],
                             env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    payload = json.loads(resumed.stdout)
    assert payload["status"] == "OK" and payload["nodes"] == done + 1
