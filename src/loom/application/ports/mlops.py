"""MLOps port ("muscle"): runs candidates, and (metaflow) owns data objects, flows and cards.

The executor part is what the search loop needs; every MLOps adapter implements it. The data
and lifecycle parts are Metaflow's (the `local` adapter refuses them with a one-line hint).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


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
    metric_name: str | None = None  # the search's metric (roc_auc, rmse, ...), recorded with the run
    greater_is_better: bool | None = None  # its direction, fixed once per search
    # Set when the run is interrupted: an executor should stop the candidate promptly
    # (anything with is_set(), e.g. threading.Event; None = never cancelled).
    cancel: Any = field(default=None, compare=False, repr=False)


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
    outputs: Path | None = None  # Loom's copy of what the candidate wrote in ./working, if kept

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


# ---- the data side (metaflow; `local` has none: use-cases refuse with a pointer) ---------------
@dataclass(frozen=True)
class DatasetInfo:
    """One data object (IngestDataset/N, FeaturesFlow/N, ...): what `loom datasets` lists."""

    pathspec: str
    name: str | None
    rows: Mapping[str, int]  # {"train": n, "test": m}
    columns: int
    target: str | None
    task_type: str | None
    fingerprint: str
    created_at: str | None = None
    source: str | None = None
    read_as: tuple[str, ...] = ()  # how tables written otherwise were read (';'-separated, cp1252, ...)


@dataclass(frozen=True)
class RunInfo:
    """One run of any flow: what `loom runs` lists."""

    pathspec: str
    flow: str
    created_at: str | None
    finished: bool
    successful: bool
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunDetail:
    """`loom show`: a run, its steps and its artifacts (name -> short description), and their
    values as JSON (JSON-native values in full; frames and arrays summarised: shape, dtypes, head)."""

    run: RunInfo
    steps: tuple[str, ...]
    artifacts: Mapping[str, str]
    cards: tuple[Path, ...] = ()
    values: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class DataStore(Protocol):
    """Versioned data objects, runs and cards (the `metaflow` MLOps adapter implements it)."""

    def ingest(
        self,
        source: Path,
        *,
        name: str | None = None,
        target: str | None = None,
        on_progress: Callable[[str], None] | None = None,
        time_column: str | None = None,
    ) -> DatasetInfo:
        """Store `source` as a data object. A single file is split into train/test: the latest
        rows by `time_column` (or a detected date column; "none": never by time), else seeded."""
        ...

    def list_datasets(self, limit: int = 50) -> list[DatasetInfo]: ...

    def list_runs(self, flow: str | None = None, limit: int = 50) -> list[RunInfo]: ...

    def show(self, pathspec: str) -> RunDetail: ...

    def card(self, pathspec: str) -> list[Path]: ...

    def materialize(self, pathspec: str, dest_dir: Path) -> Path:
        """Write a data object's tables as train.csv [+ test.csv] [+ sample_submission.csv]."""
        ...
