"""A plan of Loom verbs for a natural-language goal (what `loom plan` returns)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

#: The verbs a plan may use, with the one-line purpose the planner is told about.
PLANNABLE_VERBS: dict[str, str] = {
    "ingest": "turn a data dir or a CSV/Parquet file into a data object (--source PATH [--target COL])",
    "eda": "profile a data object and flag leakage (--dataset P [--target COL])",
    "features": "derive a feature set with leaky columns dropped (--dataset P [--from EDA_RUN])",
    "run": "search for the best solution (--data DIR | --dataset P, --goal, --metric 'Maximize X')",
    "validate": "CV + sealed holdout + calibration + leakage checks, a VERDICT (--dataset P [--solution RUN])",
    "report": "a model card over runs (--experiment ID | --runs P1,P2)",
    "deploy": "gate and plan a deployment (--validate RUN | --solution RUN) [--apply]",
    "ops": "run health and data drift (--dataset P --reference P0)",
    "train": "build a backbone behind the cost gate (--dataset P --objective next-event --budget probe)",
    "pipeline": "ingest -> eda -> features -> run -> validate -> report in one go",
}


@dataclass(frozen=True)
class PlanStep:
    verb: str
    args: dict[str, str] = field(default_factory=dict)
    why: str = ""

    def command(self) -> str:
        """The step as a shell command line."""
        parts = ["loom", self.verb]
        for key, value in self.args.items():
            flag = "--" + key.lstrip("-").replace("_", "-")
            parts += [flag] if value in ("", "true", "True") else [flag, str(value)]
        return " ".join(shlex.quote(p) for p in parts)


@dataclass(frozen=True)
class Plan:
    goal: str
    steps: tuple[PlanStep, ...]
    dropped: tuple[str, ...] = ()  # verbs the model proposed that Loom does not have
