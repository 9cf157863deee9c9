"""MetaflowMLOps: the mixins composed into one adapter (see the package docstring)."""


from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from loom.adapters.mlops.metaflow.data import MetaflowDataMixin
from loom.adapters.mlops.metaflow.executor import MetaflowExecutorMixin
from loom.adapters.mlops.metaflow.scheduling import MetaflowSchedulingMixin

if TYPE_CHECKING:
    from loom.application.config import LoomConfig
    from loom.application.credentials import CredentialSource
    from loom.domain.checks import Check

log = logging.getLogger(__name__)


def _lifecycle_mixin() -> type:
    try:
        module = importlib.import_module("loom.adapters.mlops.metaflow.lifecycle")
    except ImportError as exc:
        log.debug("no lifecycle mixin", extra={"error": str(exc)})
        return object
    mixin = getattr(module, "LifecycleMixin", None)
    return mixin if isinstance(mixin, type) else object


_Lifecycle: Any = _lifecycle_mixin()


class MetaflowMLOps(MetaflowExecutorMixin, MetaflowDataMixin, MetaflowSchedulingMixin, *(() if _Lifecycle is object else (_Lifecycle,))):  # type: ignore[misc]
    """Metaflow as Loom's muscle; embedded local datastore under LOOM_HOME unless a profile is set."""

    name = "metaflow"
    requires_modules = ("metaflow", "pandas")

    def __init__(self, config: "LoomConfig") -> None:
        self.config = config

    @classmethod
    def readiness(cls, config: "LoomConfig", credentials: "CredentialSource") -> list["Check"]:
        from loom.adapters.shared import metaflow_runtime as rt
        from loom.application.ports.readiness import generic_readiness
        from loom.domain.checks import Check, Level

        checks = generic_readiness(cls, config, credentials)
        if any(c.level is Level.FAIL for c in checks):  # metaflow not importable: nothing more to ask it
            return checks
        from loom.adapters.mlops.metaflow import doctor

        checks += doctor.checks(config)  # profile, datastore (reachable?), metadata provider
        if config.metaflow_with:
            from loom.domain.errors import ConfigError

            try:
                rt.with_specs(config.metaflow_with, config)
            except ConfigError as exc:
                return [*checks, Check("metaflow --with", Level.FAIL, exc.message, exc.hint or "")]
            checks.append(Check("metaflow --with", Level.WARN if rt.embedded(config) else Level.PASS,
                                f"candidate runs use --with {config.metaflow_with}",
                                "remote steps need a Metaflow profile with a shared datastore" if rt.embedded(config) else ""))
        return checks
