"""`loom train`: the model-builder, behind the cost-plan gate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from cyclopts import Parameter

from loom.entrypoints.cli.common import Common, container_for, effective, emit, hooks, load_config

if TYPE_CHECKING:
    from rich.console import Console

    from loom.application.train_model import TrainOutcome


def train(
    *,
    dataset: Annotated[str, Parameter(help="Event/table data object (IngestDataset/N).")],
    objective: Annotated[Literal["next-event", "masked-field", "contrastive"], Parameter(help="What the backbone learns.")] = "next-event",
    budget: Annotated[Literal["probe", "small", "full"], Parameter(help="Size of the build (sets GPUs, hours, steps).")] = "probe",
    capability: Annotated[Literal["pretrain", "tokenize", "embed", "finetune", "evaluate"], Parameter(help="What to do.")] = "pretrain",
    backbone: Annotated[str | None, Parameter(help="An existing backbone (TrainBackbone/N) for embed/finetune/evaluate.")] = None,
    metric: Annotated[str | None, Parameter(help="Metric for evaluate/finetune, e.g. roc_auc.")] = None,
    launch: Annotated[bool, Parameter(negative="", help="Really launch on LOOM_GPU_TARGET (otherwise PLANNED).")] = False,
    max_usd: Annotated[float | None, Parameter(help="Refuse when the plan costs more than this.")] = None,
    entity: Annotated[str | None, Parameter(help="Entity-id column of the events (default: detected, e.g. customer_id).")] = None,
    time: Annotated[str | None, Parameter(help="Timestamp column ordering each entity's events (default: detected).")] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Build a backbone (pretrain/embed/finetune/evaluate), behind the cost-plan gate.

    Every call prints the cost plan first (GPUs, hours, GPU-hours, $, posture). The builder is
    LOOM_MODEL_BUILDER_PROVIDER (default nemo, GPU; `local` builds on this CPU). A GPU build
    needs LOOM_GPU_TARGET (kubernetes | batch | local): without it the answer is
    REFUSED_NO_GPU_TARGET (exit 3); with it and no --launch, PLANNED with the generated recipe
    and the exact launch command; --launch runs it. --max-usd below the plan refuses (exit 3).
    """
    from loom.domain.training import TrainIntent

    config = load_config(common, max_usd=max_usd)
    intent = TrainIntent.of(dataset, objective, budget, capability, backbone=backbone,
                            metric=metric, entity=entity, time=time, seed=config.seed)
    use_case = container_for(config).train_model()
    if effective(common).json:
        outcome = use_case(intent, launch=launch, max_usd=max_usd, cancel=hooks().stop)
    else:
        from loom.entrypoints.cli.common import console

        with console(stderr=True).status(f"train: {capability} ({objective}, {budget}) ..."):
            outcome = use_case(intent, launch=launch, max_usd=max_usd, cancel=hooks().stop)
    emit(common, outcome.as_dict(), lambda out: _render(out, outcome))
    return outcome.status.exit_code


def _render(out: "Console", outcome: "TrainOutcome") -> None:
    plan = outcome.plan
    out.print("[bold]PLAN[/bold]")
    out.print(f"  builder      {plan.builder}  ({plan.capability}, {plan.objective}, budget {plan.budget})")
    out.print(f"  GPUs         {plan.gpus}" + (f" on {plan.nodes} nodes" if plan.nodes > 1 else ""))
    out.print(f"  hours        {plan.hours:g}")
    out.print(f"  GPU-hours    {plan.gpu_hours:g}")
    out.print(f"  cost         ${plan.usd:,.2f}  (at ${plan.gpu_hour_usd:g}/GPU-hour)")
    out.print(f"  posture      {plan.posture}")
    if plan.max_steps:
        out.print(f"  steps        {plan.max_steps:,}")
    if outcome.launch is not None:
        spec = outcome.launch.as_dict()
        out.print(f"  recipe       {spec['recipe_file']}")
        out.print(f"  launch       {spec['command']}")
        out.print(f"  trains with  {spec['train_command']}")
        for note in outcome.launch.notes:
            out.print(f"  [yellow]note[/yellow]         {note}")
    if outcome.result is not None:
        r = outcome.result
        out.print(f"[bold]BACKBONE[/bold] {r.pathspec}")
        if r.fingerprint:
            out.print(f"  fingerprint  {r.fingerprint}")
        m = dict(r.metrics)
        if "lift" in m:
            name = m.get("metric")
            out.print(f"  {name}  {m.get(name)}  (raw-feature baseline {m.get(f'baseline_{name}')}, "
                      f"lift {m['lift']:+.4f} on {m.get('sealed_entities')} sealed entities)")
        elif m:
            out.print("  " + ", ".join(f"{k} {v}" for k, v in m.items()))
        out.print(f"  card         loom card {r.pathspec}")
    style = "green" if outcome.status.exit_code == 0 else "yellow"
    line = f"[bold {style}]STATUS {outcome.status.value}[/bold {style}]  {outcome.message}"
    out.print(line + (f" ({outcome.hint})" if outcome.hint else ""))
