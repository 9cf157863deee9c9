"""`loom plan`: natural-language goal -> a plan of verbs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from cyclopts import Parameter

from loom.entrypoints.cli.common import Common, not_built


def plan(
    goal: Annotated[str, Parameter(help="The goal in plain words.")],
    /,
    *,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Turn a natural-language goal into a plan of Loom verbs (needs an LLM key)."""
    return not_built("plan", 0)
