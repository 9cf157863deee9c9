"""TrainModel: `loom train` behind the cost-plan gate (the expensive, always-gated tier).

Every call prices the intent first and returns the plan with the outcome:
- unsupported capability/objective for the builder -> UsageError up front (nothing planned);
- a CPU builder (needs no GPU) -> builds for real -> BUILT with the backbone pathspec;
- a GPU builder: no GPU target -> REFUSED_NO_GPU_TARGET; an unknown target scheme ->
  REFUSED_UNKNOWN_GPU_TARGET; plan above --max-usd -> REFUSED_SPEND_CAP; else the recipe and
  the exact launch command are written -> PLANNED, or with `launch=True` the real launch ->
  BUILT with the checkpoint's pathspec. Nothing is launched on any refusal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loom.application.ports.builders import BuildResult, LaunchSpec, ModelBuilder
from loom.domain.errors import ExecutionFailed, UsageError
from loom.domain.pathspec import Pathspec
from loom.domain.status import Status
from loom.domain.training import GPU_TARGETS, CostPlan, TrainIntent, gpu_target_scheme

if TYPE_CHECKING:
    from loom.application.config import LoomConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainOutcome:
    """What `loom train` reports: the status, the plan (always), and what was built/prepared."""

    status: Status
    plan: CostPlan
    message: str
    result: BuildResult | None = None
    launch: LaunchSpec | None = None
    hint: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pathspec(self) -> str | None:
        return self.result.pathspec if self.result else None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": self.status.value,
            "message": self.message,
            "plan": self.plan.as_dict(),
            "pathspec": self.pathspec,
        }
        if self.hint:
            out["hint"] = self.hint
        if self.result is not None:
            out["fingerprint"] = self.result.fingerprint
            out["metrics"] = dict(self.result.metrics)
            out["artifacts"] = list(self.result.artifacts)
        if self.launch is not None:
            out["launch"] = self.launch.as_dict()
        return out


class TrainModel:
    """The use-case: validate the intent against the builder, price it, gate it, build it."""

    def __init__(self, config: "LoomConfig", builder: ModelBuilder) -> None:
        self.config = config
        self.builder = builder

    def __call__(self, intent: TrainIntent, *, launch: bool = False, max_usd: float | None = None,
                 cancel: Any = None) -> TrainOutcome:
        """`cancel` (is_set()): stops a build under way (INTERRUPTED); a plan or refusal never waits on it."""
        self._check(intent)
        target = (self.config.gpu_target or "").strip() or None
        plan = self.builder.plan(intent, target)
        cap = self.config.max_usd if max_usd is None else max_usd
        log.info("train plan", extra={"plan": plan.as_dict()})

        if cap is not None and plan.usd > cap:
            return TrainOutcome(
                Status.REFUSED_SPEND_CAP, plan,
                f"the plan costs ${plan.usd:,.2f}, above the spend cap of ${cap:,.2f}; nothing launched",
                hint="raise --max-usd (or LOOM_MAX_USD), or pick a smaller --budget",
            )
        if not plan.needs_gpu:
            try:
                result = self.builder.build(intent, plan, cancel=cancel)
            except ExecutionFailed as err:
                return TrainOutcome(_failed(err), plan, err.message, hint=err.hint)
            return TrainOutcome(Status.BUILT, plan, f"built {result.pathspec}", result=result)
        if target is None:
            return TrainOutcome(
                Status.REFUSED_NO_GPU_TARGET, plan,
                "no GPU target is set; nothing launched",
                hint=f"export LOOM_GPU_TARGET={'|'.join(GPU_TARGETS)} to plan a launch, "
                     "or LOOM_MODEL_BUILDER_PROVIDER=local to build on this CPU",
            )
        if gpu_target_scheme(target) not in GPU_TARGETS:
            return TrainOutcome(
                Status.REFUSED_UNKNOWN_GPU_TARGET, plan,
                f"unknown GPU target '{target}'; nothing launched",
                hint=f"LOOM_GPU_TARGET must be one of: {', '.join(GPU_TARGETS)}",
            )
        spec = self.builder.prepare(intent, plan, target)
        if not launch:
            return TrainOutcome(
                Status.PLANNED, plan, "planned; nothing launched (add --launch to run it)", launch=spec,
            )
        try:
            result = self.builder.build(intent, plan, spec, cancel=cancel)
        except ExecutionFailed as err:  # the plan is still shown, with what failed
            return TrainOutcome(_failed(err), plan, err.message, launch=spec, hint=err.hint)
        return TrainOutcome(Status.BUILT, plan, f"built {result.pathspec}", result=result, launch=spec)

    def _check(self, intent: TrainIntent) -> None:
        """Refuse up front what this builder does not implement, malformed pathspecs and missing data."""
        Pathspec.parse(intent.dataset)
        if intent.backbone:
            Pathspec.parse(intent.backbone).expect_flow("TrainBackbone")
        manifest = self.builder.manifest()
        if intent.capability not in manifest.capabilities:
            raise UsageError(
                f"the {manifest.name} builder cannot {intent.capability.value}; it can: "
                + ", ".join(sorted(c.value for c in manifest.capabilities))
            )
        if intent.objective not in manifest.objectives:
            raise UsageError(
                f"the {manifest.name} builder has no {intent.objective.value} objective; it has: "
                + ", ".join(sorted(o.value for o in manifest.objectives))
            )
        self.builder.find_inputs(intent)


def _failed(err: ExecutionFailed) -> Status:
    """A build stopped by its caller (Ctrl-C, an MCP cancel) is INTERRUPTED, not FAILED."""
    return Status.INTERRUPTED if getattr(err, "cancelled", False) else Status.FAILED
