"""`loom features`: a derived feature set as a new data object."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from cyclopts import Parameter

from loom.entrypoints.cli.common import Common, not_built


def features(
    *,
    dataset: Annotated[str, Parameter(help="The data object to derive features from.")],
    from_eda: Annotated[str | None, Parameter(name="--from", help="An EDA run whose leakage flags to apply (EdaFlow/N).")] = None,
    recipe: Annotated[Literal["minimal", "full"], Parameter(help="Feature recipe.")] = "minimal",
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Derive a feature set (flagged leaky columns dropped) as a new data object (FeaturesFlow/N)."""
    return not_built("features", 6)
