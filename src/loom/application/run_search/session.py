"""RunSession: the SearchSession a brain gets: run, grade, record, report progress. Thread-safe."""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path

from loom.application.ports.mlops import ExecRequest, ExecResult, Executor
from loom.application.ports.models import ModelPort
from loom.application.ports.observer import Event, Observer
from loom.application.ports.search import SearchStopped
from loom.application.run_search import staging
from loom.application.run_search.grading import GradingError, grade
from loom.domain.search import Node, SearchBudget, Task

log = logging.getLogger(__name__)
TERM_TAIL = 8_000  # characters of output kept per node in the journal


class RunSession:
    """One run's shared state. Brains call it from any thread."""

    def __init__(
        self,
        *,
        run_id: str,
        task: Task,
        budget: SearchBudget,
        seed: int,
        executor: Executor,
        observer: Observer,
        sealed_dir: Path,
        total_steps: int,
        nodes: list[Node] | None = None,
        code_model: ModelPort | None = None,
        feedback_model: ModelPort | None = None,
        experiment_id: str | None = None,
        tags: dict[str, str] | None = None,
        on_node: Callable[[Node], None] | None = None,
        cancel: threading.Event | None = None,
        stage_root: Path | None = None,
    ) -> None:
        self.run_id = run_id
        self.task = task
        self.budget = budget
        self.seed = seed
        self.code_model = code_model
        self.feedback_model = feedback_model
        self.executor = executor
        self.observer = observer
        self.sealed_dir = sealed_dir
        self.total_steps = total_steps
        self.experiment_id = experiment_id
        self.tags = dict(tags or {})
        self.cancel = cancel or threading.Event()  # set: running candidates are killed, no new step
        self._nodes: list[Node] = list(nodes or [])
        self._in_flight = 0
        self._lock = threading.RLock()
        self._on_node = on_node
        self._stage_root = stage_root  # where per-candidate inputs with attached files are staged
        self._outputs: dict[str, Path] = {}  # node id -> what that candidate wrote in ./working
        self.attachments: dict[str, dict[str, tuple[str, str]]] = {}  # node id -> the files it was handed
        self.last_note = ""  # the brain's last word (why it stopped before the budget, ...)
        self.started = time.monotonic()
        self.deadline = None if budget.time_budget is None else self.started + budget.time_budget

    # ---- budget ------------------------------------------------------------------------
    def steps_left(self) -> int:
        """Steps still to run; 0 once the time budget is spent (no candidate starts past it)."""
        with self._lock:
            if self.out_of_time():
                return 0
            return max(0, self.total_steps - len(self._nodes) - self._in_flight)

    def time_left(self) -> float | None:
        """Seconds left of --time-budget (None: no time budget)."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def out_of_time(self) -> bool:
        left = self.time_left()
        return left is not None and left <= 0

    def exec_timeout(self) -> float:
        """A candidate's timeout: --exec-timeout, and with a time budget never far past its end
        (the rest of the budget plus a grace of max(5 s, a quarter of the budget))."""
        left = self.time_left()
        if left is None or self.budget.time_budget is None:
            return self.budget.exec_timeout
        grace = max(5.0, 0.25 * self.budget.time_budget)
        return max(1.0, min(self.budget.exec_timeout, max(0.0, left) + grace))

    def reserve_step(self, kind: str) -> int | None:
        with self._lock:
            if self.cancel.is_set():
                raise SearchStopped("interrupted")
            if self.steps_left() <= 0:
                return None
            step = len(self._nodes) + self._in_flight
            self._in_flight += 1
        self._emit(Event("node_started", self.run_id, step=step, node_kind=kind))
        return step

    def release_step(self, step: int) -> None:
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)

    # ---- execution ---------------------------------------------------------------------
    def execute(self, code: str, *, node_id: str, attach: Mapping[str, tuple[str, str]] | None = None) -> ExecResult:
        if self.cancel.is_set():
            raise SearchStopped("interrupted")
        stage = staging.stage_input(Path(self.task.input_dir), self._stage_dir(node_id), attach, self.node_outputs) \
            if attach else None
        if attach:
            with self._lock:
                self.attachments[node_id] = dict(attach)  # it read other candidates' files (an ensemble)
        try:
            return self._execute(code, node_id, stage or Path(self.task.input_dir))
        finally:
            if stage is not None:
                staging.remove(stage)

    def execute_on(self, code: str, *, node_id: str, input_dir: Path) -> ExecResult:
        """Run `code` on another prepared input (the refit of the chosen best); not a node."""
        return self._execute(code, node_id, input_dir)

    def _stage_dir(self, node_id: str) -> Path:
        root = self._stage_root or Path(self.task.input_dir).parent.parent / "stage"
        return root / node_id

    def node_outputs(self, node_id: str) -> Path | None:
        """The folder holding what an earlier candidate wrote in its ./working (None: not kept)."""
        with self._lock:
            found = self._outputs.get(node_id)
            if found is None:  # a resumed run: the executors keep working/ next to submission.csv
                node = next((n for n in self._nodes if n.id == node_id), None)
                if node is not None and node.submission:
                    found = Path(node.submission).parent / "working"
        return found if found is not None and found.is_dir() else None

    def _execute(self, code: str, node_id: str, input_dir: Path) -> ExecResult:
        request = ExecRequest(
            code=code,
            input_dir=input_dir,
            timeout=self.exec_timeout(),
            run_id=self.run_id,
            node_id=node_id,
            experiment_id=self.experiment_id,
            dataset=self.task.dataset,
            tags=self.tags,
            cancel=self.cancel,
            metric_name=self.task.metric.name,
            greater_is_better=self.task.metric.maximize,
        )
        try:
            return self.executor.execute(request)
        except (KeyboardInterrupt, SearchStopped):
            raise
        except Exception as exc:  # an executor bug must not end the run: record it on the node
            log.warning("executor failed", extra={"node_id": node_id, "error": repr(exc)})
            return ExecResult(
                stdout="", stderr="", exec_time=0.0, exit_code=None,
                exc_type=type(exc).__name__, exc_message=str(exc)[:2000],
                exc_trace=traceback.format_exc()[-TERM_TAIL:],
            )

    def record(self, node: Node, result: ExecResult | None) -> Node:
        if result is not None and self.cancel.is_set() and result.exc_type == "Cancelled":
            self.release_step(node.step)  # stopped by Ctrl-C: not a candidate failure, not recorded
            raise SearchStopped("interrupted")
        if result is not None:
            if result.outputs is not None:
                with self._lock:
                    self._outputs[node.id] = result.outputs
            node.term_out = result.term_out[-TERM_TAIL:]
            node.exec_time = result.exec_time
            node.exit_code = result.exit_code
            node.timed_out = result.timed_out
            node.exc_type = node.exc_type or result.exc_type
            node.exc_message = node.exc_message or result.exc_message
            node.pathspec = result.pathspec
            node.submission = str(result.submission) if result.submission else None
            if not result.ok:
                node.buggy = True
            try:  # the selection slice only: the final slice is scored once, for the chosen best
                node.selection = grade(self.task, self.sealed_dir, result.submission)
            except (GradingError, OSError) as exc:  # no submission, or none Loom can grade: the node failed
                node.selection = None
                node.selection_error = str(exc)
                node.buggy = True
                if not node.exc_type:
                    node.exc_type, node.exc_message = "GradingError", str(exc)
        node.combined = node.combined or node.id in self.attachments
        if node.buggy:
            node.metric = None  # a buggy node reports nothing Loom would rank
            node.metric_std = None
        node.ctime = node.ctime or time.time()
        with self._lock:
            node.step = len(self._nodes)
            self._nodes.append(node)
            self._in_flight = max(0, self._in_flight - 1)
            if self._on_node is not None:
                self._on_node(node)
        self._emit(Event(
            "node_finished", self.run_id, step=node.step, node_id=node.id, node_kind=node.kind,
            metric=node.metric, holdout_metric=node.selection, buggy=node.buggy,
            tokens=node.tokens or None, usd=node.usd, pathspec=node.pathspec,
            message=node.exc_type or node.selection_error or "",
        ))
        return node

    def stop(self) -> None:
        self.cancel.set()

    def nodes(self) -> list[Node]:
        with self._lock:
            return list(self._nodes)

    def note(self, message: str) -> None:
        self.last_note = message
        self._emit(Event("stage", self.run_id, message=message))

    def _emit(self, event: Event) -> None:
        self.observer.notify(event)
