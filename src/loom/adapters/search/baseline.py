"""BaselineSearch (`--search baseline`): a deterministic, keyless brain.

It writes the same kind of candidate scripts an LLM brain writes (read ./input, print the
validation metric, write ./working/submission.csv) and walks a fixed, well-chosen sequence:
drafts = a dummy floor, a linear model, RandomForest, HistGradientBoosting, LightGBM; then
improves = a little tuning of the best family so far. Every candidate runs through the
session (the MLOps port), so it is the floor every LLM run is compared against.
"""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from loom.adapters.search.baseline_script import render
from loom.domain.search import Node

if TYPE_CHECKING:
    from loom.application.config import LoomConfig
    from loom.application.ports.search import SearchSession

DRAFTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("dummy", {}),
    ("linear", {}),
    ("random_forest", {"n_estimators": 200, "min_samples_leaf": 2}),
    ("hist_gb", {"max_iter": 200, "learning_rate": 0.1}),
    ("lightgbm", {"n_estimators": 300, "learning_rate": 0.05, "num_leaves": 31}),
)
TUNING: dict[str, tuple[dict[str, Any], ...]] = {
    "dummy": (),
    "linear": ({"C": 0.3}, {"C": 3.0}),
    "random_forest": ({"n_estimators": 400, "min_samples_leaf": 1, "max_features": "sqrt"},
                      {"n_estimators": 300, "min_samples_leaf": 5}),
    "hist_gb": ({"max_iter": 400, "learning_rate": 0.05, "l2_regularization": 1.0},
                {"max_iter": 300, "learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 40}),
    "lightgbm": ({"n_estimators": 600, "learning_rate": 0.03, "num_leaves": 15, "subsample": 0.8,
                  "subsample_freq": 1, "colsample_bytree": 0.8},
                 {"n_estimators": 400, "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 40,
                  "reg_lambda": 1.0}),
}
_REGRESSION_PARAMS = {"C": "alpha"}  # Ridge's alpha plays LogisticRegression's (inverse) C
_TAG = re.compile(r"^\[baseline (\w+)/(\d+)\]")
_METRIC = re.compile(r"Validation metric \((\w+)\):\s*(-?[0-9.]+(?:[eE][-+]?\d+)?|nan|inf)")


def parse_metric(output: str) -> float | None:
    found = _METRIC.findall(output or "")
    if not found:
        return None
    try:
        value = float(found[-1][1])
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


class BaselineSearch:
    """The keyless brain. Implements the Search port."""

    name = "baseline"
    needs_models = False
    requires_modules: tuple[str, ...] = ("sklearn", "pandas")
    requires_env: tuple[str, ...] = ()

    def __init__(self, config: "LoomConfig") -> None:
        self.config = config

    # ---- the plan ----------------------------------------------------------------------
    @staticmethod
    def _tag(node: Node) -> tuple[str, int] | None:
        match = _TAG.match(node.plan or "")
        return (match.group(1), int(match.group(2))) if match else None

    def _next(self, session: "SearchSession", taken: set[tuple[str, int]]) -> tuple[str, int, dict, Node | None] | None:
        """The next (family, variant, params, parent) not yet tried; None when exhausted."""
        for index, (family, params) in enumerate(DRAFTS):
            if (family, 0) not in taken:
                return family, 0, dict(params), None
        metric = session.task.metric
        done = [n for n in session.nodes() if not n.buggy and n.metric is not None and self._tag(n)]
        done.sort(key=lambda n: (-(n.metric or 0.0) if metric.maximize else (n.metric or 0.0), n.step))
        for parent in done:
            family, _ = self._tag(parent)  # type: ignore[misc]
            base = dict(next(p for f, p in DRAFTS if f == family))
            for variant, extra in enumerate(TUNING.get(family, ()), start=1):
                if (family, variant) not in taken:
                    return family, variant, {**base, **extra}, parent
        return None

    def _candidate(self, session: "SearchSession", family: str, params: dict) -> str:
        task = session.task
        if task.task_type == "regression":
            params = {_REGRESSION_PARAMS.get(k, k) if family == "linear" else k: (1.0 / v if k == "C" and family == "linear" else v)
                      for k, v in params.items()}
        return render({
            "family": "hist_gb" if family == "hist_gb" else family,
            "params": params, "target": task.target, "id_column": task.id_column,
            "metric": task.metric.name, "task_type": task.task_type, "seed": session.seed,
        })

    # ---- the loop ----------------------------------------------------------------------
    def search(self, session: "SearchSession") -> None:
        taken = {t for n in session.nodes() if (t := self._tag(n))}
        workers = max(1, session.budget.workers)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="loom-baseline") as pool:
            while session.steps_left() > 0:
                batch: list[tuple[str, int, dict, Node | None]] = []
                for _ in range(min(workers, session.steps_left())):
                    nxt = self._next(session, taken)
                    if nxt is None:
                        break
                    family, variant, params, parent = nxt
                    if parent is not None and batch:
                        break  # tuning follows the best so far: wait for the drafts in flight
                    taken.add((family, variant))
                    batch.append(nxt)
                if not batch:
                    session.note("baseline: every candidate in its sequence has run")
                    return
                futures = [pool.submit(self._one, session, *item) for item in batch]
                try:
                    for future in futures:
                        future.result()
                except BaseException:
                    session.stop()  # Ctrl-C / budget: candidates in flight stop now
                    raise

    def _one(self, session: "SearchSession", family: str, variant: int, params: dict, parent: Node | None) -> None:
        kind = "draft" if parent is None else "improve"
        step = session.reserve_step(kind)
        if step is None:
            return
        node = Node(
            id=uuid.uuid4().hex, step=step, kind=kind,
            code=self._candidate(session, family, params),
            plan=f"[baseline {family}/{variant}] {family} with {params or 'defaults'}",
            parent_id=parent.id if parent else None,
        )
        result = session.execute(node.code, node_id=node.id)
        node.metric = parse_metric(result.stdout)
        node.buggy = not result.ok or node.metric is None
        node.analysis = (
            f"{family} reported {node.metric:.5g} on its validation split" if not node.buggy
            else f"{family} failed: {result.exc_type or 'no validation metric printed'}"
        )
        session.record(node, result)
