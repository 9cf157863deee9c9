"""ProfileDataset (`loom eda`) and BuildFeatures (`loom features`)."""

from __future__ import annotations

from typing import Any

from loom.application.lifecycle import require_lifecycle
from loom.domain.errors import UsageError
from loom.domain.lifecycle import EdaResult, FeaturesResult
from loom.domain.pathspec import Pathspec


class ProfileDataset:
    """Profile a data object: stats, correlations, leakage flags (EdaFlow/N)."""

    def __init__(self, mlops: Any) -> None:
        self._mlops = mlops

    def __call__(self, dataset: str, *, target: str | None = None) -> EdaResult:
        Pathspec.parse(dataset)
        return require_lifecycle(self._mlops, "eda").eda(dataset, target=target)


class BuildFeatures:
    """A derived feature set as a new data object (FeaturesFlow/N), leaky columns dropped."""

    def __init__(self, mlops: Any) -> None:
        self._mlops = mlops

    def __call__(
        self, dataset: str, *, from_eda: str | None = None, recipe: str = "minimal", target: str | None = None
    ) -> FeaturesResult:
        Pathspec.parse(dataset)
        if from_eda:
            Pathspec.parse(from_eda).expect_flow("EdaFlow")
        if recipe not in ("minimal", "full"):
            raise UsageError(f"unknown recipe '{recipe}'; use minimal or full")
        return require_lifecycle(self._mlops, "features").build_features(
            dataset, from_eda=from_eda, recipe=recipe, target=target
        )
