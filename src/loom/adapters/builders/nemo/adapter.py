"""NemoBuilder: the default (`nemo`) model builder — GPU pretraining through a recipe.

plan() prices the budget from the price table (config-overridable); prepare() writes, under
LOOM_HOME/train/<plan-id>/, the recipe (recipe.yaml), the plan (plan.json: resources, recipe,
training command) and a copy of the static TrainBackbone GPU flow, and returns the exact launch
command: `python train_backbone.py --config plan plan.json run --dataset ... [--with TARGET]`.
build() runs that command; Metaflow schedules the GPU step on LOOM_GPU_TARGET and the checkpoint
comes back as an artifact of the run (its pathspec). Nothing here imports torch.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loom.adapters.builders import find_inputs
from loom.application.ports.builders import BuilderManifest, BuildResult, LaunchSpec
from loom.domain.errors import ExecutionFailed, UsageError
from loom.domain.training import (
    GPU_TARGETS,
    Capability,
    CostPlan,
    Objective,
    TrainIntent,
    gpu_plan,
    gpu_target_scheme,
    resources_for,
)

if TYPE_CHECKING:
    from loom.application.config import LoomConfig

FLOW_FILE = Path(__file__).with_name("flows") / "train_backbone_gpu.py"
LAUNCH_FLOW_NAME = "train_backbone.py"
CPU_PER_GPU, MEMORY_MB_PER_GPU = 8, 65_536


def with_spec(target: str) -> list[str]:
    """LOOM_GPU_TARGET -> Metaflow `--with` args: `kubernetes[:attrs]`, `batch[:attrs]`, `local`."""
    scheme = gpu_target_scheme(target)
    if scheme == "local":
        return []
    rest = target.strip()[len(scheme):].lstrip(":/")
    return ["--with", f"{scheme}:{rest}" if rest else scheme]


class NemoBuilder:
    """Pretrains an event-sequence backbone on GPUs from a generated training recipe."""

    name = "nemo"
    requires_modules = ("nemo_automodel", "metaflow", "yaml")

    def __init__(self, config: "LoomConfig") -> None:
        self.config = config

    def manifest(self) -> BuilderManifest:
        return BuilderManifest(
            name=self.name,
            capabilities=frozenset({Capability.PRETRAIN}),
            objectives=frozenset(Objective),
            needs_gpu=True,
            description="GPU pretraining from a generated recipe, launched through Metaflow",
        )

    def plan(self, intent: TrainIntent, target: str | None) -> CostPlan:
        res = resources_for(intent.budget, self.config.train_price_table)
        if res.gpus < 1:
            raise UsageError(f"a GPU build needs at least 1 GPU; train_price_table.{intent.budget.value}.gpus is 0")
        if res.nodes != 1:
            raise UsageError("multi-node plans are not supported yet; set nodes: 1 in train_price_table")
        if target and gpu_target_scheme(target) in GPU_TARGETS:
            posture = f"GPU launch on {gpu_target_scheme(target)} through Metaflow"
        elif target:
            posture = f"GPU launch; unknown target '{target}'"
        else:
            posture = "GPU launch; no GPU target set"
        return gpu_plan(self.name, intent, res, self.config.gpu_hour_usd, posture)

    def find_inputs(self, intent: TrainIntent) -> None:
        find_inputs(self.config, intent)

    def prepare(self, intent: TrainIntent, plan: CostPlan, target: str) -> LaunchSpec:
        from loom.adapters.builders.nemo import recipes

        self.find_inputs(intent)  # plan only launches that can find their data
        res = resources_for(intent.budget, self.config.train_price_table)
        recipe = recipes.lower(intent, res)
        train_command = ["automodel", "recipe.yaml", "--nproc-per-node", str(res.gpus)]
        body = {
            "dataset": intent.dataset,
            "objective": intent.objective.value,
            "budget": intent.budget.value,
            "seed": intent.seed,
            "entity": intent.entity,
            "time": intent.time,
            "plan": plan.as_dict(),
            "resources": {"gpus": res.gpus, "cpu": CPU_PER_GPU * res.gpus,
                          "memory_mb": MEMORY_MB_PER_GPU * res.gpus},
            "recipe": recipe,
            "train_command": train_command,
        }
        plan_id = hashlib.sha256(json.dumps({**body, "target": target}, sort_keys=True).encode()).hexdigest()[:12]
        launch_dir = self.config.home / "train" / plan_id
        launch_dir.mkdir(parents=True, exist_ok=True)
        recipe_file = launch_dir / "recipe.yaml"
        recipe_file.write_text(recipes.to_yaml(recipe), encoding="utf-8")
        plan_file = launch_dir / "plan.json"
        plan_file.write_text(json.dumps(body, indent=2, sort_keys=True), encoding="utf-8")
        shutil.copyfile(FLOW_FILE, launch_dir / LAUNCH_FLOW_NAME)
        command = [
            self.config.python, str(launch_dir / LAUNCH_FLOW_NAME), "--no-pylint", "--config", "plan", str(plan_file),
            "run", "--dataset", intent.dataset,
            "--tag", f"tenant:{self.config.tenant}", "--tag", f"owned_by:{self.config.owned_by}",
            *with_spec(target),
        ]
        from loom.adapters.shared.metaflow_runtime import embedded, ensure_root, metaflow_env

        # Embedded datastore: run from its root, where the step's Client API and the cards find runs.
        cwd = ensure_root(self.config) if embedded(self.config) else launch_dir
        notes = []
        if gpu_target_scheme(target) in ("kubernetes", "batch") and embedded(self.config):
            notes.append(f"{gpu_target_scheme(target)} needs a Metaflow profile with a cloud datastore "
                         "(METAFLOW_PROFILE); the embedded local datastore cannot reach remote steps")
        return LaunchSpec(command=tuple(command), train_command=tuple(train_command),
                          recipe_file=recipe_file, plan_file=plan_file, cwd=cwd, target=target,
                          env=tuple(sorted(metaflow_env(self.config).items())), notes=tuple(notes))

    def build(self, intent: TrainIntent, plan: CostPlan, launch: LaunchSpec | None = None, *,
              cancel: Any = None) -> BuildResult:
        """Run the prepared launch; the checkpoint comes back as an artifact of the run."""
        if launch is None:
            raise UsageError("a GPU build needs a prepared launch (set LOOM_GPU_TARGET)")
        from loom.adapters.shared.metaflow_runtime import read_artifacts, subprocess_env

        with tempfile.TemporaryDirectory(prefix="loom-train-") as tmp:
            run_id_file = Path(tmp) / "run_id"
            argv = [*launch.command[:launch.command.index("run") + 1], "--run-id-file", str(run_id_file),
                    *launch.command[launch.command.index("run") + 1:]]
            proc = _launch(argv, launch.cwd, subprocess_env(self.config), cancel)
            run_id = run_id_file.read_text().strip() if run_id_file.is_file() else ""
        pathspec = f"TrainBackbone/{run_id}"
        if proc.returncode is None:  # cancelled: its process group was killed
            err = ExecutionFailed(f"the GPU launch was cancelled{f' ({pathspec})' if run_id else ''}",
                                  hint=f"recipe and plan in {launch.plan_file.parent}; --launch starts it again")
            err.cancelled = True  # type: ignore[attr-defined]
            raise err
        if proc.returncode != 0 or not run_id:
            from loom.adapters.shared.metaflow_runtime import last_error_line

            lines = (proc.stdout + "\n" + proc.stderr).splitlines()
            where = f" ({pathspec})" if run_id else ""
            raise ExecutionFailed(f"the GPU launch failed{where}: {last_error_line(lines)}",
                                  hint=f"recipe and plan in {launch.plan_file.parent}")
        data = read_artifacts(pathspec, ("fingerprint", "vocab", "tokenizer", "checkpoint", "data_stats"),
                              self.config)
        return BuildResult(pathspec=pathspec, fingerprint=data.get("fingerprint"),
                           metrics=dict(data.get("data_stats") or {}), artifacts=tuple(sorted(data)), card=True)


def _launch(argv: list[str], cwd: Path, env: dict[str, str], cancel: Any) -> "subprocess.CompletedProcess[str]":
    """Run the launch command to its end, or until `cancel` is set (then its process group is
    killed and the result's returncode is None)."""
    import os
    import signal

    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    while True:
        try:
            out, err = proc.communicate(timeout=0.2 if cancel is not None else None)
            return subprocess.CompletedProcess(argv, proc.returncode, out, err)
        except subprocess.TimeoutExpired:
            if cancel is not None and cancel.is_set():
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                out, err = proc.communicate()
                return subprocess.CompletedProcess(argv, None, out, err)  # type: ignore[arg-type]
