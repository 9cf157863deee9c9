"""The Executor contract (application/ports/mlops.py), run against every registered MLOps adapter
that implements it. A new executor is done when it passes this file unchanged.

A candidate's crash, hang or huge allocation is a result, never an exception; the input is never
touched (read-only inside an isolating sandbox, a copy otherwise); the submission is kept; output
is bounded. tests/contract/test_sandbox_contract.py adds the hostile cases per sandbox.

Every case runs twice per executor that can start candidates warm (LOOM_EXEC_WARM on: forked
from the warm pool, which the fixture checks really happened; off: a clean interpreter).
"""

from __future__ import annotations

import csv
import json
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from loom.application.config import LoomConfig
from loom.application.ports.mlops import ExecRequest, Executor
from loom.entrypoints import registry


def _executor(name: str, home: Path, warm: bool) -> Executor:
    try:
        cls = registry.load("mlops", name)
    except Exception as exc:  # noqa: BLE001 - an adapter still being built is skipped, not failed
        pytest.skip(f"{name}: {type(exc).__name__}: {exc}")
    if not callable(getattr(cls, "execute", None)):
        pytest.skip(f"{name} does not implement execute yet")
    if warm and not callable(getattr(cls, "warm_pool", None)):
        pytest.skip(f"{name} does not start candidates warm")
    return cls(LoomConfig.load(flags={"home": str(home), "mlops_provider": name, "exec_warm": warm}))


@pytest.fixture(params=[pytest.param((name, warm), id=f"{name}-{'warm' if warm else 'cold'}")
                        for name in registry.names("mlops") for warm in (True, False)])
def executor(request: pytest.FixtureRequest, clean_env: Path):  # noqa: ANN201
    name, warm = request.param
    executor = _executor(name, clean_env, warm)
    pool = executor.warm_pool(Path(tempfile.gettempdir())) if warm else None  # type: ignore[attr-defined]
    if pool is not None:
        assert pool.ready(), "the fork server did not become ready"  # else the cases would run cold
    forked = pool.forked if pool else 0
    yield executor
    if pool is not None:  # the warm variant really forked (a silent cold fallback would hide a bug)
        assert pool.forked > forked, f"no candidate started warm (declined {pool.declined})"


@pytest.fixture
def input_dir(tmp_path: Path) -> Path:
    d = tmp_path / "input"
    d.mkdir()
    (d / "train.csv").write_text("id,x,y\n1,0.5,1\n2,0.1,0\n")
    (d / "test.csv").write_text("id,x\n3,0.7\n")
    return d


def _run(executor: Executor, input_dir: Path, code: str, timeout: float = 60, cancel=None):  # noqa: ANN001, ANN202
    return executor.execute(ExecRequest(code=code, input_dir=input_dir, timeout=timeout, run_id="contract",
                                        node_id=uuid.uuid4().hex, cancel=cancel))


def test_a_good_candidate_reads_input_prints_and_keeps_its_submission(executor: Executor, input_dir: Path) -> None:
    before = (input_dir / "train.csv").read_text()
    code = (
        "import csv, os, sys\n"
        "rows = list(csv.DictReader(open('input/test.csv')))\n"
        "for _ in range(400):\n    sys.stdout.write('x' * 10000 + '\\n')\n"  # 4 MB of output: kept bounded
        "print('Validation metric: 0.75')\n"
        "with open('working/submission.csv', 'w') as f:\n"
        "    f.write('id,y\\n' + ''.join(r['id'] + ',0.9\\n' for r in rows))\n"
        "try:\n    open('input/train.csv', 'w').write('gone')\n    os.remove('input/test.csv')\n"
        "except OSError:\n    pass\n"  # read-only (bwrap) or its own copy (none): never the original
    )
    result = _run(executor, input_dir, code)
    assert result.ok and result.exit_code == 0 and "Validation metric: 0.75" in result.stdout
    assert len(result.stdout) < 1_000_000
    assert result.submission is not None and Path(result.submission).is_file()
    with Path(result.submission).open() as handle:
        assert list(csv.DictReader(handle)) == [{"id": "3", "y": "0.9"}]
    assert (input_dir / "train.csv").read_text() == before and (input_dir / "test.csv").is_file()


