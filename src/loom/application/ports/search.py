"""Search port ("brain"): proposes candidates; the session runs, grades and records them.

A brain never touches files, executors or models directly: RunSearch hands it a
`SearchSession` holding the task, the budget, the model ports per role (metered), and an
`evaluate` that runs a candidate through the MLOps port, grades it on the sealed holdout,
and records it in the journal. A brain loops until `session.steps_left() == 0` (which also
happens when the wall-clock budget, --time-budget, is spent); it may evaluate several
candidates at once from threads (up to `session.budget.workers`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Mapping

    from loom.application.ports.mlops import ExecResult
    from loom.application.ports.models import ModelPort
    from loom.domain.search import Node, SearchBudget, Task


class BudgetExhausted(Exception):
    """Raised by a metered model before a call that would pass --max-usd (not a user error)."""


class SearchStopped(Exception):
    """Raised by the session when the run was interrupted (Ctrl-C) and no new work may start."""


@runtime_checkable
class SearchSession(Protocol):
    """What RunSearch gives a brain for one run."""

    run_id: str
    task: "Task"
    budget: "SearchBudget"
    seed: int
    code_model: "ModelPort | None"
    feedback_model: "ModelPort | None"

    def steps_left(self) -> int:
        """Steps still to run (reserved ones included as taken)."""
        ...

    def reserve_step(self, kind: str) -> int | None:
        """Take the next step number (None when the budget is spent); emits node_started."""
        ...

    def release_step(self, step: int) -> None:
        """Give back a reserved step that produced no node (e.g. the LLM call failed)."""
        ...

    def execute(self, code: str, *, node_id: str,
                attach: "Mapping[str, tuple[str, str]] | None" = None) -> "ExecResult":
        """Run one candidate through the MLOps port (timeout, isolation); never raises on its failure.

        `attach` shows files earlier candidates wrote in their ./working to this one, read-only,
        at ./input/<name>: {name: (node id, file name)}; a file that was never written is left out.
        """
        ...

    def time_left(self) -> float | None:
        """Seconds left of the wall-clock budget (--time-budget); None when there is none."""
        ...

    def record(self, node: "Node", result: "ExecResult | None") -> "Node":
        """Grade on the holdout, append to the journal, emit node_finished; returns the node."""
        ...

    def nodes(self) -> list["Node"]:
        """The journal so far (a copy), in step order: a resumed run starts from these."""
        ...

    def stop(self) -> None:
        """Ask running candidates to stop now (a brain calls it when it is interrupted)."""
        ...

    def note(self, message: str) -> None:
        """A progress message for the observer."""
        ...


@runtime_checkable
class SearchPort(Protocol):
    """A search brain. `needs_models` says whether the code/feedback model ports are used."""

    name: str
    needs_models: bool

    def search(self, session: SearchSession) -> None: ...
