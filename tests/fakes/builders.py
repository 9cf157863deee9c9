"""A fake GPU model builder: prices like a real one, records what it was asked to do."""

from __future__ import annotations

from pathlib import Path

from loom.application.ports.builders import BuilderManifest, BuildResult, LaunchSpec
from loom.domain.training import Capability, CostPlan, Objective, TrainIntent, gpu_plan, resources_for


class FakeGpuBuilder:
    name = "fake-gpu"

    def __init__(self, config) -> None:  # type: ignore[no-untyped-def]
        self.config = config
        self.prepared: list[TrainIntent] = []
        self.built: list[TrainIntent] = []

    def manifest(self) -> BuilderManifest:
        return BuilderManifest(self.name, frozenset({Capability.PRETRAIN}), frozenset({Objective.NEXT_EVENT}),
                               needs_gpu=True, description="fake")

    def plan(self, intent: TrainIntent, target: str | None) -> CostPlan:
        res = resources_for(intent.budget, self.config.train_price_table)
        return gpu_plan(self.name, intent, res, self.config.gpu_hour_usd, f"fake launch on {target}")

    def find_inputs(self, intent: TrainIntent) -> None:
        """Every data object exists for this fake (the real builders' lookup is in the contract test)."""

    def prepare(self, intent: TrainIntent, plan: CostPlan, target: str) -> LaunchSpec:
        self.prepared.append(intent)
        home = Path(self.config.home)
        return LaunchSpec(command=("run-it",), train_command=("train-it",), recipe_file=home / "r.yaml",
                          plan_file=home / "p.json", cwd=home, target=target)

    def build(self, intent: TrainIntent, plan: CostPlan, launch: LaunchSpec | None = None, *,
              cancel: object = None) -> BuildResult:
        self.built.append(intent)
        return BuildResult(pathspec="TrainBackbone/1", fingerprint="f" * 64)
