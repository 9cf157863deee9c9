"""SchedulePipeline (`loom pipeline --schedule CRON --deploy argo`): the pipeline as a scheduled workflow.

The MLOps provider compiles its pipeline flow for the orchestrator (Metaflow: the LoomPipeline flow
through the Deployer API, `argo-workflows create --only-json`) and, with `apply`, deploys it. An
MLOps provider without scheduling (`local`) is refused with a pointer.
"""

from __future__ import annotations

from typing import Any

from loom.domain.errors import UsageError


class SchedulePipeline:
    def __init__(self, mlops: Any) -> None:
        self._mlops = mlops

    def __call__(self, *, cron: str, deploy: str, apply: bool = False, **pipeline: Any) -> dict[str, Any]:
        schedule = getattr(self._mlops, "schedule_pipeline", None)
        if schedule is None:
            raise UsageError(f"'{getattr(self._mlops, 'name', '?')}' cannot schedule pipelines; use --mlops metaflow")
        if bool(pipeline.get("dataset")) == bool(pipeline.get("source")):
            raise UsageError("a scheduled pipeline needs exactly one of --dataset IngestDataset/N or --source PATH")
        return dict(schedule(cron=cron, deploy=deploy, apply=apply, **pipeline))
