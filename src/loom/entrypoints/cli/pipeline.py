"""`loom pipeline`: the whole lifecycle, stage by stage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from cyclopts import Parameter

from loom.entrypoints.cli.common import Common, not_built


def pipeline(
    *,
    dataset: Annotated[str | None, Parameter(help="An ingested data object (IngestDataset/N).")] = None,
    source: Annotated[Path | None, Parameter(help="A data dir or CSV/Parquet file to ingest first.")] = None,
    goal: Annotated[str | None, Parameter(help="What to predict, in words.")] = None,
    metric: Annotated[str | None, Parameter(help='The metric with a direction, e.g. "Maximize ROC-AUC".')] = None,
    target: Annotated[str | None, Parameter(help="Target column (inferred when omitted).")] = None,
    search: Annotated[str | None, Parameter(help="Search brain for the run stage: aide | baseline.")] = None,
    steps: Annotated[int | None, Parameter(help="Search steps for the run stage.")] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """ingest -> eda -> features -> run -> validate -> report, each stage checking the one before."""
    return not_built("pipeline", 6)
