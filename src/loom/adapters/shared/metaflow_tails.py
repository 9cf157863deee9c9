"""Runs that finish in the background: a flow whose caller got its answer before the last step ended.

`run_flow(..., detach_when=end_step_started)` returns as soon as a candidate's `start` step has
stored its results; the runtime then finishes the `end` step while the search moves on. Each such
run is a FlowTail kept here; `drain()` waits for all of them, and runs before any read of the
datastore (metaflow_runtime.client), any flow that may read earlier runs, the end of a search, and
process exit, so nobody ever sees half a run.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import signal
import subprocess
import threading
import time

log = logging.getLogger(__name__)


class FlowTail:
    """The last steps of a run still finishing after run_flow returned (see `detach_when`).

    `wait()` blocks until the flow process ends (killing its process group past the run's deadline)
    and says whether the run finished cleanly; a failure is logged with the flow's error line.
    """

    def __init__(self, proc: "subprocess.Popen[str]", lines: list[str], pathspec: str, deadline: float | None) -> None:
        self.proc, self.lines, self.pathspec, self.deadline = proc, lines, pathspec, deadline
        self._lock = threading.Lock()

    def done(self) -> bool:
        return self.proc.poll() is not None

    def wait(self) -> bool:
        with self._lock:
            try:
                left = None if self.deadline is None else max(0.0, self.deadline - time.monotonic())
                self.proc.wait(timeout=left)
            except subprocess.TimeoutExpired:
                kill_group(self.proc)
            except BaseException:
                kill_group(self.proc)
                raise
            ok = self.proc.returncode == 0
            if not ok:
                from loom.adapters.shared.metaflow_runtime import last_error_line

                log.warning("flow run did not finish cleanly",
                            extra={"pathspec": self.pathspec, "error": last_error_line(self.lines)})
            return ok

    def kill(self) -> None:
        kill_group(self.proc)


_END_STARTED = re.compile(r"\[\d+/end/\d+ \(pid \d+\)\] Task is starting")


def end_step_started(line: str) -> bool:
    """A run_flow `detach_when`: the runtime launched the `end` task, so `start` stored its artifacts."""
    return bool(_END_STARTED.search(line))


#: Runs whose last steps are still finishing in this process's background (run_flow detach_when).
MAX_PENDING_TAILS = 2
_tails: list[FlowTail] = []
_tails_lock = threading.Lock()


def keep_tail(tail: FlowTail) -> None:
    """Track a detached run; never more than MAX_PENDING_TAILS at once (the oldest is waited for)."""
    with _tails_lock:
        _tails[:] = [t for t in _tails if not t.done()] + [tail]
        oldest = _tails.pop(0) if len(_tails) > MAX_PENDING_TAILS else None
    if oldest is not None:
        oldest.wait()


def drain() -> None:
    """Wait until every detached run of this process has finished (reads and later flows see whole runs)."""
    with _tails_lock:
        pending = list(_tails)
        _tails.clear()
    for tail in pending:
        tail.wait()


atexit.register(drain)  # a process never exits with a run half-recorded


def kill_group(proc: "subprocess.Popen[str]") -> None:
    """Kill a flow's whole process group (the runtime and its tasks) and reap the runtime."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.wait(timeout=10)
