"""LocalMLOps (`--mlops local`): each candidate a sandboxed child process, no Metaflow.

Per candidate: a fresh folder in the system temp dir (never under LOOM_HOME, so no relative path
leads from it to a run's files) gets `input/` (the prepared input: bound read-only under bwrap,
a copy otherwise), an empty `working/` and `submission/`, and `runfile.py`. The candidate runs
there inside the sandbox (LOOM_SANDBOX) under the bootstrap that caps its memory and records an
uncaught exception; past the exec timeout, or when the run is cancelled, its whole process tree is
killed. Unless LOOM_EXEC_WARM=off, a candidate starts by forking a warm interpreter that already
imported the ML stack (sandbox/warm.py), inside its own sandbox, instead of a fresh one. What Loom
keeps goes to `runs/<run>/nodes/<node>/`: runfile.py, working/ and submission.csv. Data objects
and lifecycle verbs are Metaflow's: this adapter refuses them with a one-line hint.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from loom.adapters.sandbox import bootstrap, process, written
from loom.application.ports.mlops import ExecRequest, ExecResult
from loom.application.ports.sandbox import Sandbox, SandboxRequest, candidate_env, passthrough_names

if TYPE_CHECKING:
    from loom.adapters.sandbox.warm import WarmPool
    from loom.application.config import LoomConfig

RUNFILE = "runfile.py"
WRITABLE = ("working", "submission")  # AIDE-style candidates write ./submission/submission.csv


class LocalMLOps:
    """Runs candidates as local sandboxed child processes. Implements the Executor port."""

    name = "local"
    requires_modules: tuple[str, ...] = ()
    requires_env: tuple[str, ...] = ()

    def __init__(self, config: "LoomConfig") -> None:
        self.config = config
        self._sandbox: Sandbox | None = None
        self._lock = threading.Lock()

    @property
    def sandbox(self) -> Sandbox:
        """Chosen on first use (LOOM_SANDBOX); a forced bwrap that cannot run raises ConfigError."""
        with self._lock:
            if self._sandbox is None:
                from loom.adapters.sandbox import select

                self._sandbox = select(self.config)
            return self._sandbox

    def sandbox_warning(self) -> str | None:
        """Said once per run when candidates are not isolated; also starts warming the fork server."""
        from loom.adapters.sandbox import announce

        pool = self.warm_pool(Path(tempfile.gettempdir()))
        if pool is not None:
            pool.start()  # imports the ML stack in the background while the brain writes the first candidate
        return announce(self.sandbox)

    def candidate_env(self, ws: Path, request: ExecRequest | None = None) -> dict[str, str]:
        """The allowlisted environment of a candidate in `ws` (no secrets)."""
        from loom.adapters.sandbox import limits

        extra = {"LOOM_RUN_ID": request.run_id, "LOOM_NODE_ID": request.node_id} if request else {}
        return candidate_env(ws, cpus=limits(self.config).cpus, python=self.config.python,
                             passthrough=passthrough_names(self.config.sandbox_env), extra=extra)

    def warm_pool(self, ws: Path) -> "WarmPool | None":
        """The shared fork server for this interpreter and environment (None when LOOM_EXEC_WARM=off)."""
        from loom.adapters.sandbox import warm

        return warm.for_config(self.config, ws)

    def workspace(self, request: ExecRequest) -> Path:
        return Path(self.config.home) / "runs" / request.run_id / "nodes" / request.node_id

    def execute(self, request: ExecRequest) -> ExecResult:
        from loom.adapters.sandbox import limits

        keep = self.workspace(request)
        if keep.exists():
            shutil.rmtree(keep)
        keep.mkdir(parents=True)
        (keep / RUNFILE).write_text(request.code, encoding="utf-8")
        sandbox, lim = self.sandbox, limits(self.config)
        ws = Path(tempfile.mkdtemp(prefix="loom-candidate-"))
        try:
            prepare_workspace(ws, request.code, request.input_dir, copy_input=not sandbox.isolated)
            sb_request = SandboxRequest(
                argv=bootstrap.argv(self.config.python, RUNFILE, lim.memory_bytes), workdir=ws,
                env=self.candidate_env(ws, request), limits=lim, writable=WRITABLE, python=self.config.python,
                inputs={} if not sandbox.isolated else {"input": Path(request.input_dir)},
            )
            out = process.run(sandbox, sb_request, timeout=request.timeout, cancel=request.cancel,
                              pool=self.warm_pool(ws))
            exc = read_exception(ws)
            for name in WRITABLE:  # what the candidate wrote is kept with the node
                shutil.rmtree(ws / name / ".tmp", ignore_errors=True)
                if (ws / name).is_dir() and not (ws / name).is_symlink():
                    written.strip(ws / name)  # no link into LOOM_HOME's sealed labels, no FIFO, is kept
                    if any((ws / name).iterdir()):
                        shutil.move(str(ws / name), str(keep / name))
        finally:
            shutil.rmtree(ws, ignore_errors=True)
        result = to_result(out, exc, request.timeout, keep_submission(keep), keep)
        return replace(result, outputs=keep / "working") if (keep / "working").is_dir() else result


def prepare_workspace(ws: Path, code: str, input_dir: Path, *, copy_input: bool) -> None:
    """input/ (a copy, or an empty mount point for a read-only bind), working/, submission/, the code."""
    if copy_input:
        shutil.copytree(input_dir, ws / "input")
    else:
        (ws / "input").mkdir()
    for name in WRITABLE:
        (ws / name).mkdir()
    (ws / RUNFILE).write_text(code, encoding="utf-8")


def read_exception(ws: Path) -> dict[str, str] | None:
    """What the bootstrap recorded about an uncaught exception (None when there was none)."""
    path = ws / bootstrap.EXCEPTION_FILE
    raw = written.read_regular(ws, str(bootstrap.EXCEPTION_FILE))  # never through a planted symlink
    if raw is None:
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
        path.unlink()
        return {"type": str(data["type"]), "message": str(data["message"]), "trace": str(data["trace"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def to_result(out: process.Outcome, exc: dict[str, str] | None, timeout: float, submission: Path | None,
              workspace: Path) -> ExecResult:
    """An Outcome as the Executor port's ExecResult (timeouts, cancels and signals named)."""
    stderr = out.stderr
    if out.timed_out:
        stderr += f"\nTimeoutError: Execution exceeded the time limit of {timeout:g} seconds"
        exc = exc or {"type": "TimeoutError", "message": f"exceeded {timeout:g} s", "trace": ""}
    elif out.cancelled:
        exc = {"type": "Cancelled", "message": "the run was interrupted", "trace": ""}
    elif out.returncode and out.returncode < 0 and exc is None:
        sig = -out.returncode
        exc = {"type": "KilledBySignal", "message": f"killed by signal {sig} (out of memory?)", "trace": ""}
    return ExecResult(
        stdout=out.stdout, stderr=stderr, exec_time=out.exec_time, exit_code=out.returncode,
        timed_out=out.timed_out, exc_type=exc["type"] if exc else None, exc_message=exc["message"] if exc else None,
        exc_trace=exc["trace"] if exc else None, submission=submission, workspace=workspace,
    )


def keep_submission(ws: Path) -> Path | None:
    """Loom's own copy of the submission (working/, submission/ or the folder itself)."""
    for rel in ("working/submission.csv", "submission/submission.csv", "submission.csv"):
        data = written.read_regular(ws, rel)  # a regular file the candidate wrote: not a link to sealed labels
        if data is not None:
            dest = ws / "submission.csv"
            if rel != "submission.csv":
                dest.write_bytes(data)
            return dest
    return None
