"""`loom ops`: run health and data drift."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from cyclopts import Parameter

from loom.entrypoints.cli.common import Common, not_built


def ops(
    *,
    flow: Annotated[str | None, Parameter(help="Health of this flow's runs.")] = None,
    experiment: Annotated[str | None, Parameter(help="Health of this experiment's runs.")] = None,
    dataset: Annotated[str | None, Parameter(help="A batch to check for drift.")] = None,
    reference: Annotated[str | None, Parameter(help="The reference data object for drift.")] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Run health and data drift of a batch vs a reference, with a VERDICT."""
    return not_built("ops", 6)
