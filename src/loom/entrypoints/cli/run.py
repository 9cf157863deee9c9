"""`loom run`: the search loop."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from cyclopts import Parameter

from loom.entrypoints.cli.common import Common, not_built


def run(
    *,
    data: Annotated[Path | None, Parameter(help="Data dir with train.csv, test.csv [, sample_submission.csv].")] = None,
    dataset: Annotated[str | None, Parameter(help="An ingested data object, e.g. IngestDataset/12 (--mlops metaflow).")] = None,
    goal: Annotated[str | None, Parameter(help="What to predict, in words.")] = None,
    metric: Annotated[str | None, Parameter(help='The metric with a direction, e.g. "Maximize ROC-AUC".')] = None,
    metric_name: Annotated[str | None, Parameter(help="A known metric name when --metric is free text (roc_auc, accuracy, f1, log_loss, rmse, mae, r2).")] = None,
    steps: Annotated[int | None, Parameter(help="Search steps (env LOOM_BUDGET_STEPS, default 10).")] = None,
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
    resume: Annotated[str | None, Parameter(help="Continue a saved run from its journal (RUN_ID).")] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Search for the best solution: the brain writes candidates, the muscle runs and scores them."""
    return not_built("run", 4)
