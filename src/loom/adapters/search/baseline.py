"""BaselineSearch (`--search baseline`): a deterministic, keyless brain.

It writes the same kind of candidate scripts an LLM brain writes (read ./input, print the
validation metric, write ./working/submission.csv) and walks a ladder chosen by the data
(`baseline_plan`): a dummy floor, a scaled linear model with a regularisation path, LightGBM
with early stopping, extra trees, an SVM on small data, a random forest, tunings of the best
families, and last an ensemble of the best candidates' out-of-fold predictions (handed to it by
Loom through the session, never read across candidate folders). Each candidate reports a K-fold
CV mean and its standard deviation; the search stops early when new candidates stop beating the
best by more than the noise, plans to --time-budget, and runs --workers candidates side by side.
Every candidate runs through the session (the MLOps port): the floor every LLM run is compared
against.
"""

from __future__ import annotations

import json
import re
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from loom.adapters.search.baseline_plan import Plan, Result, Spec
from loom.adapters.search.baseline_script import render
from loom.domain.search import Node

if TYPE_CHECKING:
    from loom.application.config import LoomConfig
    from loom.application.ports.mlops import ExecResult
    from loom.application.ports.search import SearchSession

_NUM = r"(-?[0-9.]+(?:[eE][-+]?\d+)?|nan|inf)"
_TAG = re.compile(r"^\[baseline (\w+)/(\d+)\]")
_METRIC = re.compile(r"Validation metric \((\w+)\):\s*" + _NUM)
_STD = re.compile(r"Validation std \((\w+)\):\s*" + _NUM + r" over (\d+) folds")
_PROFILE = re.compile(r"^Data profile: (\{.*\})\s*$", re.M)
PREDICTION_FILES = ("oof.csv", "test_pred.csv")


