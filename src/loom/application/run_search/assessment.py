"""What a user must know before trusting a run's numbers: the best's final-slice estimate, the
leak screen's flags with what was done about them, and plain warnings for the summary, the JSON
and the leaderboard header."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loom.application.run_search import grading
from loom.application.run_search.floor import constant_floor
from loom.domain.search import Estimate, Node, Task


def assess(sealed_dir: Path, header: dict[str, Any], task: Task, ranked: list[Node], *, seed: int) -> dict[str, Any]:
    """The best's final-slice estimate and what a user must know before trusting the numbers."""
    split = dict(header.get("split") or {})
    screen = header.get("leaks") or {}
    best = ranked[0] if ranked and not ranked[0].buggy else None
    estimate: Estimate | None = None
    notes: list[str] = []
    if best is not None:
        try:
            estimate = grading.final_estimate(task, sealed_dir, Path(best.submission) if best.submission else None,
                                              node_id=best.id, seed=seed, split=split.get("kind", "random"))
        except (grading.GradingError, OSError) as exc:
            notes.append(f"no final estimate: the best's submission cannot be graded on the final slice ({exc})")
    dropped = set(screen.get("dropped") or []) | set(screen.get("train_only") or []) | set(screen.get("row_numbers") or [])
    flagged = [{**f, "action": "dropped" if f["column"] in dropped else "kept"} for f in screen.get("flagged") or []]
    floor = constant_floor(task, sealed_dir) if best is not None else None
    return {"estimate": estimate, "split": split, "leaks": flagged, "floor": floor,
            "leak_mode": screen.get("mode", "warn"),
            "warnings": notes + assessment_warnings(task, best, estimate, split, screen) + _floor_warning(task, estimate, floor)}


def _floor_warning(task: Task, estimate: Estimate | None, floor: dict[str, Any] | None) -> list[str]:
    """A best that does not beat always predicting one constant on the final slice found nothing to use."""
    if estimate is None or floor is None or task.metric.better(estimate.value, floor["value"]):
        return []
    label = task.metric.label
    return [f"the best scores {label} {estimate.value:.4g} on the final slice, no better than always predicting "
            f"{floor['constant']} ({label} {floor['value']:.4g} on the same rows): the candidates found no usable "
            "signal in the features, or lost it; check the target, the features and the candidates' errors"]


def assessment_warnings(task: Task, best: Node | None, estimate: Estimate | None, split: dict[str, Any],
                        screen: dict[str, Any]) -> list[str]:
    """Plain sentences for the summary, the JSON and the leaderboard header."""
    metric = task.metric
    out = []
    if screen.get("error"):
        out.append(f"{screen['error']}: no column was screened for leaks")
    for flag in screen.get("flagged") or []:
        if flag["column"] in (screen.get("train_only") or []) + (screen.get("row_numbers") or []):
            continue  # said below: left out whatever the screen thought of it
        action = "dropped" if flag["column"] in (screen.get("dropped") or []) else "kept (--leaks warn)"
        out.append(f"leak? column '{flag['column']}' ({flag['kind']}): {flag['detail']}; {action}; fix: {flag['fix']}")
    out.extend(screen.get("notes") or [])
    for column in screen.get("train_only") or []:
        out.append(f"column '{column}' is in train.csv only (test.csv lacks it): left out of the candidates' data, "
                   "since no prediction could use it")
    for column in screen.get("row_numbers") or []:
        out.append(f"column '{column}' only numbers the rows of each file (0, 1, 2, ... in train.csv and again in "
                   "test.csv: a pandas index written along): left out of the candidates' data, since where a row "
                   "sits in its file says nothing about it")
    rows = split.get("rows") or {}
    if split.get("kind") == "none":
        out.append(f"only {rows.get('train', 0)} labelled rows: nothing was sealed, so the ranking uses the "
                   "candidates' self-reported metrics and there is no independent estimate")
    for name, value, n in (("selection", best.selection if best else None, rows.get("selection", 0)),
                           ("final", estimate.value if estimate else None, rows.get("final", 0))):
        if metric.is_perfect(value):
            out.append(f"the best's {name} score is {metric.label} {value:g} on {n} rows, the metric's perfect value: "
                       "check for a leak (a column recorded after the outcome, or the target in disguise)")
    if estimate is not None and estimate.wide:
        span = ("no interval" if estimate.low is None or estimate.high is None
                else f"[{estimate.low:.4g}, {estimate.high:.4g}]")
        groups = {"group": " in whole groups", "copies": " in whole sets of copies"}.get(split.get("kind", ""), "")
        rarest = getattr(estimate, "rarest", None)
        few = (f"{estimate.rows} rows, only {rarest} of them of the rarest class" if rarest is not None
               and rarest * 4 < estimate.rows else f"only {estimate.rows} rows")
        out.append(f"the final estimate's 95% interval {span} is wide: the final slice has {few}"
                   f"{groups}; more labelled data narrows it")
    return out
