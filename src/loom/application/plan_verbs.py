"""PlanVerbs: a natural-language goal -> a plan of Loom verbs, written by the LLM as a tool call.

The planner answers through a tool (like the judge), so it uses the feedback role's provider,
which preflight guarantees is tool-capable. The plan is advice: nothing is executed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from loom.application.config import LoomConfig
from loom.application.credentials import CredentialSource
from loom.application.preflight import require_models_ready
from loom.application.ports.models import ModelPort
from loom.domain.errors import UsageError
from loom.domain.llm import ChatRequest, ToolSpec
from loom.domain.model_errors import JudgeError
from loom.domain.plan import PLANNABLE_VERBS, Plan, PlanStep

log = logging.getLogger(__name__)

PLAN_TOOL = ToolSpec(
    name="submit_plan",
    description="Submit the ordered list of Loom commands that reach the user's goal.",
    parameters={
        "type": "object",
        "properties": {
            "steps": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "verb": {"type": "string", "enum": sorted(PLANNABLE_VERBS)},
                        "args": {"type": "object", "additionalProperties": {"type": "string"}},
                        "why": {"type": "string"},
                    },
                    "required": ["verb", "why"],
                },
            }
        },
        "required": ["steps"],
    },
)

SYSTEM = (
    "You plan work for Loom, an agentic data-science CLI. Answer only by calling submit_plan "
    "with the shortest ordered list of Loom verbs that reaches the goal. Use data objects' "
    "pathspecs like IngestDataset/<id> as placeholders when a step consumes an earlier step's "
    "output. Available verbs:\n"
    + "\n".join(f"- {verb}: {purpose}" for verb, purpose in PLANNABLE_VERBS.items())
)


class PlanVerbs:
    """`PlanVerbs(config, model)(goal) -> Plan`; `model` is a ModelPort or a factory of one."""

    def __init__(
        self,
        config: LoomConfig,
        model: ModelPort | Callable[[], ModelPort],
        credentials: CredentialSource | None = None,
        *,
        model_classes: Callable[[str], Any],
    ) -> None:
        self._config = config
        self._model_classes = model_classes
        self._model = model
        self._credentials = credentials

    def __call__(self, goal: str) -> Plan:
        goal = (goal or "").strip()
        if not goal:
            raise UsageError("give the goal in words, e.g. loom plan \"predict churn from customers.csv\"")
        # Preflight before any spend: only the feedback role's provider is used here.
        feedback_only = self._config.model_copy(update={"code_provider": self._config.role_provider("feedback")[0]})
        require_models_ready(feedback_only, self._credentials, resolve=self._model_classes)
        model = self._model if isinstance(self._model, ModelPort) else self._model()
        request = ChatRequest(
            system=SYSTEM,
            user=f"Goal: {goal}",
            model=self._config.role_model("feedback"),
            temperature=self._config.role_temperature("feedback"),
            tool=PLAN_TOOL,
        )
        response = model.complete(request)
        return parse_plan(goal, response.tool_args)


def parse_plan(goal: str, args: dict[str, Any] | None) -> Plan:
    """Validate the tool arguments into a Plan; unknown verbs are dropped and reported."""
    if not isinstance(args, dict) or not isinstance(args.get("steps"), list):
        raise JudgeError("the planner did not return a list of steps; try again or pick another --model-provider")
    steps: list[PlanStep] = []
    dropped: list[str] = []
    for raw in args["steps"]:
        if not isinstance(raw, dict):
            continue
        verb = str(raw.get("verb", "")).strip().lower()
        if verb not in PLANNABLE_VERBS:
            dropped.append(verb or "?")
            continue
        raw_args = raw.get("args") if isinstance(raw.get("args"), dict) else {}
        steps.append(PlanStep(verb, {str(k): str(v) for k, v in raw_args.items()}, str(raw.get("why", ""))))
    if dropped:
        log.warning("planner proposed unknown verbs, dropped", extra={"dropped": dropped})
    return Plan(goal, tuple(steps), tuple(dropped))
