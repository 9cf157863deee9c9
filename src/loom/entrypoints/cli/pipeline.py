"""`loom pipeline`: the whole lifecycle, stage by stage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from cyclopts import Parameter

from loom.entrypoints.cli.common import Common, container_for, effective, emit, load_config


def pipeline(
    *,
    dataset: Annotated[str | None, Parameter(help="An ingested data object (IngestDataset/N).")] = None,
    source: Annotated[Path | None, Parameter(help="A data dir or CSV/Parquet file to ingest first.")] = None,
    goal: Annotated[str | None, Parameter(help="What to predict, in words.")] = None,
    metric: Annotated[str | None, Parameter(help='The metric with a direction, e.g. "Maximize ROC-AUC".')] = None,
    metric_name: Annotated[str | None, Parameter(help="The exact catalog metric (e.g. rmsle, f1_macro) when --metric "
                                                      "carries words Loom does not read, as `loom run --metric-name`.")] = None,
    target: Annotated[str | None, Parameter(help="Target column (inferred when omitted).")] = None,
    search: Annotated[str | None, Parameter(help="Search brain for the run stage: aide | baseline.")] = None,
    steps: Annotated[int | None, Parameter(help="Search steps for the run stage.")] = None,
    time_budget: Annotated[float | None, Parameter(help="Wall-clock seconds for the run stage's search (LOOM_TIME_BUDGET).")] = None,
    experiment_id: Annotated[str | None, Parameter(help="Experiment id tagged on the run stage's candidate runs.")] = None,
    schedule: Annotated[str | None, Parameter(help="Cron expression: compile the pipeline as a scheduled workflow "
                                                   "instead of running it now (needs --deploy).")] = None,
    deploy: Annotated[str | None, Parameter(help="Orchestrator for --schedule: argo (Argo Workflows).")] = None,
    apply: Annotated[bool, Parameter(negative="", help="With --schedule: deploy the compiled workflow (needs a "
                                                       "cluster); without it only the template is written.")] = False,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """ingest -> eda -> features -> run -> validate -> report, each stage checking the one before.

    eda's leakage flags feed features; the run stage searches on the features data object (the
    baseline brain needs no LLM key); validate checks the best solution (a FAIL stops the
    pipeline); report writes the model card. Prints each stage's status; the failed stage is
    named and the exit code is that stage's (1 failure, 2 bad input).
    """
    from loom.entrypoints.cli.lifecycle_view import payload, styled

    config = load_config(common, search_provider=search, budget_steps=steps, time_budget=time_budget)
    if schedule or deploy:
        return _schedule(common, config, schedule, deploy, apply, dataset=dataset, source=source, goal=goal,
                         metric=metric, target=target, search=config.search_provider, steps=steps,
                         experiment=experiment_id)
    use_case = container_for(config).run_pipeline()
    quiet = effective(common).json
    err = None
    if not quiet:
        from loom.entrypoints.cli.common import console

        err = console(stderr=True)

    from loom.entrypoints.cli.events import command_observer

    observer = command_observer()  # an in-process caller (MCP) follows the stages

    def on_stage(stage) -> None:  # type: ignore[no-untyped-def]
        if observer is not None:
            from loom.application.ports.observer import Event

            observer.notify(Event("stage", pathspec=stage.pathspec, message=f"{stage.stage}: {stage.status}",
                                  data={"stage": stage.stage, "status": stage.status, "verdict": stage.verdict,
                                        "detail": stage.detail}))
        if err is not None:
            err.print(f"{styled(stage.status)} {stage.stage:<9} {stage.pathspec or ''} "
                      f"{('[' + stage.verdict + '] ') if stage.verdict else ''}{stage.detail}")

    from loom.entrypoints.cli.common import hooks

    r = use_case(dataset=dataset, source=source, goal=goal, metric=metric, target=target, metric_name=metric_name,
                 experiment_id=experiment_id, on_stage=on_stage, stop=hooks().stop)

    def human(out) -> None:  # type: ignore[no-untyped-def]
        if r.failed_stage:
            out.print(f"pipeline {styled('FAILED')} at stage [bold]{r.failed_stage}[/bold]")
        else:
            out.print(f"pipeline {styled('OK')}; model card: {r.extras.get('report')}")

    emit(common, payload(r), human)
    return int(r.extras.get("exit_code") or (1 if r.failed_stage else 0))


def _schedule(common: Common, config, cron: str | None, deploy: str | None, apply: bool, **pipeline) -> int:  # type: ignore[no-untyped-def]
    from loom.domain.errors import UsageError

    if not cron or not deploy:
        raise UsageError("--schedule CRON and --deploy argo go together")
    if pipeline.get("source") is not None:
        pipeline["source"] = str(Path(pipeline["source"]).resolve())
    out = container_for(config).schedule_pipeline()(cron=cron, deploy=deploy, apply=apply, **pipeline)
    summary = {k: v for k, v in out.items() if k != "template"}

    def human(console) -> None:  # type: ignore[no-untyped-def]
        what = "deployed" if out["applied"] else "compiled (not deployed; --apply deploys it)"
        console.print(f"LoomPipeline {what} for {out['orchestrator']} on schedule '{out['cron']}'")
        if out.get("template_path"):
            console.print(f"template: {out['template_path']}")

    emit(common, {"status": "OK", **summary}, human)
    return 0
