"""What a search run leaves under LOOM_HOME/runs/<run-id>/ and LOOM_HOME/corpus/nodes.jsonl."""

from __future__ import annotations

import json
import os
import platform
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

from loom.domain.errors import UsageError
from loom.domain.metrics import MetricSpec
from loom.domain.search import RANKED_BY, Estimate, Node, SearchBudget, Task, leaderboard_row
from loom.domain.status import Status

_CORPUS_LOCK = threading.Lock()  # appends from concurrent runs in one process stay whole lines
SAME_PROCESS_WAIT = 30.0  # seconds a run lock held by this very process is waited for (see RunStore.lock)
_VERSIONED = ("loom", "aideml", "anthropic", "openai", "scikit-learn", "pandas", "numpy", "lightgbm", "metaflow")


_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def is_run_id(run_id: str) -> bool:
    """True for a name that can only mean a folder right under LOOM_HOME/runs (no path, no `..`)."""
    return bool(_RUN_ID.match(run_id or "")) and ".." not in run_id


def check_run_id(run_id: str) -> str:
    """`run_id` itself, or a UsageError (exit 2) for a path, `..` or anything not a run id."""
    if not is_run_id(run_id):
        raise UsageError(f"'{run_id}' is not a run id (like 20261202-101500-ab12cd): pass a RUN_ID "
                         f"printed by an earlier `loom run`, not a path")
    return run_id


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)  # atomic: a Ctrl-C never leaves half a journal


def task_to_dict(task: Task) -> dict[str, Any]:
    data = asdict(task)
    data["metric"] = asdict(task.metric)
    return data


def task_from_dict(data: dict[str, Any]) -> Task:
    data = dict(data)
    data["metric"] = MetricSpec(**data["metric"])
    data = {k: v for k, v in data.items() if k in Task.__dataclass_fields__}
    for key in ("columns", "classes"):
        data[key] = tuple(data.get(key) or ())
    return Task(**data)


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in _VERSIONED:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