def test_a_crash_is_recorded_with_type_message_and_trace(executor: Executor, input_dir: Path) -> None:
    result = _run(executor, input_dir, "def f():\n    raise ValueError('boom 42')\nf()\n")
    assert not result.ok and result.exc_type == "ValueError" and "boom 42" in (result.exc_message or "")
    assert "raise ValueError" in (result.exc_trace or "") + result.stderr


def test_a_hang_is_killed_at_the_timeout_with_its_children(executor: Executor, input_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "child_alive"
    code = (
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(4); open({json.dumps(str(marker))}, \"w\")'])\n"
        "while True:\n    pass\n"
    )
    result = _run(executor, input_dir, code, timeout=2)
    assert result.timed_out and not result.ok and result.exc_type == "TimeoutError"
    time.sleep(3)  # the grandchild would have written the marker by now had it survived
    assert not marker.exists()


def test_a_huge_allocation_fails_the_candidate_not_the_caller(executor: Executor, input_dir: Path) -> None:
    result = _run(executor, input_dir, "x = bytearray(1 << 46)\n")  # 64 TiB
    assert not result.ok and result.exc_type in ("MemoryError", "KilledBySignal", "OverflowError")


def test_cancel_stops_a_running_candidate(executor: Executor, input_dir: Path) -> None:
    cancel = threading.Event()
    pool = executor.warm_pool(Path(tempfile.gettempdir())) if getattr(executor.config, "exec_warm", False) else None
    if pool is None:
        threading.Timer(0.5, cancel.set).start()
    else:  # once the candidate is forked (a Metaflow step takes longer than 0.5 s to get there)
        forked = pool.forked

        def when_forked() -> None:
            deadline = time.monotonic() + 60
            while pool.forked == forked and time.monotonic() < deadline:
                time.sleep(0.05)
            cancel.set()

        threading.Thread(target=when_forked, daemon=True).start()
    result = _run(executor, input_dir, "import time\ntime.sleep(60)\n", timeout=120, cancel=cancel)
    assert not result.ok and not result.timed_out


@pytest.mark.parametrize("planted", ["symlink", "fifo", "symlinked-folder"])
def test_a_planted_link_or_fifo_is_never_read_as_the_submission(executor: Executor, input_dir: Path,
                                                                 tmp_path: Path, planted: str) -> None:
    """The reader runs outside the sandbox: a link there would reach the sealed labels (found through
    /proc/self/mountinfo) or /proc/self/environ of Loom itself; a FIFO would block it."""
    secret = tmp_path / "sealed_selection.csv"  # stands for LOOM_HOME/sealed/<run>/selection.csv
    secret.write_text("id,y\n3,SEALED-LABEL\n")
    plant = {
        "symlink": f"os.symlink({str(secret)!r}, 'working/submission.csv')\n"
                   f"os.symlink({str(secret)!r}, 'working/oof.csv')\n",
        "fifo": "os.mkfifo('working/submission.csv')\n",
        "symlinked-folder": f"os.symlink({str(secret.parent)!r}, 'working/deep')\n"
                            "os.makedirs('submission', exist_ok=True)\n"
                            "os.symlink('../working/deep/sealed_selection.csv', 'submission/submission.csv')\n",
    }[planted]
    code = "import os\nos.makedirs('working', exist_ok=True)\n" + plant + "print('planted')\n"
    result = _run(executor, input_dir, code, timeout=30)
    assert result.ok and "planted" in result.stdout, result.stderr
    assert result.submission is None or "SEALED-LABEL" not in Path(result.submission).read_text()
    if result.outputs is not None:  # what is kept for later candidates holds no link at all
        kept = list(Path(result.outputs).rglob("*"))
        assert not any(p.is_symlink() for p in kept) and not any("SEALED" in p.read_text() for p in kept if p.is_file())
