"""`loom eda`: profile a data object."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from cyclopts import Parameter

from loom.entrypoints.cli.common import Common, not_built


def eda(
    *,
    dataset: Annotated[str, Parameter(help="The data object to profile (IngestDataset/N or FeaturesFlow/N).")],
    target: Annotated[str | None, Parameter(help="Target column (inferred when omitted).")] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Profile a data object: stats, correlations, leakage flags; an @card with plots."""
    return not_built("eda", 6)
