"""Model-builder port: train a backbone (tokenize, pretrain, embed, finetune, evaluate).

A builder states what it can do (its manifest), prices an intent (plan), and either builds for
real (`build`, a CPU builder, or a GPU builder once launched) or prepares the exact launch (the
generated recipe and the command). Results are addressed by pathspec (`TrainBackbone/7`), never
by file path or object-store URI, and nothing past this port names the training backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from loom.domain.training import Capability, CostPlan, Objective, TrainIntent


@dataclass(frozen=True)
class BuilderManifest:
    """What a builder really implements; anything else is refused before any work."""

    name: str
    capabilities: frozenset[Capability]
    objectives: frozenset[Objective]
    needs_gpu: bool
    description: str

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "capabilities": sorted(c.value for c in self.capabilities),
            "objectives": sorted(o.value for o in self.objectives),
            "needs_gpu": self.needs_gpu,
            "description": self.description,
        }


@dataclass(frozen=True)
class LaunchSpec:
    """A prepared GPU launch: the exact command `--launch` runs, and the files it reads."""

    command: tuple[str, ...]  # the orchestrated launch (run from `cwd`)
    train_command: tuple[str, ...]  # the training command inside the GPU step
    recipe_file: Path  # the generated training recipe, next to the plan
    plan_file: Path
    cwd: Path
    target: str
    env: tuple[tuple[str, str], ...] = ()  # variables the command needs (never secrets)
    notes: tuple[str, ...] = ()

    def shell(self) -> str:
        """The exact command as one copy-pasteable shell line (cd, env, argv)."""
        from shlex import join, quote

        env = " ".join(f"{k}={quote(v)}" for k, v in self.env)
        return f"cd {quote(str(self.cwd))} && " + (f"{env} " if env else "") + join(self.command)

    def as_dict(self) -> dict[str, object]:
        from shlex import join

        return {
            "command": self.shell(),
            "argv": list(self.command),
            "cwd": str(self.cwd),
            "notes": list(self.notes),
            "train_command": join(self.train_command),
            "recipe_file": str(self.recipe_file),
            "plan_file": str(self.plan_file),
            "target": self.target,
        }


@dataclass(frozen=True)
class BuildResult:
    """A finished build: the run's pathspec and what it measured."""

    pathspec: str  # TrainBackbone/N
    fingerprint: str | None = None
    metrics: Mapping[str, object] = field(default_factory=dict)
    artifacts: tuple[str, ...] = ()  # artifact names readable with the Client API
    card: bool = False


@runtime_checkable
class ModelBuilder(Protocol):
    """Builds backbones. Built as `Builder(config)`; backends are imported only when used."""

    name: str

    def manifest(self) -> BuilderManifest:
        """The capabilities and objectives it implements (honestly: nothing it cannot do)."""
        ...

    def plan(self, intent: TrainIntent, target: str | None) -> CostPlan:
        """Price the intent (GPUs, hours, $, posture). Pure: runs nothing, writes nothing."""
        ...

    def find_inputs(self, intent: TrainIntent) -> None:
        """The data object and backbone the intent names exist (UsageError naming the missing one).

        Called before pricing and gating, so a typo is a usage error, never a refusal or a plan."""
        ...

    def prepare(self, intent: TrainIntent, plan: CostPlan, target: str) -> LaunchSpec:
        """GPU builders: write the recipe next to the plan and return the exact launch."""
        ...

    def build(self, intent: TrainIntent, plan: CostPlan, launch: LaunchSpec | None = None, *,
              cancel: Any = None) -> BuildResult:
        """Build for real (CPU builders directly; GPU builders run `launch`).

        `cancel` (anything with is_set(), e.g. a threading.Event; None = never): once set, the build
        stops, its processes are killed, and it raises ExecutionFailed with `.cancelled` True.
        """
        ...
