"""WriteReport (`loom report`) and CheckOps (`loom ops`)."""

from __future__ import annotations

from typing import Any

from loom.application.lifecycle import require_lifecycle
from loom.domain.errors import UsageError
from loom.domain.lifecycle import OpsResult, ReportResult
from loom.domain.pathspec import Pathspec


class WriteReport:
    """A model card (HTML + Markdown) over an experiment's runs or a list of pathspecs."""

    def __init__(self, mlops: Any) -> None:
        self._mlops = mlops

    def __call__(self, *, experiment: str | None = None, runs: str | list[str] | None = None) -> ReportResult:
        items = [r.strip() for r in runs.split(",")] if isinstance(runs, str) else list(runs or [])
        items = [r for r in items if r]
        if bool(experiment) == bool(items):
            raise UsageError("pass exactly one of --experiment ID or --runs P1,P2,...")
        for item in items:
            Pathspec.parse(item)
        return require_lifecycle(self._mlops, "report").report(experiment=experiment, runs=items)


class CheckOps:
    """Run health of a flow/experiment and drift of a batch vs a reference -> HEALTHY / ATTENTION."""

    def __init__(self, mlops: Any) -> None:
        self._mlops = mlops

    def __call__(
        self,
        *,
        flow: str | None = None,
        experiment: str | None = None,
        dataset: str | None = None,
        reference: str | None = None,
    ) -> OpsResult:
        if not (flow or experiment or dataset or reference):
            raise UsageError("pass --flow F, --experiment ID, or --dataset P --reference P0")
        if bool(dataset) != bool(reference):
            raise UsageError("drift needs both --dataset (the batch) and --reference (the baseline data object)")
        for spec in (dataset, reference):
            if spec:
                Pathspec.parse(spec)
        return require_lifecycle(self._mlops, "ops").ops(
            flow=flow, experiment=experiment, dataset=dataset, reference=reference
        )
