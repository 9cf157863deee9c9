"""`metaflow` MLOps provider (the default): data objects, one run per candidate, cards.

`MetaflowMLOps(config)` is composed from mixins, one idea each:
- `MetaflowExecutorMixin` (executor.py): the Executor port — every candidate of `loom run` is
  one run of the static CandidateRun flow.
- `MetaflowSchedulingMixin` (scheduling.py): `loom pipeline --schedule CRON --deploy argo` (the
  LoomPipeline flow compiled through Metaflow's Deployer).
- `MetaflowDataMixin` (data.py): the DataStore port — ingest, datasets, runs, show, card,
  `materialize(pathspec, dest_dir)` for `loom run --dataset`.
- `LifecycleMixin` from the `lifecycle` subpackage (issue 6: eda, features, validate, report,
  ops, deploy). It is looked up as `loom.adapters.mlops.metaflow.lifecycle:LifecycleMixin`;
  when that package or name is missing the adapter still works without it. A lifecycle
  mixin reaches the runtime through `self.config` and `loom.adapters.shared.metaflow_runtime`.

Importing this module does not import metaflow or pandas, nor the adapter itself: the class is
loaded on first access (`loom.adapters.mlops.metaflow:MetaflowMLOps`), so code that runs inside a
flow step (candidate_step, tabular, the lifecycle flows) does not pay for the whole adapter.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MetaflowMLOps"]


def __getattr__(name: str) -> Any:
    if name == "MetaflowMLOps":
        from loom.adapters.mlops.metaflow.adapter import MetaflowMLOps

        return MetaflowMLOps
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
