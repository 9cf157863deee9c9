"""The search loop's value types: Task, SearchBudget, Node, Leaderboard, SearchResult."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from loom.domain.metrics import MetricSpec
from loom.domain.status import Status

NODE_KINDS = ("draft", "improve", "debug")


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
    n_test: int = 0  # rows in the candidate's test.csv (user test + sealed holdout)
    classes: tuple[str, ...] = ()
    dataset: str | None = None  # source pathspec, when the data came from a data object

    def description(self) -> str:
        """The task text handed to an LLM brain (small derived context, never bulk data)."""
        pred = (
            f"the probability that {self.target} is the positive class"
            if self.metric.needs_probabilities
            else f"the predicted {self.target}"
        )
        return (
            f"{self.goal}\n\nEvaluation: {self.metric.direction} {self.metric.label}. "
            f"./input/train.csv holds {self.n_train} labelled rows (target column "
            f"'{self.target}'); ./input/test.csv holds {self.n_test} rows without the target. "
            f"Write ./working/submission.csv with the columns '{self.id_column}' and "
            f"'{self.target}' ({pred}), one row per test row, like "
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
    kind: str  # draft | improve | debug
    code: str
    plan: str = ""
    parent_id: str | None = None
    metric: float | None = None  # self-reported validation metric (None = buggy / none)
    holdout: float | None = None  # Loom's own grade on the sealed holdout
    buggy: bool = True
    analysis: str = ""
    term_out: str = ""  # bounded tail of stdout/stderr
    exec_time: float = 0.0
    exit_code: int | None = None
    timed_out: bool = False
    exc_type: str | None = None
    exc_message: str | None = None
    holdout_error: str | None = None
    submission: str | None = None  # Loom's copy of the candidate's submission.csv
    pathspec: str | None = None
    tokens: int = 0
    usd: float | None = None
    metric_std: float | None = None  # spread of the self-reported metric over its CV folds, when reported
    ctime: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Node":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def rank(nodes: list[Node], metric: MetricSpec) -> list[Node]:
    """Best first: working nodes by holdout (what Loom vouches for), then self-reported.

    Nodes without a holdout grade come after graded ones; buggy nodes come last.
    """

    def key(node: Node) -> tuple[int, float, float]:
        sign = -1.0 if metric.maximize else 1.0
        if node.buggy:
            return (3, 0.0, float(node.step))
        if node.holdout is not None:
            return (0, sign * node.holdout, sign * (node.metric if node.metric is not None else 0.0))
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
            "metric": {"name": self.metric.name, "maximize": self.metric.maximize},
            "best": None if best is None else leaderboard_row(best),
            "nodes": len(self.nodes),
            "buggy_nodes": sum(1 for n in self.nodes if n.buggy),
            "usage": {role: asdict(u) | {"tokens": u.tokens} for role, u in self.usage.items()},
            "usd": None if any(v is None for v in usd_values) else round(sum(usd_values), 6),  # type: ignore[arg-type]
            "wall_time": round(self.wall_time, 3),
            "message": self.message,
            "paths": dict(self.paths),
            "leaderboard": [leaderboard_row(n) for n in self.leaderboard[:10]],
        }


def leaderboard_row(node: Node) -> dict[str, Any]:
    return {
        "node_id": node.id,
        "step": node.step,
        "kind": node.kind,
        "self_reported": node.metric,
        "holdout": node.holdout,
        "buggy": node.buggy,
        "exec_time": round(node.exec_time, 3),
        "pathspec": node.pathspec,
        "self_reported_std": node.metric_std,  # spread over the candidate's CV folds, when it says
    }
