"""Lifecycle use-cases: thin verb-noun classes over the lifecycle port (no printing, typed results)."""

from __future__ import annotations

from typing import Any

from loom.application.ports.lifecycle import Lifecycle
from loom.domain.errors import UsageError


def require_lifecycle(mlops: Any, verb: str) -> Lifecycle:
    """The MLOps adapter as a Lifecycle, or a one-line UsageError pointing at --mlops metaflow."""
    if isinstance(mlops, Lifecycle):
        return mlops
    name = getattr(mlops, "name", type(mlops).__name__)
    raise UsageError(
        f"`loom {verb}` runs lifecycle flows, which the '{name}' MLOps provider does not have; "
        "use --mlops metaflow (LOOM_MLOPS_PROVIDER=metaflow)"
    )
