"""LOOM_METAFLOW_WITH: the `--with` decorators every flow run gets, checked against the installed Metaflow."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from loom.domain.errors import ConfigError

if TYPE_CHECKING:
    from loom.application.config import LoomConfig


def _with_specs(with_: str | Sequence[str] | None) -> list[str]:
    """LOOM_METAFLOW_WITH may hold several decorators separated by ';' (commas belong to one)."""
    if not with_:
        return []
    items = [with_] if isinstance(with_, str) else list(with_)
    return [part.strip() for item in items for part in item.split(";") if part.strip()]


def with_specs(with_: str | Sequence[str] | None, config: "LoomConfig") -> list[str]:
    """`_with_specs`, each naming a step decorator the installed Metaflow knows: a typo is a
    ConfigError (exit 2) naming LOOM_METAFLOW_WITH before the flow starts, not a failed run."""
    specs = _with_specs(with_)
    if not specs:
        return specs
    known = step_decorators(config)
    for spec in specs:
        name = spec.split(":", 1)[0].strip()
        if name not in known:
            shown = ", ".join(sorted(n for n in known if not n.endswith("_internal")))
            raise ConfigError(f"LOOM_METAFLOW_WITH: '{name}' is not a Metaflow step decorator (known: {shown})",
                              hint="several are separated by ';', e.g. kubernetes:cpu=4,memory=16384;retry:times=2")
    return specs


def step_decorators(config: "LoomConfig") -> frozenset[str]:
    """The names of the step decorators the installed Metaflow (with its extensions) registers."""
    global _STEP_DECORATORS
    if _STEP_DECORATORS is None:
        from loom.adapters.shared.metaflow_runtime import _flow_lock

        with _flow_lock:
            if config.metaflow_profile and "metaflow" not in sys.modules:
                os.environ.setdefault("METAFLOW_PROFILE", config.metaflow_profile)  # as client() does
            from metaflow.plugins import STEP_DECORATORS

            _STEP_DECORATORS = frozenset(str(deco.name) for deco in STEP_DECORATORS)
    return _STEP_DECORATORS


_STEP_DECORATORS: frozenset[str] | None = None
