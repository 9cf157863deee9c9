"""LocalMLOps (`--mlops local`): each candidate a child process in its own workspace, no Metaflow.

Per candidate: `runs/<run>/nodes/<node>/` gets a copy of the prepared input (`input/`), an
empty `working/`, and `runfile.py`. The candidate runs under `config.python` in its own
session (process group) with a memory cap (RLIMIT_AS, set in the child before the candidate
starts); past the exec timeout, or when the run is cancelled, the whole group is killed.
Output is captured bounded (head + tail); an uncaught exception is recorded as type,
message and trace by a small bootstrap. Data objects and lifecycle verbs are Metaflow's:
this adapter refuses them with a one-line hint.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loom.application.ports.mlops import ExecRequest, ExecResult

if TYPE_CHECKING:
    from loom.application.config import LoomConfig

OUTPUT_HEAD = 32_000  # bytes kept from the start of each stream
OUTPUT_TAIL = 64_000  # and from its end
EXC_FILE = ".loom_exception.json"
RUNFILE = "runfile.py"

# Runs in the child: cap memory, run the candidate as __main__, record an uncaught exception.
BOOTSTRAP = f"""
import json, sys, traceback
cap = int(sys.argv[1])
if cap > 0:
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (ImportError, ValueError, OSError):
        pass
sys.argv = [{RUNFILE!r}]
import runpy
try:
    runpy.run_path({RUNFILE!r}, run_name="__main__")
except SystemExit:
    raise
except BaseException as exc:
    trace = traceback.format_exc()
    try:
        with open({EXC_FILE!r}, "w") as fh:
            json.dump({{"type": type(exc).__name__, "message": str(exc)[:4000], "trace": trace[-20000:]}}, fh)
    except BaseException:
        pass
    sys.stderr.write(trace)
    sys.exit(1)
"""


class _BoundedReader(threading.Thread):
    """Drains one pipe, keeping the first OUTPUT_HEAD and last OUTPUT_TAIL bytes."""

    def __init__(self, stream: Any) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.head = bytearray()
        self.tail: deque[bytes] = deque()
        self.tail_size = 0
        self.dropped = 0

    def run(self) -> None:
        try:
            for chunk in iter(lambda: self.stream.read1(65536), b""):
                room = OUTPUT_HEAD - len(self.head)
                if room > 0:
                    self.head += chunk[:room]
                    chunk = chunk[room:]
                if chunk:
                    self.tail.append(chunk)
                    self.tail_size += len(chunk)
                    while self.tail_size - len(self.tail[0]) >= OUTPUT_TAIL:
                        self.tail_size -= len(self.tail.popleft())
        except (OSError, ValueError):
            pass

    def text(self) -> str:
        tail = b"".join(self.tail)
        if len(tail) > OUTPUT_TAIL:
            self.dropped += len(tail) - OUTPUT_TAIL
            tail = tail[-OUTPUT_TAIL:]
        middle = f"\n... [{self.dropped} bytes of output dropped] ...\n".encode() if self.dropped else b""
        return (bytes(self.head) + middle + tail).decode("utf-8", errors="replace")


def default_memory_cap() -> int:
    """Half the machine's RAM, in bytes (0 = no cap when it cannot be read)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2)
    except (ValueError, OSError, AttributeError):
        return 0


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class LocalMLOps:
    """Runs candidates as local child processes. Implements the Executor port."""

    name = "local"
    requires_modules: tuple[str, ...] = ()
    requires_env: tuple[str, ...] = ()

    def __init__(self, config: "LoomConfig") -> None:
        self.config = config
        cap_mb = config.exec_memory_mb
        self.memory_cap = int(cap_mb) * 1024 * 1024 if cap_mb else default_memory_cap()

    def workspace(self, request: ExecRequest) -> Path:
        return Path(self.config.home) / "runs" / request.run_id / "nodes" / request.node_id

    def execute(self, request: ExecRequest) -> ExecResult:
        ws = self.workspace(request)
        if ws.exists():
            shutil.rmtree(ws)
        (ws / "working").mkdir(parents=True)
        (ws / "submission").mkdir()
        shutil.copytree(request.input_dir, ws / "input")
        (ws / RUNFILE).write_text(request.code, encoding="utf-8")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg",
               "LOOM_RUN_ID": request.run_id, "LOOM_NODE_ID": request.node_id}
        started = time.monotonic()
        proc = subprocess.Popen(
            [self.config.python, "-c", BOOTSTRAP, str(self.memory_cap)],
            cwd=ws, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True,
        )
        readers = [_BoundedReader(proc.stdout), _BoundedReader(proc.stderr)]
        for reader in readers:
            reader.start()
        timed_out = cancelled = False
        try:
            deadline = started + request.timeout
            while True:
                try:
                    proc.wait(timeout=0.05 if request.cancel is not None else max(0.0, deadline - time.monotonic()))
                    break
                except subprocess.TimeoutExpired:
                    if time.monotonic() >= deadline:
                        timed_out = True
                        break
                    if request.cancel is not None and request.cancel.is_set():
                        cancelled = True
                        break
        finally:
            _kill_group(proc)  # also reaps stray grandchildren after a normal exit
            proc.wait()
            for reader in readers:
                reader.join(timeout=5)
        exec_time = time.monotonic() - started
        stdout, stderr = readers[0].text(), readers[1].text()
        exc = self._exception(ws)
        if timed_out:
            stderr += f"\nTimeoutError: Execution exceeded the time limit of {request.timeout:g} seconds"
            exc = exc or {"type": "TimeoutError", "message": f"exceeded {request.timeout:g} s", "trace": ""}
        elif cancelled:
            exc = {"type": "Cancelled", "message": "the run was interrupted", "trace": ""}
        elif proc.returncode and proc.returncode < 0 and exc is None:
            sig = -proc.returncode
            exc = {"type": "KilledBySignal", "message": f"killed by signal {sig} (out of memory?)", "trace": ""}
        submission = self._keep_submission(ws)
        shutil.rmtree(ws / "input", ignore_errors=True)  # the copy is not needed once the candidate ran
        return ExecResult(
            stdout=stdout, stderr=stderr, exec_time=exec_time,
            exit_code=None if timed_out or cancelled else proc.returncode, timed_out=timed_out,
            exc_type=exc["type"] if exc else None, exc_message=exc["message"] if exc else None,
            exc_trace=exc["trace"] if exc else None, submission=submission, workspace=ws,
        )

    @staticmethod
    def _exception(ws: Path) -> dict[str, str] | None:
        path = ws / EXC_FILE
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return {"type": str(data["type"]), "message": str(data["message"]), "trace": str(data["trace"])}
        except (OSError, ValueError, KeyError):
            return None

    @staticmethod
    def _keep_submission(ws: Path) -> Path | None:
        for rel in ("working/submission.csv", "submission/submission.csv", "submission.csv"):
            src = ws / rel
            if src.is_file():
                dest = ws / "submission.csv"
                if src != dest:
                    shutil.copyfile(src, dest)
                return dest
        return None
