"""`loom plan`: natural-language goal -> a plan of verbs (advice only: nothing is executed)."""

from __future__ import annotations

from typing import Annotated

from cyclopts import Parameter

from loom.entrypoints.cli.common import Common, container_for, emit, load_config


def plan(
    goal: Annotated[str, Parameter(help="The goal in plain words.")],
    /,
    *,
    model_provider: Annotated[str | None, Parameter(help="LLM provider for the planner (default: the feedback role's).")] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Turn a natural-language goal into a plan of Loom verbs (needs an LLM key).

    The planner answers through a tool call, so it uses the feedback (judge) role's provider
    and model (LOOM_FEEDBACK_PROVIDER / LOOM_FEEDBACK_MODEL). Nothing is executed.
    """
    config = load_config(common, {"feedback_provider": "--model-provider"}, feedback_provider=model_provider)
    result = container_for(config).plan_verbs()(goal)
    payload = {
        "status": "OK",
        "goal": result.goal,
        "steps": [{"verb": s.verb, "args": s.args, "why": s.why, "command": s.command()} for s in result.steps],
        "dropped_verbs": list(result.dropped),
    }

    def human(out) -> None:  # type: ignore[no-untyped-def]
        out.print(f"[bold]Plan[/bold] for: {result.goal}")
        for i, step in enumerate(result.steps, 1):
            out.print(f"{i}. {step.command()}")
            if step.why:
                out.print(f"   [dim]{step.why}[/dim]")
        if result.dropped:
            out.print(f"[yellow]dropped unknown verbs:[/yellow] {', '.join(result.dropped)}")

    emit(common, payload, human)
    return 0