class RunStore:
    """Paths and writers of one run directory."""

    def __init__(self, home: Path, run_id: str) -> None:
        self.home = home
        self.run_id = check_run_id(run_id)  # never a folder outside LOOM_HOME/runs
        self.dir = home / "runs" / run_id
        self.task_dir = self.dir / "task"
        # The sealed labels live outside runs/ altogether: no candidate folder (runs/<id>/nodes/...,
        # or a sandbox's view of it) leads there by a relative path. Runs made before keep theirs.
        legacy = self.dir / "sealed"
        self.sealed_dir = legacy if legacy.is_dir() else home / "sealed" / run_id
        self.journal_path = self.dir / "journal.json"
        self.leaderboard_path = self.dir / "leaderboard.json"
        self.best_path = self.dir / "best_solution.py"
        self.submission_path = self.dir / "submission.csv"
        self.tree_path = self.dir / "tree.html"
        self.manifest_path = self.dir / "manifest.json"
        self.corpus_path = home / "corpus" / "nodes.jsonl"
        self._lock = threading.Lock()

    def paths(self) -> dict[str, str]:
        return {
            "run_dir": str(self.dir), "journal": str(self.journal_path),
            "leaderboard": str(self.leaderboard_path), "best_solution": str(self.best_path),
            "submission": str(self.submission_path), "tree": str(self.tree_path),
            "manifest": str(self.manifest_path), "corpus": str(self.corpus_path),
        }

    # ---- one writer at a time ----------------------------------------------------------------
    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run folder: a second writer (another `loom run --resume`, in any process) gets a
        UsageError naming the holder's pid. The OS drops the lock when its process dies, so a stale
        lock file from a crashed run is simply taken over. A holder in this very process (a server
        or an embedding app whose cancelled run is still unwinding: its journal already says
        INTERRUPTED) is waited for, up to `SAME_PROCESS_WAIT` seconds."""
        import fcntl

        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / ".lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + SAME_PROCESS_WAIT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                if holder == str(os.getpid()) and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                os.close(fd)
                raise UsageError(f"run {self.run_id} is in use by pid {holder}; wait for it to finish "
                                 f"(or stop it) before resuming") from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # ---- journal -----------------------------------------------------------------------
    def save_journal(self, header: dict[str, Any], nodes: list[Node], status: str) -> None:
        with self._lock:
            self.dir.mkdir(parents=True, exist_ok=True)
            _write_json(self.journal_path, {**header, "status": status, "updated": time.time(),
                                            "nodes": [n.to_dict() for n in nodes]})

    def load_journal(self) -> dict[str, Any]:
        if not self.journal_path.is_file():
            raise UsageError(f"no saved run '{self.run_id}' under {self.home / 'runs'}; "
                             f"pass a RUN_ID printed by an earlier `loom run`")
        try:
            data = json.loads(self.journal_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read {self.journal_path}: {exc}") from None
        try:  # a hand-edited or foreign file: one line naming it, never a KeyError
            if not isinstance(data, dict):
                raise TypeError(f"a JSON {type(data).__name__}, not an object")
            task_from_dict(data["task"])
            nodes = data.get("nodes", [])
            if not isinstance(nodes, list):
                raise TypeError("'nodes' is not a list")
            data["nodes"] = [Node.from_dict(n) for n in nodes]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            what = f"no {exc}" if isinstance(exc, KeyError) else str(exc)
            raise UsageError(f"{self.journal_path} is not a Loom run journal ({what})") from None
        return data

    def save_leaderboard(self, ranked: list[Node], metric: MetricSpec, *, estimate: Estimate | None = None,
                         leaks: dict[str, Any] | None = None, warnings: list[str] | None = None,
                         split: dict[str, Any] | None = None, refit: dict[str, Any] | None = None) -> None:
        """The ranked nodes under a header: what ranks them, the best's estimate, the leak screen,
        whether submission.csv is the best refit on every labelled row."""
        _write_json(self.leaderboard_path, {
            "run_id": self.run_id, "metric": asdict(metric),
            "ranked_by": RANKED_BY,
            "estimate": None if estimate is None else estimate.to_dict(),
            "refit": refit,
            "split": split or {},
            "leaks": leaks or {"mode": "warn", "flagged": []},
            "warnings": warnings or [],
            "entries": [leaderboard_row(n) for n in ranked],
        })

    # ---- corpus ------------------------------------------------------------------------
    def append_corpus(self, node: Node, *, task: Task, tenant: str, owned_by: str,
                      search: str, experiment_id: str | None) -> None:
        record = {
            "run_id": self.run_id, "node_id": node.id, "step": node.step, "kind": node.kind,
            "parent_id": node.parent_id, "tenant": tenant, "owned_by": owned_by,
            "experiment_id": experiment_id, "search": search, "goal": task.goal,
            "metric": task.metric.name, "maximize": task.metric.maximize,
            "self_reported": node.metric, "selection": node.selection, "buggy": node.buggy,
            "exec_time": node.exec_time, "exc_type": node.exc_type, "pathspec": node.pathspec,
            "dataset": task.dataset, "plan": node.plan[:2000], "code": node.code, "time": node.ctime,
        }
        line = json.dumps(record, default=str) + "\n"
        with _CORPUS_LOCK:
            self.corpus_path.parent.mkdir(parents=True, exist_ok=True)
            with self.corpus_path.open("a", encoding="utf-8") as handle:
                handle.write(line)

    # ---- the end of a run --------------------------------------------------------------
    def write_manifest(self, *, header: dict[str, Any], config: dict[str, Any], budget: SearchBudget,
                       status: Status, outcome: dict[str, Any]) -> None:
        _write_json(self.manifest_path, {
            "run_id": self.run_id,
            "inputs": header.get("inputs", {}),
            "task": header.get("task"),
            "budget": asdict(budget),
            "config": config,  # LoomConfig holds no secrets by construction
            "versions": versions(),
            "outcome": {"status": status.value, **outcome},
        })


def file_digest(path: Path) -> dict[str, Any]:
    import hashlib

    h = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
    return {"path": str(path), "bytes": path.stat().st_size, "sha256": h.hexdigest()}
