"""MLOps port ("muscle"): runs candidates, and (metaflow) owns data objects, flows and cards.

The executor part is what the search loop needs; every MLOps adapter implements it. The data
and lifecycle parts are Metaflow's (the `local` adapter refuses them with a one-line hint).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class ExecRequest:
    """One candidate to run: reads ./input, writes ./working/submission.csv, prints its metric."""

    code: str
    input_dir: Path  # the prepared candidate input; copied into the workspace, never touched
    timeout: float  # seconds; the whole process group is killed past it
    run_id: str  # the search run this candidate belongs to
    node_id: str
    experiment_id: str | None = None
    dataset: str | None = None  # pathspec of the source data object, when there is one
    tags: Mapping[str, str] = field(default_factory=dict)  # tenant, owned_by, ...


@dataclass(frozen=True)
class ExecResult:
    """What happened. A crash, hang or huge allocation is a result, never an exception."""

    stdout: str  # bounded
    stderr: str  # bounded
    exec_time: float
    exit_code: int | None
    timed_out: bool = False
    exc_type: str | None = None
    exc_message: str | None = None
    exc_trace: str | None = None
    submission: Path | None = None  # Loom's own copy of working/submission.csv, if written
    pathspec: str | None = None  # the Metaflow run of this candidate (metaflow executor)
    workspace: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.timed_out and self.exit_code == 0 and self.exc_type is None

    @property
    def term_out(self) -> str:
        return self.stdout + (("\n" + self.stderr) if self.stderr else "")


@runtime_checkable
class Executor(Protocol):
    """Runs one candidate in an isolated workspace with the exec timeout."""

    name: str

    def execute(self, request: ExecRequest) -> ExecResult: ...
