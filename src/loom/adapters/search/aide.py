"""AideSearch (`--search aide`, the default brain): AIDE 0.2.2's tree search, used as a library.

AIDE's Agent proposes (draft / improve / debug, by its own search policy) and reviews; Loom
supplies everything around it: the config (from LoomConfig, per-run folders), the LLM calls
(through the model ports handed over in the session: a call with a tool spec goes to the
feedback model, any other to the code model), the executions (through the session, i.e. the
MLOps port, as an aide `exec_callback`), the metric direction (fixed from --metric), and the
journal Loom keeps. With `--workers N`, up to N steps (drafts, improves and debugs, from
different parents when there are) are written and run at once.
"""

from __future__ import annotations

import contextvars
import logging
import random
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loom.adapters.search import aide_bridge
from loom.domain.model_errors import JudgeError
from loom.domain.search import Node

if TYPE_CHECKING:
    from loom.application.config import LoomConfig
    from loom.application.ports.mlops import ExecResult
    from loom.application.ports.search import SearchSession

log = logging.getLogger(__name__)


def to_execution_result(result: "ExecResult", timeout: float) -> Any:
    """Loom's ExecResult as aide's ExecutionResult (what aide's Interpreter.run returns)."""
    from aide.interpreter import ExecutionResult

    term_out = [result.stdout]
    if result.stderr:
        term_out.append(result.stderr)
    term_out.append(f"Execution time: {result.exec_time:.2f} seconds (time limit is {timeout:g} seconds).")
    exc_type = result.exc_type
    if exc_type is None and not result.ok:
        exc_type = "SystemExit" if result.exit_code not in (None, 0) else "ExecutionFailed"
    exc_info = {"args": [result.exc_message or ""]} if exc_type else None
    return ExecutionResult(term_out=term_out, exec_time=result.exec_time, exc_type=exc_type, exc_info=exc_info)


def rebuild_journal(nodes: list[Node], maximize: bool) -> Any:
    """An aide Journal from Loom's journal (how a resumed run picks up where it stopped)."""
    from aide.journal import Journal
    from aide.journal import Node as AideNode
    from aide.utils.metric import MetricValue, WorstMetricValue

    journal = Journal()
    by_id: dict[str, Any] = {}
    for node in sorted(nodes, key=lambda n: n.step):
        aide_node = AideNode(code=node.code, plan=node.plan, id=node.id, parent=by_id.get(node.parent_id or ""))
        aide_node._term_out = [node.term_out]
        aide_node.exec_time = node.exec_time
        aide_node.exc_type = node.exc_type
        aide_node.analysis = node.analysis
        aide_node.is_buggy = node.buggy or node.metric is None
        aide_node.metric = WorstMetricValue() if aide_node.is_buggy else MetricValue(node.metric, maximize=maximize)
        journal.append(aide_node)
        by_id[node.id] = aide_node
    return journal


class AideSearch:
    """The AIDE brain. Implements the Search port; reaches models and executors only via the session."""

    name = "aide"
    needs_models = True
    requires_modules: tuple[str, ...] = ("aide", "omegaconf", "igraph", "pandas")
    requires_env: tuple[str, ...] = ()

    def __init__(self, config: "LoomConfig") -> None:
        self.config = config

    def search(self, session: "SearchSession") -> None:
        agent_module = aide_bridge.install_dispatch()
        task, budget, c = session.task, session.budget, self.config
        task_dir = Path(task.input_dir).parent
        cfg = aide_bridge.build_config(
            goal=task.goal, task_dir=task_dir, log_dir=task_dir.parent / "aide",
            exec_timeout=budget.exec_timeout, steps=session.steps_left(), num_drafts=budget.num_drafts,
            debug_prob=budget.debug_prob, max_debug_depth=budget.max_debug_depth,
            code_model=c.code_model, feedback_model=c.role_model("feedback"),
            code_temp=c.code_temperature, feedback_temp=c.feedback_temperature,
        )
        maximize = task.metric.maximize
        prior = session.nodes()
        journal = rebuild_journal(prior, maximize)
        agent = agent_module.Agent(task_desc=task.description(), cfg=cfg, journal=journal)
        assert session.code_model is not None and session.feedback_model is not None
        router = aide_bridge.Router(
            code_model=session.code_model, feedback_model=session.feedback_model,
            code_model_name=c.code_model, feedback_model_name=c.role_model("feedback"),
            code_temperature=c.code_temperature, feedback_temperature=c.feedback_temperature,
            maximize=maximize, rng=random.Random(session.seed * 1000 + len(prior)),
        )
        run = _AideRun(session, agent, journal, maximize)
        token = aide_bridge.activate(router)
        try:
            if cfg.agent.data_preview:
                agent.update_data_preview()
            run.loop()
        except BaseException:
            session.stop()
            raise
        finally:
            aide_bridge.deactivate(token)
            run.save_aide_journal(Path(cfg.log_dir))