def _finite(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def parse_metric(output: str) -> float | None:
    """The last `Validation metric (<name>): <value>` a candidate printed (None: none, or not finite)."""
    found = _METRIC.findall(output or "")
    return _finite(found[-1][1]) if found else None


def parse_spread(output: str) -> tuple[float | None, int]:
    """(standard deviation, folds) from the last `Validation std (<name>): <std> over <k> folds`."""
    found = _STD.findall(output or "")
    if not found:
        return None, 1
    return _finite(found[-1][1]), int(found[-1][2])


def parse_profile(output: str) -> dict[str, Any]:
    found = _PROFILE.findall(output or "")
    try:
        data = json.loads(found[-1]) if found else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def cv_plan(rows: int, time_budget: float | None) -> tuple[int, int]:
    """(folds, repeats): repeated folds on small data, where one split is mostly luck."""
    folds = 3 if rows > 200_000 else 5
    repeats = 3 if rows < 500 else (2 if rows < 1000 else 1)
    if time_budget is not None and time_budget < 60:
        repeats = 1
    return folds, repeats


class BaselineSearch:
    """The keyless brain. Implements the Search port."""

    name = "baseline"
    needs_models = False
    requires_modules: tuple[str, ...] = ("sklearn", "pandas")
    requires_env: tuple[str, ...] = ()

    def __init__(self, config: "LoomConfig") -> None:
        self.config = config

    @staticmethod
    def _tag(node: Node) -> tuple[str, int] | None:
        match = _TAG.match(node.plan or "")
        return (match.group(1), int(match.group(2))) if match else None

    def _plan(self, session: "SearchSession") -> Plan:
        from loom.application.ports.readiness import module_available

        task = session.task
        plan = Plan(task_type=task.task_type, rows=task.n_train, maximize=task.metric.maximize,
                    lightgbm=module_available("lightgbm"), metric=task.metric.name)
        for node in session.nodes():  # a resumed run continues the same plan
            tag = self._tag(node)
            if tag is None:
                continue
            _, folds = parse_spread(node.term_out)
            plan.record(Result(node.id, tag[0], tag[1], None if node.buggy else node.metric, node.metric_std,
                               folds, node.exec_time, has_predictions=not node.buggy))
            plan.profile = plan.profile or parse_profile(node.term_out)
        return plan

    # ---- the loop ----------------------------------------------------------------------
    def search(self, session: "SearchSession") -> None:
        plan = self._plan(session)
        workers = max(1, session.budget.workers)
        running: dict[Future, Spec] = {}
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="loom-baseline") as pool:
            try:
                while True:
                    while len(running) < workers and session.steps_left() > 0:
                        spec = plan.next(in_flight=len(running), steps_left=session.steps_left(),
                                         time_left=session.time_left())
                        if not isinstance(spec, Spec):
                            break
                        kind = ("ensemble" if spec.family == "ensemble" else "draft" if spec.variant == 0
                                else "improve")
                        step = session.reserve_step(kind)
                        if step is None:
                            break
                        plan.taken.add(spec.key)
                        running[pool.submit(self._one, session, spec, kind, step)] = spec
                    if not running:
                        break
                    done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                    for future in done:
                        running.pop(future)
                        result, profile = future.result()
                        plan.record(result)
                        plan.profile = plan.profile or profile
            except BaseException:
                session.stop()  # Ctrl-C / a failure: candidates in flight stop now
                raise
        if plan.stopped_early:
            session.note(f"baseline: stopped early: {plan.stopped_early}")
        elif session.steps_left() > 0 and not (session.time_left() is not None and (session.time_left() or 0) <= 0):
            session.note("baseline: every candidate in its ladder has run")

    def _one(self, session: "SearchSession", spec: Spec, kind: str, step: int) -> tuple[Result, dict[str, Any]]:
        node = Node(id=uuid.uuid4().hex, step=step, kind=kind, code=self._candidate(session, spec),
                    plan=self._describe(spec), parent_id=spec.parent or (spec.members[0][0] if spec.members else None))
        attach = {f"members/{nid}/{name}": (nid, name) for nid, _ in spec.members for name in PREDICTION_FILES}
        result = session.execute(node.code, node_id=node.id, attach=attach or None)
        node.metric = parse_metric(result.stdout)
        node.metric_std, folds = parse_spread(result.stdout)
        node.buggy = not result.ok or node.metric is None
        node.analysis = self._analysis(spec, node, result, folds)
        session.record(node, result)
        outcome = Result(node.id, spec.family, spec.variant, None if node.buggy else node.metric,
                         None if node.buggy else node.metric_std, folds, result.exec_time,
                         has_predictions=not node.buggy)
        return outcome, parse_profile(result.stdout)

    # ---- the candidate -----------------------------------------------------------------
    def _candidate(self, session: "SearchSession", spec: Spec) -> str:
        task = session.task
        folds, repeats = cv_plan(task.n_train, session.budget.time_budget)
        return render({
            "mode": "ensemble" if spec.family == "ensemble" else "model",
            "family": spec.family, "params": dict(spec.params), "target": task.target,
            "id_column": task.id_column, "metric": task.metric.name, "maximize": task.metric.maximize,
            "task_type": task.task_type, "seed": session.seed, "classes": list(task.classes),
            "class_columns": bool(getattr(task, "class_columns", False)),
            "positive": task.positive_class if len(task.classes) == 2 else None,
            "time_column": getattr(task, "time_column", None), "group_column": getattr(task, "group_column", None),
            "copies": bool(getattr(task, "copies", False)),
            "folds": folds, "repeats": repeats,
            "members": [{"node_id": nid, "family": fam} for nid, fam in spec.members],
        })

    @staticmethod
    def _describe(spec: Spec) -> str:
        tag = f"[baseline {spec.family}/{spec.variant}]"
        if spec.family == "ensemble":
            names = ", ".join(f"{fam} {nid[:8]}" for nid, fam in spec.members)
            return f"{tag} ensemble of the out-of-fold predictions of {len(spec.members)} candidates: {names}"
        return f"{tag} {spec.family} with {json.dumps(spec.params, sort_keys=True) if spec.params else 'defaults'}"

    @staticmethod
    def _analysis(spec: Spec, node: Node, result: "ExecResult", folds: int) -> str:
        if node.buggy:
            return f"{spec.family} failed: {result.exc_type or 'no validation metric printed'}"
        spread = f" ± {node.metric_std:.3g}" if node.metric_std is not None else ""
        text = f"{spec.family} reported {node.metric:.5g}{spread} over {folds} CV folds"
        combined = re.search(r"^Ensemble: (.*)$", result.stdout or "", re.M)
        return text + (f"; {combined.group(1)}" if combined else "")
