"""The tool catalog: one ToolSpec per verb, its approval tier and its truthful annotations.

Tiers (the CLI's in spirit): `read` (views), `compute` (local work: ingest, eda, features,
validate, report, ops, a keyless run, a train plan or a CPU build, a deploy plan), `spend` (LLM
calls: a run or pipeline with an LLM brain, plan), `gated` (deploy apply, train launch). A tool is
listed when its lowest tier is allowed; a call whose arguments need a higher tier (a run with the
aide brain, `apply=true`) is refused with the `--allow` flag that would permit it.

The input schema of each tool is the CLI command's own signature (`target`), so the CLI, the MCP
server and `--help` cannot drift apart; `omit` names the flags that make no sense over MCP.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loom.domain.errors import LoomError

if TYPE_CHECKING:
    from loom.application.config import LoomConfig

TIERS = ("read", "compute", "spend", "gated")
DEFAULT_TIERS = ("read", "compute")

TierRule = Callable[[Mapping[str, Any], "LoomConfig"], str]


@dataclass(frozen=True)
class ToolSpec:
    """One MCP tool. `target` is the CLI command ("module:function" under loom.entrypoints.cli)."""

    name: str
    target: str
    tier: str  # the lowest tier any call needs (decides whether the tool is listed)
    title: str
    rule: TierRule | None = None  # the tier one call needs, from its arguments (None: `tier`)
    read_only: bool = False
    idempotent: bool = False
    world_tier: str | None = None  # the tool reaches an outside service (an LLM, a GPU cluster) in this tier
    destructive_tier: str | None = None  # the tool's effect cannot be taken back in this tier
    omit: tuple[str, ...] = ()
    progress: str | None = None  # "run" (per candidate), "stages" (per pipeline stage), "coarse"
    result: str | None = None  # "module:Class" of the result dataclass (names the output fields)

    def call_tier(self, args: Mapping[str, Any], config: "LoomConfig") -> str:
        return self.rule(args, config) if self.rule is not None else self.tier


# ---- per-call tier rules ------------------------------------------------------------------------
def needs_llm(search: str) -> bool:
    """Whether a search brain calls an LLM (an unknown name: False; the verb then refuses it)."""
    from loom.entrypoints import registry

    try:
        return bool(getattr(registry.load("search", search), "needs_models", True))
    except LoomError:
        return False


def _run_tier(args: Mapping[str, Any], config: "LoomConfig") -> str:
    search = args.get("search")
    if not search and args.get("resume"):
        from loom.application.run_search import resume_overrides

        try:
            search = resume_overrides(config.home, str(args["resume"])).get("search_provider")
        except (LoomError, OSError, ValueError):
            search = None  # the run verb reports the unknown run itself
    return "spend" if needs_llm(str(search or config.search_provider)) else "compute"


def _flag_tier(flag: str) -> TierRule:
    def rule(args: Mapping[str, Any], config: "LoomConfig") -> str:
        return "gated" if args.get(flag) else "compute"

    return rule


_LIFE = "loom.domain.lifecycle:"
_VIEW: dict[str, Any] = {"read_only": True, "idempotent": True}

SPECS: tuple[ToolSpec, ...] = (
    ToolSpec("run", "run:run", "compute", "Search for the best solution", rule=_run_tier, world_tier="spend",
             omit=("events",), progress="run", result="loom.domain.search:SearchResult"),
    ToolSpec("pipeline", "pipeline:pipeline", "compute", "The whole lifecycle, stage by stage", rule=_run_tier,
             world_tier="spend", progress="stages", result=_LIFE + "PipelineResult"),
    ToolSpec("plan", "plan:plan", "spend", "Plan the verbs for a goal (LLM)", read_only=True, world_tier="spend"),
    ToolSpec("ingest", "ingest:ingest", "compute", "Ingest data as a versioned data object",
             result="loom.application.ports.mlops:DatasetInfo"),
    ToolSpec("eda", "eda:eda", "compute", "Profile a data object", result=_LIFE + "EdaResult"),
    ToolSpec("features", "features:features", "compute", "Derive a feature set", result=_LIFE + "FeaturesResult"),
    ToolSpec("validate", "validate:validate", "compute", "Validate a solution (VERDICT)",
             result=_LIFE + "ValidateResult"),
    ToolSpec("report", "report:report", "compute", "Write a model card", result=_LIFE + "ReportResult"),
    ToolSpec("ops", "ops:ops", "compute", "Run health and data drift", result=_LIFE + "OpsResult"),
    ToolSpec("deploy", "deploy:deploy", "compute", "Gate, plan and (apply) deploy a solution",
             rule=_flag_tier("apply"), destructive_tier="gated", omit=("serve", "host", "port"),
             result=_LIFE + "DeployResult"),
    ToolSpec("train", "train:train", "compute", "Build a backbone behind the cost-plan gate",
             rule=_flag_tier("launch"), destructive_tier="gated", world_tier="gated", progress="coarse",
             result="loom.application.train_model:TrainOutcome"),
    ToolSpec("datasets", "browse:datasets", "read", "List data objects", **_VIEW),
    ToolSpec("runs", "browse:runs", "read", "List runs", **_VIEW),
    ToolSpec("show", "browse:show", "read", "Show a run's steps and artifacts", result="loom.application.ports.mlops:RunDetail",
             **_VIEW),
    ToolSpec("card", "browse:card", "read", "Find a run's card files", omit=("open_",), **_VIEW),
    ToolSpec("config", "config_cmd:show", "read", "The resolved configuration and its layers", **_VIEW),
    ToolSpec("providers", "providers:providers", "read", "Registered providers and readiness", **_VIEW),
    ToolSpec("doctor", "providers:doctor", "read", "Preflight the selected providers", **_VIEW),
)

#: MCP-only tools that follow a background run (for clients without progress notifications).
JOB_TOOLS = {"run_start": "compute", "run_status": "read", "run_cancel": "compute"}


def spec(name: str) -> ToolSpec:
    for s in SPECS:
        if s.name == name:
            return s
    raise KeyError(name)


def parse_tiers(allow: str | None) -> tuple[str, ...]:
    """`--allow spend,gated` -> the allowed tiers (read + compute always, plus the named ones)."""
    from loom.domain.errors import UsageError

    chosen = list(DEFAULT_TIERS)
    for part in (allow or "").split(","):
        name = part.strip().lower()
        if not name:
            continue
        if name == "all":
            return TIERS
        if name not in TIERS:
            raise UsageError(f"unknown tier '{name}' in --allow; tiers: {', '.join(TIERS)} (or all)")
        if name not in chosen:
            chosen.append(name)
    return tuple(t for t in TIERS if t in chosen)


def annotations_for(s: ToolSpec, allowed: tuple[str, ...]) -> dict[str, Any]:
    """The hints this server makes true: a gated effect is destructive only when gated is allowed."""
    return {
        "title": s.title,
        "readOnlyHint": s.read_only,
        "destructiveHint": bool(s.destructive_tier and s.destructive_tier in allowed),
        "idempotentHint": s.idempotent,
        "openWorldHint": bool(s.world_tier and s.world_tier in allowed),
    }


def allow_flag(tier: str) -> str:
    return f"loom mcp serve --allow {tier}"
