"""`loom validate`: CV + sealed holdout + calibration + slices + leakage, with a VERDICT."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from cyclopts import Parameter

from loom.entrypoints.cli.common import Common, not_built


def validate(
    *,
    dataset: Annotated[str, Parameter(help="The data object to validate on.")],
    solution: Annotated[str | None, Parameter(help="A solution run to validate (default: a gradient-boosted baseline).")] = None,
    target: Annotated[str | None, Parameter(help="Target column (inferred when omitted).")] = None,
    sensitive: Annotated[str | None, Parameter(help="A column to report per-slice metrics for.")] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """CV + sealed holdout + calibration + slices + leakage checks, with a VERDICT."""
    return not_built("validate", 6)
