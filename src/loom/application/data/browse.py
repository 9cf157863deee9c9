"""Browse: read-only views over data objects, runs and cards (`datasets`, `runs`, `show`, `card`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loom.application.data.ingest import require_data_store
from loom.application.ports.mlops import DatasetInfo, RunDetail, RunInfo
from loom.domain.errors import UsageError
from loom.domain.pathspec import Pathspec


class Browse:
    """Lists and looks things up; never writes a run."""

    def __init__(self, mlops: Any) -> None:
        self._mlops = mlops

    def datasets(self, limit: int = 50) -> list[DatasetInfo]:
        return require_data_store(self._mlops, "datasets").list_datasets(limit=limit)

    def runs(self, flow: str | None = None, limit: int = 50) -> list[RunInfo]:
        return require_data_store(self._mlops, "runs").list_runs(flow=flow, limit=limit)

    def show(self, pathspec: str) -> RunDetail:
        Pathspec.parse(pathspec)
        return require_data_store(self._mlops, "show").show(pathspec)

    def artifact(self, pathspec: str, name: str) -> Any:
        """One artifact's value as JSON (`loom show PATHSPEC --artifact NAME`)."""
        detail = self.show(pathspec)
        if name not in detail.values:
            names = ", ".join(detail.values) or "none"
            raise UsageError(f"{detail.run.pathspec} has no artifact '{name}'; its artifacts: {names}")
        return detail.values[name]

    def card(self, pathspec: str) -> list[Path]:
        spec = Pathspec.parse(pathspec)
        cards = require_data_store(self._mlops, "card").card(pathspec)
        if not cards:
            raise UsageError(f"{spec.run} has no card")
        return cards
