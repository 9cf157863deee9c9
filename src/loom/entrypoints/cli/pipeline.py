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
    target: Annotated[str | None, Parameter(help="Target column (inferred when omitted).")] = None,
    search: Annotated[str | None, Parameter(help="Search brain for the run stage: aide | baseline.")] = None,
    steps: Annotated[int | None, Parameter(help="Search steps for the run stage.")] = None,
    experiment_id: Annotated[str | None, Parameter(help="Experiment id tagged on the run stage's candidate runs.")] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """ingest -> eda -> features -> run -> validate -> report, each stage checking the one before.

    eda's leakage flags feed features; the run stage searches on the features data object (the
    baseline brain needs no LLM key); validate checks the best solution (a FAIL stops the
    pipeline); report writes the model card. Prints each stage's status; the failed stage is
    named and the exit code is that stage's (1 failure, 2 bad input).
    """
    from loom.entrypoints.cli.lifecycle_view import payload, styled

    config = load_config(common, search_provider=search, budget_steps=steps)
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

    r = use_case(dataset=dataset, source=source, goal=goal, metric=metric, target=target,
                 experiment_id=experiment_id, on_stage=on_stage, stop=hooks().stop)

    def human(out) -> None:  # type: ignore[no-untyped-def]
        if r.failed_stage:
            out.print(f"pipeline {styled('FAILED')} at stage [bold]{r.failed_stage}[/bold]")
        else:
            out.print(f"pipeline {styled('OK')}; model card: {r.extras.get('report')}")

    emit(common, payload(r), human)
    return int(r.extras.get("exit_code") or (1 if r.failed_stage else 0))
