"""Model builders: nemo (NeMo AutoModel recipes, GPU), local (PPMI+SVD on CPU)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loom.application.config import LoomConfig
    from loom.domain.training import TrainIntent


def find_inputs(config: "LoomConfig", intent: "TrainIntent") -> None:
    """ModelBuilder.find_inputs for builders reading Metaflow data objects: an unknown pathspec is
    one UsageError line (exit 2) naming it and where it was looked for."""
    from loom.adapters.shared.metaflow_runtime import get_run

    get_run(config, intent.dataset)
    if intent.backbone:
        get_run(config, intent.backbone, "TrainBackbone")
