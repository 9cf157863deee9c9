"""`loom report`: a model card over runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from cyclopts import Parameter

from loom.entrypoints.cli.common import Common, not_built


def report(
    *,
    experiment: Annotated[str | None, Parameter(help="All runs of this experiment id.")] = None,
    runs: Annotated[str | None, Parameter(help="Comma-separated pathspecs.")] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Write a model card (HTML + Markdown) over runs or an experiment."""
    return not_built("report", 6)