class _AideRun:
    """One run's loop over aide's Agent (kept apart so AideSearch holds no per-run state)."""

    def __init__(self, session: "SearchSession", agent: Any, journal: Any, maximize: bool) -> None:
        self.session, self.agent, self.journal, self.maximize = session, agent, journal, maximize
        self.lock = threading.Lock()

    def exec_callback(self, node_id: str) -> Any:
        """aide's ExecCallbackType `(code, reset_session) -> ExecutionResult`, through the MLOps port."""
        holder: dict[str, Any] = {}

        def run(code: str, reset_session: bool = True) -> Any:
            result = self.session.execute(code, node_id=node_id)
            holder["result"] = result
            return to_execution_result(result, self.session.budget.exec_timeout)

        run.holder = holder  # type: ignore[attr-defined]
        return run

    def loop(self) -> None:
        workers = max(1, self.session.budget.workers)
        if workers == 1:  # aide's own policy, one step at a time
            while self.session.steps_left() > 0:
                self.step(self.agent.search_policy())
            return
        self.parallel(workers)

    def parallel(self, workers: int) -> None:
        """Up to `workers` steps at once: drafts, improves and debugs, each from a different parent
        when there is one (a parent being improved or debugged is not picked again meanwhile)."""
        session = self.session
        running: dict[Future, Any] = {}
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="loom-aide") as pool:
            try:
                while True:
                    while len(running) < workers and session.steps_left() > 0:
                        parent = self.choose_parent(running.values())
                        kind = "draft" if parent is None else ("debug" if parent.is_buggy else "improve")
                        step = session.reserve_step(kind)
                        if step is None:
                            break
                        context = contextvars.copy_context()  # the run's Router lives in a ContextVar
                        running[pool.submit(context.run, self.step, parent, step)] = parent
                    if not running:
                        break
                    done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                    for future in done:
                        running.pop(future)
                        future.result()
            except BaseException:
                session.stop()  # Ctrl-C / a failure: the other steps' candidates stop now
                raise

    def choose_parent(self, busy_parents: Any) -> Any:
        """aide's search policy (draft until num_drafts, debug with debug_prob, else improve the
        best), aware of the steps in flight: drafts in flight count, busy parents are skipped."""
        busy = [p for p in busy_parents]
        busy_ids = {p.id for p in busy if p is not None}
        search = self.agent.acfg.search
        rng = aide_bridge.run_rng()
        with self.lock:
            if len(self.journal.draft_nodes) + sum(1 for p in busy if p is None) < search.num_drafts:
                return None
            if rng.random() < search.debug_prob:
                debuggable = [n for n in self.journal.buggy_nodes if n.is_leaf and n.id not in busy_ids
                              and n.debug_depth <= search.max_debug_depth]
                if debuggable:
                    return rng.choice(debuggable)
            good = self.journal.good_nodes
            if not good:
                return None
            free = [n for n in good if n.id not in busy_ids]
            return max(free or good, key=lambda n: n.metric)

    def step(self, parent: Any, step: int | None = None) -> None:
        kind = "draft" if parent is None else ("debug" if parent.is_buggy else "improve")
        if step is None:
            step = self.session.reserve_step(kind)
        if step is None:
            return
        usage = aide_bridge.count_step_usage()
        try:
            if parent is None:
                node = self.agent._draft()
            elif parent.is_buggy:
                node = self.agent._debug(parent)
            else:
                node = self.agent._improve(parent)
        except BaseException:
            self.session.release_step(step)
            raise
        callback = self.exec_callback(node.id)
        exec_result = callback(node.code, True)
        try:
            self.agent.parse_exec_result(node=node, exec_result=exec_result)
        except JudgeError as exc:  # a judge that cannot answer marks this node, not the run
            from aide.utils.metric import WorstMetricValue

            node.is_buggy, node.metric = True, WorstMetricValue()
            node.analysis = f"judge failed: {exc}"
        if not node.is_buggy and node.metric.value is not None:
            from aide.utils.metric import MetricValue

            node.metric = MetricValue(float(node.metric.value), maximize=self.maximize)
        loom_node = Node(
            id=node.id, step=step, kind=kind, code=node.code, plan=node.plan or "",
            parent_id=parent.id if parent is not None else None,
            metric=None if node.is_buggy else node.metric.value,
            buggy=bool(node.is_buggy), analysis=node.analysis or "", tokens=usage[0], usd=usage[1],
        )
        with self.lock:
            self.journal.append(node)
            self.session.record(loom_node, callback.holder.get("result"))
            if loom_node.buggy and not node.is_buggy:  # Loom could not grade its submission: aide debugs it
                from aide.utils.metric import WorstMetricValue

                node.is_buggy, node.metric = True, WorstMetricValue()
                node.analysis = f"{node.analysis or ''}\nLoom could not grade the submission: {loom_node.selection_error}".strip()

    def save_aide_journal(self, log_dir: Path) -> None:
        try:
            from aide.utils import serialize

            log_dir.mkdir(parents=True, exist_ok=True)
            serialize.dump_json(self.journal, log_dir / "aide_journal.json")
        except Exception as exc:  # noqa: BLE001 - a debugging aid only
            log.debug("could not save aide's journal", extra={"error": repr(exc)})
