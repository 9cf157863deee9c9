"""`loom validate`: CV + sealed holdout + calibration + slices + leakage, with a VERDICT."""

from __future__ import annotations

from typing import Annotated

from cyclopts import Parameter

from loom.entrypoints.cli.common import Common, container_for, emit, load_config


def validate(
    *,
    dataset: Annotated[str, Parameter(help="The data object to validate on.")],
    solution: Annotated[str | None, Parameter(help="A solution to validate: a candidate run (CandidateRun/N), a search run id, or a .py file (default: a gradient-boosted baseline).")] = None,
    target: Annotated[str | None, Parameter(help="Target column (inferred when omitted).")] = None,
    sensitive: Annotated[str | None, Parameter(help="A column to report per-slice metrics for.")] = None,
    metric: Annotated[str | None, Parameter(help='The metric to grade by, as `loom run` takes it (e.g. "Minimize RMSLE"; default: ROC-AUC for two classes, accuracy for more, RMSE for numbers).')] = None,
    metric_name: Annotated[str | None, Parameter(help="The exact catalog metric to grade by (e.g. rmsle, f1_macro), as `loom run --metric-name`.")] = None,
    positive: Annotated[str | None, Parameter(help="The class a binary metric (ROC-AUC, F1, ...) scores, as the run took it (its JSON's metric.positive_class; default: 1 / true / yes, else the last class).")] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """CV + sealed holdout + calibration + slices + leakage checks, with a VERDICT.

    Runs ValidateFlow: a sealed holdout (the latest period when a time column exists) and
    stratified or time-ordered 5-fold CV of the solution or of a HistGradientBoosting baseline,
    graded by --metric (any metric `loom run` takes; `loom pipeline` passes its run's);
    Brier score and calibration curve for binary targets; per-slice metrics with --sensitive.
    VERDICT PASS / REVIEW / FAIL with its reasons (FAIL exits 1).
    """
    from loom.entrypoints.cli.lifecycle_view import flag_table, payload, run_quiet, verdict_block

    config = load_config(common)
    use_case = container_for(config).validate_solution()
    r = run_quiet(common, f"validating on {dataset} ...",
                  lambda: use_case(dataset, solution=solution, target=target, sensitive=sensitive, metric=metric,
                                   metric_name=metric_name, positive=positive))

    def human(out) -> None:  # type: ignore[no-untyped-def]
        from loom.entrypoints.cli.safe_text import safe

        scores = ", ".join(f"{s:.4f}" for s in r.cv_scores)
        out.print(f"[bold]{safe(r.pathspec)}[/bold]  {safe(r.solution)} on {safe(r.dataset)} "
                  f"(target {safe(r.target)}, {safe(r.task_type)})")
        out.print(f"{safe(r.metric)}: holdout [bold]{r.holdout_score:.4f}[/bold], CV {r.cv_mean:.4f} \\[{scores}] ({safe(r.split)})"
                  + (f", Brier {r.brier:.4f}" if r.brier is not None else ""))
        for s in r.slices:
            value = s.get(r.metric)
            out.print(f"  slice {safe(s['slice'])}: {s['rows']} rows, {safe(r.metric)} {value if value is None else f'{value:.4f}'}")
        if r.leakage:
            flag_table(out, r.leakage, "leakage checks")
        verdict_block(out, r.verdict.value, r.reasons)
        if r.card:
            out.print(f"card: {safe(r.card)}")

    emit(common, payload(r, status="OK", cv_mean=r.cv_mean), human)
    return 1 if r.verdict.value == "FAIL" else 0
