"""Read-only views over the Client API: datasets, runs, show, card."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from cyclopts import Parameter

from loom.entrypoints.cli.common import Common, not_built


def datasets(*, common: Annotated[Common, Parameter(name="*")] = Common()) -> int:
    """List ingested datasets (data objects)."""
    return not_built("datasets", 5)


def runs(
    *,
    flow: Annotated[str | None, Parameter(help="Only runs of this flow.")] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """List runs, optionally of one flow."""
    return not_built("runs", 5)


def show(
    pathspec: Annotated[str, Parameter(help="Flow/RunId, e.g. IngestDataset/12.")],
    /,
    *,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Show a pathspec: its status, tags and artifacts."""
    return not_built("show", 5)


def card(
    pathspec: Annotated[str, Parameter(help="Flow/RunId whose card to find.")],
    /,
    *,
    open_: Annotated[bool, Parameter(name="--open", negative="", help="Open the card in a browser.")] = False,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Print the path of a run's card, or open it in a browser."""
    return not_built("card", 5)
