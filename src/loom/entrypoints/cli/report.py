"""`loom report`: a model card over runs."""

from __future__ import annotations

from typing import Annotated

from cyclopts import Parameter

from loom.entrypoints.cli.common import Common, container_for, emit, load_config


def report(
    *,
    experiment: Annotated[str | None, Parameter(help="All runs of this experiment id (runs tagged experiment:ID by `loom run --experiment-id`).")] = None,
    runs: Annotated[str | None, Parameter(help="Comma-separated pathspecs.")] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Write a model card (HTML + Markdown) over runs or an experiment.

    Runs ReportFlow: the best run, the spread of scores, a leaderboard, each run's lineage and
    the validate verdicts among the runs. The files land under LOOM_HOME/reports/ReportFlow-<id>/.
    """
    from loom.entrypoints.cli.lifecycle_view import payload, run_quiet, styled

    config = load_config(common)
    use_case = container_for(config).write_report()
    r = run_quiet(common, "writing the model card ...", lambda: use_case(experiment=experiment, runs=runs))

    def human(out) -> None:  # type: ignore[no-untyped-def]
        out.print(f"[bold]{r.pathspec}[/bold]  model card over {len(r.runs)} run(s)")
        if r.best:
            out.print(f"best: {r.best['pathspec']} {r.best.get('metric') or 'score'} {r.best['score']:.4f}")
        if r.spread:
            s = r.spread
            out.print(f"spread: min {s['min']:.4f} mean {s['mean']:.4f} max {s['max']:.4f} (n={s['n']})")
        for k, v in r.verdicts.items():
            out.print(f"  {k}: {styled(v)}")
        out.print(f"html: {r.html_path}\nmarkdown: {r.markdown_path}")

    emit(common, payload(r, status="OK"), human)
    return 0
