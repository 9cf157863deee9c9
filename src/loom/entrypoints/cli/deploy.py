"""`loom deploy`: gate, plan, and (with --apply) deploy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from cyclopts import Parameter

from loom.entrypoints.cli.common import Common, not_built


def deploy(
    *,
    validate: Annotated[str | None, Parameter(help="A validate run whose verdict gates the deploy.")] = None,
    solution: Annotated[str | None, Parameter(help="The solution run to deploy.")] = None,
    apply: Annotated[bool, Parameter(negative="", help="Perform the deployment (default: PLAN only).")] = False,
    serve: Annotated[bool, Parameter(negative="", help="With --apply: serve predictions over HTTP.")] = False,
    score: Annotated[str | None, Parameter(help="With --apply: a dataset to batch-score.")] = None,
    floor: Annotated[float | None, Parameter(help="Refuse when the holdout metric is below this.")] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Gate, plan and (with --apply) deploy a solution for batch scoring or serving."""
    return not_built("deploy", 6)
