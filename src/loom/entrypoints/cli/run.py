"""`loom run`: the search loop."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from cyclopts import Parameter

from loom.domain.metrics import KNOWN
from loom.entrypoints.cli.common import Common, console, container_for, effective, emit, load_config

_METRIC_NAMES = ", ".join(KNOWN)


def run(
    *,
    data: Annotated[Path | None, Parameter(help="Data dir with train.csv, test.csv [, sample_submission.csv], or one CSV file (split like `loom ingest`). Tables may also be ';'/tab-separated, cp1252/Latin-1, .tsv or .parquet: read once into UTF-8 comma CSV (see the run's warnings).")] = None,
    dataset: Annotated[str | None, Parameter(help="An ingested data object, e.g. IngestDataset/12 (--mlops metaflow).")] = None,
    goal: Annotated[str | None, Parameter(help="What to predict, in words.")] = None,
    metric: Annotated[str | None, Parameter(help='The metric with a direction, e.g. "Maximize ROC-AUC" or "Minimize RMSE of the log"; a qualifier Loom does not understand is exit 2.')] = None,
    metric_name: Annotated[str | None, Parameter(help=f"Exactly which metric to compute (then --metric only gives the direction): {_METRIC_NAMES}.")] = None,
    target: Annotated[str | None, Parameter(help="Target column (inferred when omitted).")] = None,
    time_column: Annotated[str | None, Parameter(help="Seal the latest rows by this column's time (default: a detected date column; 'none': never by time).")] = None,
    group_column: Annotated[str | None, Parameter(help="Seal whole groups of this column, as when test.csv holds new patients or customers (default: a column whose test values train.csv never shows; 'none': never by group).")] = None,
    leaks: Annotated[Literal["warn", "drop", "fail"] | None, Parameter(help="Leak screen before the first candidate: warn (report), drop (remove flagged columns), fail (exit 1) (LOOM_LEAKS, default warn).")] = None,
    steps: Annotated[int | None, Parameter(help="Search steps (env LOOM_BUDGET_STEPS, default 10).")] = None,
    time_budget: Annotated[float | None, Parameter(help="Wall-clock seconds for the search, next to --steps (LOOM_TIME_BUDGET): no candidate starts past it, and one still running gets at most a quarter of it more (min 5 s).")] = None,
    num_drafts: Annotated[int | None, Parameter(help="Initial drafts before improving (LOOM_BUDGET_NUM_DRAFTS).")] = None,
    debug_prob: Annotated[float | None, Parameter(help="Chance to debug a buggy node (LOOM_BUDGET_DEBUG_PROB).")] = None,
    max_debug_depth: Annotated[int | None, Parameter(help="Max consecutive debug steps (LOOM_BUDGET_MAX_DEBUG_DEPTH).")] = None,
    exec_timeout: Annotated[float | None, Parameter(help="Seconds per candidate execution (LOOM_EXEC_TIMEOUT).")] = None,
    experiment_id: Annotated[str | None, Parameter(help="Experiment id that groups runs (tags, report --experiment).")] = None,
    search: Annotated[str | None, Parameter(help="Search brain: aide | baseline (LOOM_SEARCH_PROVIDER).")] = None,
    mlops: Annotated[str | None, Parameter(help="Execution provider: metaflow | local (LOOM_MLOPS_PROVIDER).")] = None,
    model_provider: Annotated[str | None, Parameter(help="LLM provider for both roles.")] = None,
    code_provider: Annotated[str | None, Parameter(help="LLM provider that writes code (LOOM_CODE_PROVIDER).")] = None,
    feedback_provider: Annotated[str | None, Parameter(help="LLM provider for the judge (LOOM_FEEDBACK_PROVIDER).")] = None,
    max_usd: Annotated[float | None, Parameter(help="Stop before a call that would pass this spend (LOOM_MAX_USD).")] = None,
    workers: Annotated[int | None, Parameter(help="Candidates evaluated concurrently (LOOM_WORKERS).")] = None,
    refit: Annotated[bool | None, Parameter(help="Deliver the chosen solution refit on every labelled row, train and sealed slices, once its estimate is fixed (LOOM_REFIT, default on); --no-refit delivers it as chosen.")] = None,
    sandbox: Annotated[Literal["auto", "bwrap", "landlock", "none"] | None, Parameter(help="Where candidates run: auto (bwrap when it works, else landlock) | bwrap | landlock | none (LOOM_SANDBOX).")] = None,
    resume: Annotated[str | None, Parameter(help="Continue a saved run from its journal (RUN_ID).")] = None,
    events: Annotated[Literal["none", "jsonl"], Parameter(help="jsonl: stream one JSON line per progress event on stderr while the run goes (no progress bar).")] = "none",
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Search for the best solution: the brain writes candidates, the muscle runs and scores them.

    Loom seals two slices of train.csv that candidates never see: every submission is graded on
    the selection slice (which ranks the leaderboard, beside each candidate's self-reported
    metric), and the chosen best alone on the final slice, the estimate Loom reports with a 95%
    interval. With a date column the sealed rows are the latest. A leak screen runs before the
    first candidate (--leaks). --metric-name lists every metric Loom computes. Candidates run
    in a sandbox (bubblewrap: no secrets, no network, only ./input and ./working, nothing
    outlives them); without bubblewrap Loom says once per run that they are not isolated.
    Artifacts go to
    LOOM_HOME/runs/<run-id>/ (journal.json, leaderboard.json, best_solution.py, submission.csv,
    tree.html, manifest.json). Ctrl-C saves the run (exit 130); continue it with --resume.
    """
    from loom.application.provider_flags import provider_overrides
    from loom.application.run_search import RunRequest, resume_overrides
    from loom.domain.errors import UsageError

    if data is not None and dataset is not None:  # before any work: --data would silently win
        raise UsageError("pass exactly one of --data DIR/FILE or --dataset IngestDataset/N")
    if resume and not search:
        saved = resume_overrides(load_config(common).home, resume)
        search, mlops = search or saved.get("search_provider"), mlops or saved.get("mlops_provider")
    config = load_config(
        common, search_provider=search, mlops_provider=mlops,
        **provider_overrides(model_provider, code_provider, feedback_provider),
        budget_steps=steps, budget_num_drafts=num_drafts, budget_debug_prob=debug_prob, budget_max_debug_depth=max_debug_depth,
        exec_timeout=exec_timeout, max_usd=max_usd, workers=workers, sandbox=sandbox, time_budget=time_budget,
        refit=refit,
    )
    request = RunRequest(
        data=data, dataset=dataset, goal=goal, metric=metric, metric_name=metric_name,
        experiment_id=experiment_id, resume=resume, steps=steps, target=target, time_column=time_column, leaks=leaks,
        group_column=group_column,
    )
    use_case = container_for(config).run_search()
    from loom.entrypoints.cli.common import hooks
    from loom.entrypoints.cli.events import command_observer

    observer = command_observer(events)  # --events jsonl and/or an in-process caller (MCP)
    if effective(common).json or observer is not None:
        result = use_case(request, observer=observer, stop=hooks().stop)
    else:
        from loom.entrypoints.cli.run_render import RichProgress

        with RichProgress(console(stderr=True), config.budget_steps) as progress:
            result = use_case(request, observer=progress)
    from loom.entrypoints.cli.run_render import payload, summary

    emit(common, payload(result, dataset), lambda out: summary(result, out))
    return result.status.exit_code
