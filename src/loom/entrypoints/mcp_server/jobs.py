"""Background runs for clients without progress support: run_start, run_status, run_cancel.

`run_start` starts the same `loom run` command in a thread and answers as soon as the run has an
id (or has already failed: bad input is answered at once, like the CLI). `run_status` reports
progress, the last events and, once done, the run's --json object; `run_cancel` stops it like
Ctrl-C (INTERRUPTED, journal saved; continue with `run` and `resume=RUN_ID`). A run this server
did not start is reported from its journal on disk.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from loom.application.ports.observer import Event
from loom.application.run_search.artifacts import check_run_id
from loom.domain.errors import UsageError
from loom.entrypoints.cli.events import event_record
from loom.entrypoints.mcp_server.bridge import CommandCall



class RunJob:
    """One background run: its command call, its progress and its last events."""

    def __init__(self, call: CommandCall) -> None:
        self.call = call
        self.run_id: str | None = None
        self.run_dir: str | None = None
        self.done, self.total = 0, 0
        self.started = threading.Event()
        self.events: deque[dict[str, Any]] = deque(maxlen=20)
        self.thread = threading.Thread(target=self._work, name="loom-mcp-run", daemon=True)

    def _work(self) -> None:
        self.call()
        self.started.set()  # a run that failed before starting answers run_start too

    def notify(self, event: Event) -> None:
        if event.kind == "llm_call":
            return  # one per model call: too chatty for the status view
        self.events.append(event_record(event))
        if event.kind == "run_started":
            self.run_id, self.run_dir = event.run_id, event.message
            resumed = int(event.data.get("resumed_from") or 0)
            self.done, self.total = resumed, resumed + int(event.data.get("steps") or 0)
            self.started.set()
        elif event.kind == "node_finished":
            self.done += 1

    def status(self) -> dict[str, Any]:
        finished = self.call.finished.is_set()
        view: dict[str, Any] = {
            "status": "RUNNING" if not finished else self._final_status(),
            "run_id": self.run_id, "run_dir": self.run_dir,
            "progress": {"done": self.done, "total": self.total},
            "events": list(self.events)[-5:],
        }
        if finished:
            outcome = self.call.outcome()
            view["result"] = outcome.structured_content
            view["exit_code"] = (outcome.structured_content or {}).get("exit_code")
        if self.call.stop.is_set() and not finished:
            view["status"] = "STOPPING"
        return view

    def _final_status(self) -> str:
        if self.call.error is not None:
            outcome = self.call.outcome()
            return str((outcome.structured_content or {}).get("status", "FAILED"))
        return str((self.call.payload or {}).get("status", "OK"))


class RunJobs:
    """The background runs of one server (by run id), and the journal fallback."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._jobs: dict[str, RunJob] = {}
        self._lock = threading.Lock()

    def start(self, call: CommandCall, wait: float = 120.0) -> tuple[RunJob, bool]:
        """Start; block (in a worker thread) until the run has an id or ended. -> (job, started)."""
        job = RunJob(call)
        call.observer = job
        job.thread.start()
        job.started.wait(timeout=wait)
        if job.run_id:
            with self._lock:
                self._jobs[job.run_id] = job
        return job, job.run_id is not None

    def get(self, run_id: str) -> RunJob | None:
        with self._lock:
            return self._jobs.get(check_run_id(run_id))

    def status(self, run_id: str) -> dict[str, Any]:
        job = self.get(run_id)
        if job is not None:
            return job.status()
        return self.from_journal(run_id)

    def from_journal(self, run_id: str) -> dict[str, Any]:
        path = self.home / "runs" / check_run_id(run_id) / "journal.json"
        if not path.is_file():
            raise UsageError(f"no run {run_id} under {self.home / 'runs'}", hint="list runs with the `runs` tool "
                             "or start one with run_start")
        journal = json.loads(path.read_text(encoding="utf-8"))
        nodes = journal.get("nodes") or []
        return {"status": journal.get("status") or "UNKNOWN", "run_id": run_id, "run_dir": str(path.parent),
                "progress": {"done": len(nodes), "total": len(nodes)}, "source": "journal",
                "updated": journal.get("updated")}

    def cancel(self, run_id: str, wait: float = 120.0) -> dict[str, Any]:
        job = self.get(run_id)
        if job is None:
            raise UsageError(f"run {run_id} is not running in this server",
                             hint="only runs started with run_start here can be cancelled; Ctrl-C stops a CLI run")
        job.call.stop.set()
        deadline = time.monotonic() + wait
        while not job.call.finished.is_set() and time.monotonic() < deadline:
            job.call.finished.wait(timeout=0.1)
        view = job.status()
        if job.call.finished.is_set():
            view["hint"] = f"continue it with the run tool and resume={run_id}"
        return view

    def shutdown(self, wait: float = 30.0) -> None:
        """Stop every run (their journals are saved) before the server exits."""
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.call.stop.set()
        deadline = time.monotonic() + wait
        for job in jobs:
            job.thread.join(timeout=max(0.0, deadline - time.monotonic()))
