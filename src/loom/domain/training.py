"""Training intent and its cost plan: what `loom train` is asked to do, and what it would cost.

The user states intent in data-science words (objective, budget, capability); a builder turns
it into a CostPlan. The price table below is the documented default per budget; LoomConfig
overrides it (`gpu_hour_usd`, `train_price_table`). Pure values, stdlib only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from loom.domain.errors import UsageError


class Objective(str, Enum):
    """What the backbone learns from event sequences."""

    NEXT_EVENT = "next-event"  # predict the next event of an entity (causal)
    MASKED_FIELD = "masked-field"  # fill in a hidden field of an event (bidirectional)
    CONTRASTIVE = "contrastive"  # nearby events of one entity look alike (bi-encoder)

    def __str__(self) -> str:
        return self.value


class Budget(str, Enum):
    """Size of the build: sets GPUs, hours and steps."""

    PROBE = "probe"
    SMALL = "small"
    FULL = "full"

    def __str__(self) -> str:
        return self.value


class Capability(str, Enum):
    """What a builder can be asked to do."""

    TOKENIZE = "tokenize"
    PRETRAIN = "pretrain"
    EMBED = "embed"
    FINETUNE = "finetune"
    EVALUATE = "evaluate"

    def __str__(self) -> str:
        return self.value

    @property
    def needs_label(self) -> bool:
        return self in (Capability.FINETUNE, Capability.EVALUATE)


def _enum(kind: type[Enum], value: object, what: str) -> Enum:
    try:
        return kind(value)
    except ValueError:
        valid = ", ".join(str(m.value) for m in kind)  # type: ignore[attr-defined]
        raise UsageError(f"unknown {what} '{value}'; valid: {valid}") from None


@dataclass(frozen=True)
class TrainIntent:
    """One `loom train` request, in the user's words. Pathspecs only, never file paths."""

    dataset: str  # IngestDataset/N
    objective: Objective = Objective.NEXT_EVENT
    budget: Budget = Budget.PROBE
    capability: Capability = Capability.PRETRAIN
    backbone: str | None = None  # TrainBackbone/N for embed/finetune/evaluate
    metric: str | None = None
    entity: str | None = None  # entity-id column (None: detected)
    time: str | None = None  # timestamp column (None: detected)
    seed: int = 0

    @classmethod
    def of(cls, dataset: str, objective: str = "next-event", budget: str = "probe",
           capability: str = "pretrain", **rest: object) -> "TrainIntent":
        """Build from plain strings (CLI, API) with one-line errors on bad values."""
        return cls(
            dataset=dataset,
            objective=_enum(Objective, objective, "objective"),  # type: ignore[arg-type]
            budget=_enum(Budget, budget, "budget"),  # type: ignore[arg-type]
            capability=_enum(Capability, capability, "capability"),  # type: ignore[arg-type]
            **rest,  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class Resources:
    """The compute one budget buys: GPUs, wall hours, and the training-loop sizes."""

    gpus: int
    hours: float
    max_steps: int
    global_batch_size: int
    local_batch_size: int
    nodes: int = 1
    dim: int = 64  # embedding width (hidden size for GPU builders)

    @property
    def gpu_hours(self) -> float:
        return self.gpus * self.hours


#: The documented default price table (DESIGN.md §7). GPU count and wall hours per budget;
#: dollars = GPU-hours x `gpu_hour_usd` (default 4.00 USD, an on-demand data-center GPU).
#: Override per budget in config: `train_price_table: {small: {gpus: 2, hours: 3}}`.
DEFAULT_GPU_HOUR_USD = 4.0
DEFAULT_PRICE_TABLE: dict[Budget, Resources] = {
    Budget.PROBE: Resources(gpus=1, hours=0.5, max_steps=200, global_batch_size=32,
                            local_batch_size=8, dim=256),
    Budget.SMALL: Resources(gpus=4, hours=4.0, max_steps=5_000, global_batch_size=256,
                            local_batch_size=16, dim=768),
    Budget.FULL: Resources(gpus=8, hours=48.0, max_steps=50_000, global_batch_size=1024,
                           local_batch_size=16, dim=2048),
}


def resources_for(budget: Budget, overrides: Mapping[str, Mapping[str, object]] | None = None) -> Resources:
    """The resources for `budget`, with the config's per-budget overrides applied."""
    base = DEFAULT_PRICE_TABLE[budget]
    extra: dict[str, Any] = dict((overrides or {}).get(budget.value, {}) or {})
    unknown = sorted(set(extra) - set(Resources.__dataclass_fields__))
    if unknown:
        raise UsageError(
            f"unknown key '{unknown[0]}' in train_price_table.{budget.value}; "
            f"valid: {', '.join(Resources.__dataclass_fields__)}"
        )
    for key, value in list(extra.items()):
        try:
            extra[key] = float(value) if key == "hours" else int(value)
        except (TypeError, ValueError):
            raise UsageError(f"train_price_table.{budget.value}.{key} must be a number, not {value!r}") from None
        if extra[key] < 0 or (key != "hours" and key != "gpus" and extra[key] < 1):
            raise UsageError(f"train_price_table.{budget.value}.{key} is out of range: {value!r}")
    return replace(base, **extra) if extra else base  # type: ignore[arg-type]


@dataclass(frozen=True)
class CostPlan:
    """What a build would cost, shown before anything runs (the gate prints it every time)."""

    builder: str  # provider name (`local`, `nemo`), never a backend noun
    objective: Objective
    budget: Budget
    capability: Capability
    gpus: int
    hours: float
    usd: float
    gpu_hour_usd: float
    posture: str  # how it would run: "local CPU, no GPU", "GPU launch on kubernetes", ...
    max_steps: int = 0
    nodes: int = 1
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def gpu_hours(self) -> float:
        return round(self.gpus * self.hours, 4)

    @property
    def needs_gpu(self) -> bool:
        return self.gpus > 0

    def as_dict(self) -> dict[str, object]:
        return {
            "builder": self.builder,
            "objective": self.objective.value,
            "budget": self.budget.value,
            "capability": self.capability.value,
            "gpus": self.gpus,
            "nodes": self.nodes,
            "hours": self.hours,
            "gpu_hours": self.gpu_hours,
            "usd": round(self.usd, 2),
            "gpu_hour_usd": self.gpu_hour_usd,
            "max_steps": self.max_steps,
            "posture": self.posture,
        }

    def summary(self) -> str:
        return (
            f"{self.gpus} GPU x {self.hours:g} h = {self.gpu_hours:g} GPU-h, "
            f"${self.usd:,.2f} ({self.posture})"
        )


def gpu_plan(builder: str, intent: TrainIntent, resources: Resources, gpu_hour_usd: float,
             posture: str) -> CostPlan:
    """A GPU build's plan: dollars = GPUs x hours x price per GPU-hour."""
    return CostPlan(
        builder=builder, objective=intent.objective, budget=intent.budget,
        capability=intent.capability, gpus=resources.gpus, hours=resources.hours,
        usd=round(resources.gpus * resources.hours * gpu_hour_usd, 2), gpu_hour_usd=gpu_hour_usd,
        posture=posture, max_steps=resources.max_steps, nodes=resources.nodes,
    )


#: GPU targets `train --launch` understands (LOOM_GPU_TARGET); Metaflow does the launching.
GPU_TARGETS = ("kubernetes", "batch", "local")


def gpu_target_scheme(target: str) -> str:
    """`kubernetes`, `kubernetes:gpu-pool`, `batch://queue` -> the scheme (lower-case)."""
    text = target.strip().lower()
    for sep in ("://", ":"):
        if sep in text:
            return text.split(sep, 1)[0]
    return text
