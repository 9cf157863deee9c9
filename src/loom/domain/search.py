"""The search loop's value types: Task, SearchBudget, Node, Estimate, Leaderboard, SearchResult.

Two scores per node, on different rows: `metric` is what the candidate reported on its own
validation split; `selection` is Loom's grade on the sealed selection slice, which ranks the
nodes. The chosen best is then scored once on the sealed final slice, rows that played no part
in choosing it: that `Estimate` (with a 95% interval) is the number Loom reports.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from loom.domain.metrics import MetricSpec
from loom.domain.status import Status

NODE_KINDS = ("draft", "improve", "debug", "ensemble")


@dataclass(frozen=True)
class Task:
    """What the brain works on: the prepared candidate input and what to predict."""

    goal: str
    metric: MetricSpec
    input_dir: str  # prepared candidate input (train.csv, test.csv, sample_submission.csv)
    target: str
    id_column: str
    task_type: str  # "classification" | "regression"
    columns: tuple[str, ...] = ()  # feature columns (train minus id and target)
    n_train: int = 0
    n_test: int = 0  # rows in the candidate's test.csv (user test rows + the sealed slices' features)
    classes: tuple[str, ...] = ()  # canonical labels, ordered (numerically when they are numbers)
    dataset: str | None = None  # source pathspec, when the data came from a data object
    time_column: str | None = None  # rows are ordered by it; the sealed rows are the latest
    group_column: str | None = None  # rows come in groups by it; test.csv holds new groups, so do the sealed rows
    copies: bool = False  # train.csv repeats rows exactly, test.csv's rows are new: sets of copies are sealed whole
    positive: str | None = None  # a binary target's positive class (`domain.positive.choose`: the goal, else convention)

    @property
    def positive_class(self) -> str:
        """The class a positive-class metric scores and a binary probability column holds."""
        from loom.domain.metrics import positive_label

        return self.positive or positive_label(self.classes)

    @property
    def class_columns(self) -> bool:
        """True when a submission holds one probability column per class (multiclass scores)."""
        return self.metric.needs_probabilities and len(self.classes) > 2

    def submission_columns(self) -> list[str]:
        return [self.id_column, *self.classes] if self.class_columns else [self.id_column, self.target]

    def description(self) -> str:
        """The task text handed to an LLM brain (small derived context, never bulk data)."""
        if self.class_columns:
            pred = (f"one column per class ({', '.join(repr(c) for c in self.classes)}) holding the "
                    f"probability of that class")
            cols = f"'{self.id_column}' and " + pred
        else:
            pred = (
                f"the probability that {self.target} is {self.positive_class!r}"
                if self.metric.needs_probabilities and len(self.classes) == 2
                else f"the probability that {self.target} is the positive class"
                if self.metric.needs_probabilities
                else f"the predicted {self.target}"
            )
            cols = f"'{self.id_column}' and '{self.target}' ({pred})"
        order = (f" Rows are ordered in time by '{self.time_column}': validate on the latest rows."
                 if self.time_column else "")
        if self.group_column:
            order += (f" Rows come in groups by '{self.group_column}' and the test rows belong to groups train.csv "
                      f"never shows: validate with whole groups held out (e.g. GroupKFold).")
        if self.copies:
            order += (" train.csv repeats some rows exactly (the same features) while the test rows are new: keep "
                      "identical rows in one fold when validating (GroupKFold over identical feature rows), or the "
                      "score flatters a model that memorises rows.")
        return (
            f"{self.goal}\n\nEvaluation: {self.metric.direction} {self.metric.label} "
            f"({self.metric.info.definition}). "
            f"./input/train.csv holds {self.n_train} labelled rows (target column "
            f"'{self.target}'); ./input/test.csv holds {self.n_test} rows without the target.{order} "
            f"Write ./working/submission.csv with the columns {cols}, one row per test row, like "
            f"./input/sample_submission.csv. Print the validation metric as "
            f"'Validation metric: <value>'."
        )


@dataclass(frozen=True)
class SearchBudget:
    steps: int
    num_drafts: int = 5
    debug_prob: float = 0.5
    max_debug_depth: int = 3
    exec_timeout: float = 600.0
    max_usd: float | None = None
    workers: int = 1
    time_budget: float | None = None  # wall-clock seconds for the search (None: steps only)


@dataclass
class Node:
    """One candidate: the code, how it ran, what it reported and what Loom measured."""

    id: str
    step: int
    kind: str  # draft | improve | debug | ensemble (a weighted blend of earlier nodes)
    code: str
    plan: str = ""
    parent_id: str | None = None
    metric: float | None = None  # self-reported validation metric (None = buggy / none)
    selection: float | None = None  # Loom's own grade on the sealed selection slice (ranks nodes)
    buggy: bool = True
    analysis: str = ""
    term_out: str = ""  # bounded tail of stdout/stderr
    exec_time: float = 0.0
    exit_code: int | None = None
    timed_out: bool = False
    exc_type: str | None = None
    exc_message: str | None = None
    selection_error: str | None = None  # why the submission could not be graded
    submission: str | None = None  # Loom's copy of the candidate's submission.csv
    pathspec: str | None = None
    tokens: int = 0
    usd: float | None = None
    metric_std: float | None = None  # spread of the self-reported metric over its CV folds, when reported
    ctime: float = 0.0
    combined: bool = False  # it read other candidates' outputs (an ensemble of them)

    @property
    def holdout(self) -> float | None:
        """The selection-slice grade (its name before selection and estimation were split)."""
        return self.selection

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Node":
        data = dict(data)
        for old, new in (("holdout", "selection"), ("holdout_error", "selection_error")):
            if old in data:  # a journal written before the rename
                data.setdefault(new, data.pop(old))
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class Estimate:
    """The reported score of the chosen solution: its final-slice score with a 95% interval."""

    metric: str
    value: float
    low: float | None  # None when too few resamples could be scored
    high: float | None
    rows: int  # rows in the final slice
    split: str  # how the sealed rows were chosen: stratified | random | time
    method: str  # how the interval was computed
    wide: bool = False
    node_id: str = ""
    rarest: int | None = None  # classification: final-slice rows of its rarest class (what bounds the width)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ranked_on(node: Node) -> str | None:
    """Which score ranks `node`: "selection" (Loom's grade), "self_reported", or None (buggy)."""
    if node.buggy:
        return None
    if node.selection is not None:
        return "selection"
    return "self_reported" if node.metric is not None else None


def rank(nodes: list[Node], metric: MetricSpec) -> list[Node]:
    """Best first: working nodes by their selection-slice grade (what Loom measured), ties by
    the self-reported metric, then by step. Nodes without a grade come after graded ones
    (ranked by self-reported); buggy nodes come last.
    """

    def key(node: Node) -> tuple[int, float, float]:
        sign = -1.0 if metric.maximize else 1.0
        if node.buggy:
            return (3, 0.0, float(node.step))
        if node.selection is not None:
            return (0, sign * node.selection, sign * (node.metric if node.metric is not None else 0.0))
        if node.metric is not None:
            return (1, sign * node.metric, float(node.step))
        return (2, 0.0, float(node.step))

    return sorted(nodes, key=key)


@dataclass
class RoleUsage:
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    usd: float | None = 0.0  # None once any call had an unknown price

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass
class SearchResult:
    """What a search run produced (the CLI renders it; --json dumps `to_dict()`)."""

    run_id: str
    status: Status
    run_dir: str
    metric: MetricSpec
    nodes: list[Node] = field(default_factory=list)
    leaderboard: list[Node] = field(default_factory=list)
    usage: dict[str, RoleUsage] = field(default_factory=dict)
    wall_time: float = 0.0
    message: str = ""
    paths: dict[str, str] = field(default_factory=dict)
    estimate: Estimate | None = None  # the best's final-slice score and interval
    split: dict[str, Any] = field(default_factory=dict)  # how the rows were split (kind, time column, rows)
    leaks: list[dict[str, str]] = field(default_factory=list)  # the leak screen's flags (column, kind, detail, fix)
    leak_mode: str = "warn"
    warnings: list[str] = field(default_factory=list)  # what a user must read before trusting the numbers
    refit: dict[str, Any] | None = None  # the delivered submission's refit on every labelled row (used, rows, why)
    positive: str | None = None  # the positive class of a binary target (what ROC-AUC, F1, the probability score)
    floor: dict[str, Any] | None = None  # the best constant's final-slice score {value, constant} (run_search.floor)

    @property
    def best(self) -> Node | None:
        return self.leaderboard[0] if self.leaderboard and not self.leaderboard[0].buggy else None

    def to_dict(self) -> dict[str, Any]:
        best = self.best
        usd_values = [u.usd for u in self.usage.values()]
        return {
            "status": self.status.value,
            "run_id": self.run_id,
            "run_dir": self.run_dir,
            "metric": {"name": self.metric.name, "maximize": self.metric.maximize, "label": self.metric.label,
                       "definition": self.metric.info.definition, "sentence": self.metric.sentence,
                       "positive_class": self.positive},
            "best": None if best is None else leaderboard_row(best),
            "nodes": len(self.nodes),
            "buggy_nodes": sum(1 for n in self.nodes if n.buggy),
            "usage": {role: asdict(u) | {"tokens": u.tokens} for role, u in self.usage.items()},
            "usd": None if any(v is None for v in usd_values) else round(sum(usd_values), 6),  # type: ignore[arg-type]
            "wall_time": round(self.wall_time, 3),
            "message": self.message,
            "estimate": None if self.estimate is None else self.estimate.to_dict(),
            "floor": None if self.floor is None else dict(self.floor),
            "split": dict(self.split),
            "leaks": {"mode": self.leak_mode, "flagged": [dict(f) for f in self.leaks]},
            "warnings": list(self.warnings),
            "refit": None if self.refit is None else dict(self.refit),
            "paths": dict(self.paths),
            "ranked_by": RANKED_BY,
            "leaderboard": [leaderboard_row(n) for n in self.leaderboard[:10]],
        }


RANKED_BY = "selection (Loom's grade on the sealed selection slice), then self-reported"


def leaderboard_row(node: Node) -> dict[str, Any]:
    return {
        "node_id": node.id,
        "step": node.step,
        "kind": node.kind,
        "self_reported": node.metric,
        "selection": node.selection,
        "ranked_on": ranked_on(node),
        "buggy": node.buggy,
        "exec_time": round(node.exec_time, 3),
        "pathspec": node.pathspec,
        "self_reported_std": node.metric_std,  # spread over the candidate's CV folds, when it says
    }
