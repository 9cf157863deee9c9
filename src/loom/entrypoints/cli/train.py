"""`loom train`: the model-builder, behind the cost-plan gate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from cyclopts import Parameter

from loom.entrypoints.cli.common import Common, not_built


def train(
    *,
    dataset: Annotated[str, Parameter(help="Event/table data object (IngestDataset/N).")],
    objective: Annotated[Literal["next-event", "masked-field", "contrastive"], Parameter(help="What the backbone learns.")] = "next-event",
    budget: Annotated[Literal["probe", "small", "full"], Parameter(help="Size of the build (sets GPUs, hours, steps).")] = "probe",
    capability: Annotated[Literal["pretrain", "tokenize", "embed", "finetune", "evaluate"], Parameter(help="What to do.")] = "pretrain",
    backbone: Annotated[str | None, Parameter(help="An existing backbone (TrainBackbone/N) for embed/finetune/evaluate.")] = None,
    metric: Annotated[str | None, Parameter(help="Metric for evaluate/finetune, e.g. roc_auc.")] = None,
    launch: Annotated[bool, Parameter(negative="", help="Really launch on LOOM_GPU_TARGET (otherwise PLANNED).")] = False,
    max_usd: Annotated[float | None, Parameter(help="Refuse when the plan costs more than this.")] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Build a backbone (pretrain/embed/finetune/evaluate), behind the cost-plan gate."""
    return not_built("train", 7)
