"""PpmiSvdBuilder: the `local` model builder. Needs no GPU: every capability builds for real.

Each build is one run of the static TrainBackbone flow (flows/train_backbone.py) on the
dataset's pathspec; the backbone, vocabulary, fingerprint, manifest, plan and metrics come
back as artifacts of that run, readable with the Client API, with a card.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loom.adapters.builders import find_inputs
from loom.application.ports.builders import BuilderManifest, BuildResult, LaunchSpec
from loom.domain.errors import ExecutionFailed, UsageError
from loom.domain.training import Capability, CostPlan, Objective, TrainIntent

if TYPE_CHECKING:
    from loom.application.config import LoomConfig

FLOW_FILE = Path(__file__).with_name("flows") / "train_backbone.py"

#: The flow's parameters (artifacts too, but inputs: not listed as results).
PARAMETERS = frozenset({"dataset", "capability", "objective", "budget", "backbone", "metric", "entity_column",
                        "time_column", "seed", "holdout", "plan_json", "manifest_json", "name"})


class PpmiSvdBuilder:
    """Co-occurrence (per objective) -> PPMI -> seeded truncated SVD, with heads and a baseline."""

    name = "local"
    requires_modules = ("numpy", "scipy", "sklearn", "pandas", "metaflow")

    def __init__(self, config: "LoomConfig") -> None:
        self.config = config

    def manifest(self) -> BuilderManifest:
        return BuilderManifest(
            name=self.name,
            capabilities=frozenset(Capability),
            objectives=frozenset(Objective),
            needs_gpu=False,
            description="CPU co-occurrence embeddings (PPMI + truncated SVD); no GPU, seconds",
        )

    def plan(self, intent: TrainIntent, target: str | None) -> CostPlan:
        return CostPlan(
            builder=self.name, objective=intent.objective, budget=intent.budget,
            capability=intent.capability, gpus=0, hours=0.0, usd=0.0,
            gpu_hour_usd=self.config.gpu_hour_usd, posture="local CPU, no GPU needed",
        )

    def find_inputs(self, intent: TrainIntent) -> None:
        find_inputs(self.config, intent)

    def prepare(self, intent: TrainIntent, plan: CostPlan, target: str) -> LaunchSpec:
        raise UsageError("the local builder has nothing to launch; it builds directly")

    def build(self, intent: TrainIntent, plan: CostPlan, launch: LaunchSpec | None = None, *,
              cancel: Any = None) -> BuildResult:
        from loom.adapters.shared.metaflow_runtime import client, get_run, run_flow

        self.find_inputs(intent)  # unknown pathspec: one line, exit 2, before any run
        params = {
            "dataset": intent.dataset,
            "capability": intent.capability.value,
            "objective": intent.objective.value,
            "budget": intent.budget.value,
            "backbone": intent.backbone,
            "metric": intent.metric,
            "entity-column": intent.entity,
            "time-column": intent.time,
            "seed": intent.seed,
            "holdout": self.config.holdout_fraction or 0.2,
            "plan-json": json.dumps(plan.as_dict(), sort_keys=True),
            "manifest-json": json.dumps(self.manifest().as_dict(), sort_keys=True),
        }
        tags = [f"tenant:{self.config.tenant}", f"owned_by:{self.config.owned_by}",
                f"capability:{intent.capability.value}", f"dataset:{intent.dataset}"]
        try:
            pathspec = run_flow(FLOW_FILE, params, self.config, tags=tags, cancel=cancel)
        except ExecutionFailed as err:
            # bad input found inside the step (no entity column, no label...) is still exit 2
            if "UsageError:" in err.message:
                raise UsageError(err.message.split("UsageError:", 1)[1].strip()) from None
            raise
        run = get_run(self.config, pathspec, "TrainBackbone")
        with client(self.config):
            task = run["start"].task  # the step that built; artifacts listed without loading them
            names = tuple(sorted(a.id for a in task if not a.id.startswith("_") and a.id not in PARAMETERS))
            fingerprint, metrics = task["fingerprint"].data, dict(task["metrics"].data or {})
        return BuildResult(pathspec=pathspec, fingerprint=fingerprint, metrics=metrics, artifacts=names, card=True)
