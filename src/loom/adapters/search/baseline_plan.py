"""The baseline brain's plan: which candidate runs next, chosen by the data, the results, the clock.

- Drafts, simplest first: a dummy floor (it also reports the data profile), a scaled linear model
  with a small regularisation path, LightGBM with early stopping, extra trees, an RBF SVM on
  small data, a random forest (not above FOREST_MAX_ROWS when LightGBM runs). Then tunings of the families that cross-validate best (for a
  skewed positive regression target, first the same family on log1p(target)).
- Selection is not luck: every candidate reports a K-fold CV mean and its spread. A result
  "gains" when it beats the best mean by more than the best's standard error (std / sqrt(folds));
  once the core drafts are in, `PATIENCE` results in a row without a gain stop the search early.
  Among results within one standard error of the best, the simpler family ranks first.
- The last step is an ensemble of the best members' out-of-fold predictions.
- With a time budget, a candidate starts only when its estimated time (calibrated on the
  candidates seen so far) fits in what is left, keeping room for the ensemble.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

SIMPLICITY = {"dummy": 0, "linear": 1, "svm": 2, "extra_trees": 3, "random_forest": 3, "hist_gb": 4,
              "lightgbm": 4, "ensemble": 5}
COST = {"dummy": 0.0, "linear": 1.0, "svm": 1.5, "extra_trees": 2.0, "random_forest": 3.0, "hist_gb": 2.5,
        "lightgbm": 2.0, "ensemble": 0.3}  # relative fitting cost, calibrated on what ran
CORE = 4  # the first drafts (floor, linear, boosting, trees) always run before stopping early
PATIENCE = 2
MAX_MEMBERS = 5
SVM_MAX_ROWS = 3000
FOREST_MAX_ROWS = 20_000  # above: no random forest when LightGBM runs (25k-36k rows: 100-145 s, 10x LightGBM, never the best)
TUNING: dict[str, tuple[dict[str, Any], ...]] = {
    "linear": (),
    "svm": ({"C": 3.0}, {"C": 10.0}, {"C": 0.3}),
    "lightgbm": ({"num_leaves": 15, "learning_rate": 0.03, "min_child_samples": 10},
                 {"num_leaves": 63, "min_child_samples": 40, "reg_lambda": 1.0},
                 {"num_leaves": 7, "learning_rate": 0.03, "colsample_bytree": 0.5}),
    "extra_trees": ({"n_estimators": 500, "min_samples_leaf": 2}, {"n_estimators": 500, "max_features": 0.7}),
    "random_forest": ({"n_estimators": 500, "min_samples_leaf": 3}, {"n_estimators": 500, "max_features": 0.3}),
    "hist_gb": ({"max_leaf_nodes": 15, "learning_rate": 0.03, "l2_regularization": 1.0},),
}


@dataclass(frozen=True)
class Spec:
    """One candidate to run: a family with parameters (variant 0 = the draft), or the ensemble."""

    family: str
    variant: int
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    parent: str | None = None  # node id of the result a tuning starts from
    members: tuple[tuple[str, str], ...] = ()  # ensemble: (node id, family), best first

    @property
    def key(self) -> tuple[str, int]:
        return self.family, self.variant


@dataclass(frozen=True)
class Result:
    """A finished candidate as the plan sees it."""

    node_id: str
    family: str
    variant: int
    mean: float | None  # None: it failed
    std: float | None = None
    folds: int = 1
    seconds: float = 0.0
    has_predictions: bool = True

    @property
    def se(self) -> float:
        return (self.std or 0.0) / math.sqrt(max(1, self.folds))


#: Metrics on log1p of the target: a model fit on log1p(y) optimises them directly.
LOG_METRICS = frozenset({"rmsle", "msle"})


class Plan:
    """Decides the next Spec from what ran. Not thread-safe: the brain calls it from one thread."""

    def __init__(self, *, task_type: str, rows: int, maximize: bool, lightgbm: bool = True, metric: str = "") -> None:
        self.task_type, self.rows, self.maximize, self.metric = task_type, rows, maximize, metric
        self.results: list[Result] = []
        self.taken: set[tuple[str, int]] = set()
        self.profile: dict[str, Any] = {}
        self.stale = 0  # results in a row without a gain, counted once the core drafts are in
        self.stopped_early = ""
        self.drafts = [f for f in ("dummy", "linear", "lightgbm" if lightgbm else "hist_gb", "extra_trees", "svm",
                                   "random_forest") if (f != "svm" or rows <= SVM_MAX_ROWS)
                       and (f != "random_forest" or rows <= FOREST_MAX_ROWS or not lightgbm)]

    # ---- results -----------------------------------------------------------------------
    def record(self, result: Result) -> None:
        self.taken.add((result.family, result.variant))
        best, counting = self.best(), self._core_done()
        self.results.append(result)
        if result.family in ("dummy", "ensemble") or result.mean is None or not counting:
            return
        if best is not None and not self._gains(result, best):
            self.stale += 1
            if self.stale >= PATIENCE and not self.stopped_early:
                self.stopped_early = (f"{PATIENCE} candidates in a row did not beat the best CV mean "
                                      f"({best.mean:.5g}) by more than its standard error ({best.se:.2g})")
        else:
            self.stale = 0

    def _gains(self, result: Result, best: Result) -> bool:
        assert result.mean is not None and best.mean is not None
        margin = best.se
        return result.mean > best.mean + margin if self.maximize else result.mean < best.mean - margin

    def _core_done(self) -> bool:
        ran = {r.family for r in self.results}
        return all(f in ran for f in self.drafts[:CORE])

    def ranked(self) -> list[Result]:
        """Working model results, best CV mean first; within one standard error of the best, simpler first."""
        good = [r for r in self.results if r.mean is not None and r.family not in ("dummy", "ensemble")]
        sign = -1.0 if self.maximize else 1.0
        good.sort(key=lambda r: (sign * (r.mean or 0.0), SIMPLICITY[r.family], r.variant))
        if not good:
            return good
        top = good[0]
        tied = [r for r in good if abs((r.mean or 0.0) - (top.mean or 0.0)) <= top.se]
        tied.sort(key=lambda r: (SIMPLICITY[r.family], sign * (r.mean or 0.0)))
        return tied + [r for r in good if r not in tied]

    def best(self) -> Result | None:
        """The best working model result by CV mean (the reference a new result must beat)."""
        good = [r for r in self.results if r.mean is not None and r.family not in ("dummy", "ensemble")]
        if not good:
            return None
        sign = -1.0 if self.maximize else 1.0
        return min(good, key=lambda r: (sign * (r.mean or 0.0), SIMPLICITY[r.family]))

    def members(self) -> list[Result]:
        return [r for r in self.ranked() if r.has_predictions][:MAX_MEMBERS]

    # ---- time --------------------------------------------------------------------------
    def estimate(self, family: str) -> float:
        """Seconds a candidate of `family` is expected to take, from what ran so far."""
        same = [r.seconds for r in self.results if r.family == family and r.seconds > 0]
        if same:
            return max(same)
        dummy = [r.seconds for r in self.results if r.family == "dummy" and r.seconds > 0]
        overhead = min(dummy) if dummy else 4.0
        units = [(r.seconds - overhead) / COST[r.family] for r in self.results
                 if COST.get(r.family) and r.seconds > 0 and r.family != "ensemble"]
        unit = sorted(units)[len(units) // 2] if units else max(0.5, self.rows / 2000)
        return overhead + COST.get(family, 2.0) * max(0.0, unit)

    # ---- the next candidate ------------------------------------------------------------
    def queue(self) -> list[Spec]:
        """Model candidates not yet taken, in the order they would run: the core drafts, the log
        target for the best family when the target is skewed and positive, the other drafts,
        then tunings of the two best families."""
        ranked = self.ranked()
        # a log metric (RMSLE) grades log1p(y): fitting log1p(y) is right whenever y >= 0, zeros included
        skewed = self.task_type == "regression" and (
            (bool(self.profile.get("positive")) and abs(float(self.profile.get("skew") or 0.0)) > 1.0)
            or (self.metric in LOG_METRICS and bool(self.profile.get("nonnegative"))))
        logs = [Spec(r.family, 100, {"target": "log"}, parent=r.node_id) for r in ranked[:2]
                if skewed and r.family != "svm"]
        tunings = [Spec(r.family, v, dict(p), parent=r.node_id) for r in ranked[:2]
                   for v, p in enumerate(TUNING.get(r.family, ()), start=1)]
        drafts = [Spec(f, 0) for f in self.drafts]
        order = drafts[:CORE] + logs[:1] + drafts[CORE:] + logs[1:] + tunings
        seen: set[tuple[str, int]] = set()
        return [s for s in order if s.key not in self.taken and not (s.key in seen or seen.add(s.key))]  # type: ignore[func-returns-value]

    def ensemble(self) -> Spec | None:
        members = self.members()
        if len(members) < 2 or ("ensemble", 0) in self.taken:
            return None
        return Spec("ensemble", 0, {}, members=tuple((m.node_id, m.family) for m in members))

    def next(self, *, in_flight: int, steps_left: int, time_left: float | None) -> Spec | str | None:
        """The next Spec; "wait" when running candidates must finish first; None when done."""
        if ("ensemble", 0) in self.taken:
            return "wait" if in_flight else None
        ensemble_ahead = len(self.members()) + in_flight >= 2
        closing = bool(self.stopped_early) or (steps_left <= 1 and ensemble_ahead)
        if not closing:
            reserve = self.estimate("ensemble") if ensemble_ahead else 0.0
            for spec in self.queue():
                if time_left is None or self.estimate(spec.family) + reserve <= time_left:
                    return spec
        if in_flight:
            return "wait"  # results in flight may open tunings; the ensemble needs every member
        closing_spec = self.ensemble()
        if closing_spec is not None and (time_left is None or self.estimate("ensemble") <= time_left):
            return closing_spec
        return None
