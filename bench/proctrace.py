"""Trace every Python process a benchmark starts: when it started and ended, and what it ran.

`enable(folder)` writes a `sitecustomize.py` into folder and puts folder first on PYTHONPATH, so
every Python child (Metaflow's runtime, its task and card processes) appends one JSON line to
`folder/trace.jsonl` when it exits: pid, parent pid, start time (the kernel's, so interpreter
start-up counts), end time and argv. Candidate processes run with a scrubbed environment inside
the sandbox and are not traced (their own time is the run's `exec_time` artifact).

Only benchmarks use this; nothing in Loom imports it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

SITECUSTOMIZE = r'''
import atexit, json, os, sys, time

def _started():
    # wall clock now, minus how long ago (in the kernel's boot-time clock) this process started
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        with open("/proc/self/stat") as fh:
            start = int(fh.read().rsplit(")", 1)[1].split()[19]) / ticks
        with open("/proc/uptime") as fh:
            uptime = float(fh.read().split()[0])
        return time.time() - max(0.0, uptime - start)
    except Exception:
        return time.time()

_T0 = _started()

def _record():
    path = os.environ.get("LOOM_PROC_TRACE")
    if path:
        rec = {"pid": os.getpid(), "ppid": os.getppid(), "t0": _T0, "t1": time.time(), "argv": sys.argv[:40]}
        with open(path, "a") as fh:
            fh.write(json.dumps(rec) + "\n")

atexit.register(_record)
'''


@dataclass(frozen=True)
class Proc:
    """One traced process."""

    pid: int
    ppid: int
    t0: float
    t1: float
    argv: tuple[str, ...]

    @property
    def seconds(self) -> float:
        return self.t1 - self.t0

    @property
    def role(self) -> str:
        """runtime | step:<name> | card | other, from a Metaflow command line."""
        args = list(self.argv)
        if "card" in args and "create" in args:
            return "card"
        if "step" in args:
            i = args.index("step")
            return f"step:{args[i + 1]}" if i + 1 < len(args) else "step"
        if "run" in args:
            return "runtime"
        return "other"


def enable(folder: Path) -> Path:
    """Trace Python processes started from now on (by this process's children); returns the log."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    log = folder / "trace.jsonl"
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH")) if p)
    os.environ["LOOM_PROC_TRACE"] = str(log)
    return log


def read(log: Path, since: float = 0.0, until: float = float("inf")) -> list[Proc]:
    """Processes that started in [since, until), oldest first."""
    if not log.is_file():
        return []
    procs = []
    for line in log.read_text().splitlines():
        rec = json.loads(line)
        if since <= rec["t0"] < until:
            procs.append(Proc(rec["pid"], rec["ppid"], rec["t0"], rec["t1"], tuple(rec["argv"])))
    return sorted(procs, key=lambda p: p.t0)


def run_processes(log: Path, t_call: float, t_return: float) -> list[Proc]:
    """The processes of the one flow run started between t_call and t_return: its runtime and the
    runtime's children (tasks, card renders), even those still running after t_return."""
    procs = read(log, t_call - 0.05)
    runtime = next((p for p in procs if p.role == "runtime" and p.t0 <= t_return), None)
    if runtime is None:
        return []
    return [runtime, *(p for p in procs if p.ppid == runtime.pid)]


def phases(procs: list[Proc], t_call: float, t_return: float, inner: float = 0.0) -> dict[str, float]:
    """Split one flow run, seen from the caller, into phases (seconds).

    `t_call`/`t_return`: when the caller started/finished the verb; `inner`: time spent in the
    step's own work that is not Metaflow's (the candidate's exec_time), taken out of the step.
    What the run does after the caller got its answer (a detached `end` step) is listed apart.
    """
    runtime = next((p for p in procs if p.role == "runtime"), None)
    steps = [p for p in procs if p.role.startswith("step:")]
    cards = [p for p in procs if p.role == "card"]
    out: dict[str, float] = {}
    if runtime is None or not steps:
        out["total"] = t_return - t_call
        return out
    out["loom before the flow"] = runtime.t0 - t_call
    out["flow start-up (runtime)"] = steps[0].t0 - runtime.t0
    returned_at = next((i for i, s in enumerate(steps) if s.t1 >= t_return - 1e-3), len(steps))
    for i, step in enumerate(steps):
        name = step.role.split(":", 1)[1]
        after = " (after the call returned)" if i >= returned_at else ""
        own = step.seconds - sum(c.seconds for c in cards if step.t0 <= c.t0 <= step.t1)
        out[f"step {name}{after}"] = own - (inner if i == 0 else 0.0)
        if i == 0 and inner:
            out["the candidate itself (inside step start)"] = inner
        if i + 1 < len(steps):
            nxt = steps[i + 1].role.split(":", 1)[1]
            after = " (after the call returned)" if i + 1 >= returned_at else ""
            out[f"runtime between {name} and {nxt}{after}"] = steps[i + 1].t0 - step.t1
    out["card processes"] = sum(c.seconds for c in cards)
    if returned_at < len(steps):
        out["loom reads the results"] = t_return - steps[returned_at - 1].t1
        out["flow shut-down (after the call returned)"] = runtime.t1 - steps[-1].t1
    else:
        out["flow shut-down (runtime)"] = runtime.t1 - steps[-1].t1
        out["loom reads the results"] = t_return - runtime.t1
    out["processes started"] = float(len(procs))
    return out
