"""Lifecycle verbs on Metaflow (eda, features, validate, report, ops, deploy): the mixin that
MetaflowMLOps composes. Each verb is one static flow under `flows/`; the pure analysis lives
in `analysis/` (pandas/numpy/sklearn, imported only inside the flows and functions).
"""

from __future__ import annotations

from loom.adapters.mlops.metaflow.lifecycle.deploying import MetaflowDeployVerbs
from loom.adapters.mlops.metaflow.lifecycle.verbs import MetaflowAnalysisVerbs


class MetaflowLifecycle(MetaflowAnalysisVerbs, MetaflowDeployVerbs):
    """Implements loom.application.ports.lifecycle.Lifecycle for an object with `self.config`."""


__all__ = ["MetaflowLifecycle"]

#: The name MetaflowMLOps looks up (loom.adapters.mlops.metaflow.__init__).
LifecycleMixin = MetaflowLifecycle
__all__ += ["LifecycleMixin"]
