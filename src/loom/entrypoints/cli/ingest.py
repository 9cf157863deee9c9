"""`loom ingest`: data -> a versioned data object."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from cyclopts import Parameter

from loom.entrypoints.cli.common import Common, not_built


def ingest(
    *,
    source: Annotated[Path, Parameter(help="A data dir (train.csv [+ test.csv] [+ sample_submission.csv]) or one CSV/Parquet file.")],
    name: Annotated[str | None, Parameter(help="A name for the dataset (default: the source's name).")] = None,
    target: Annotated[str | None, Parameter(help="Target column (inferred when omitted).")] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Turn a data dir or a CSV/Parquet file into a versioned data object (IngestDataset/N)."""
    return not_built("ingest", 5)
