"""Provider registry: one line per provider, per port, imported only when selected.

Built-ins are `name -> "module:Class"` strings. Third-party packages add providers through the
entry-point groups `loom.search`, `loom.mlops`, `loom.model_builders`, `loom.models`
(`name = "package.module:Class"`); they are then selected exactly like built-ins.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

from loom.domain.errors import UnknownProviderError

PORTS = ("search", "mlops", "model_builders", "models")

BUILTINS: dict[str, dict[str, str]] = {
    "search": {
        "aide": "loom.adapters.search.aide:AideSearch",
        "baseline": "loom.adapters.search.baseline:BaselineSearch",
    },
    "mlops": {
        "metaflow": "loom.adapters.mlops.metaflow:MetaflowMLOps",
        "local": "loom.adapters.mlops.local:LocalMLOps",
    },
    "model_builders": {
        "nemo": "loom.adapters.builders.nemo:NemoBuilder",
        "local": "loom.adapters.builders.local:PpmiSvdBuilder",
    },
    "models": {
        "anthropic-api": "loom.adapters.models.anthropic_api:AnthropicModel",
        "openai-api": "loom.adapters.models.openai_api:OpenAIResponsesModel",
        "openrouter": "loom.adapters.models.openrouter:OpenRouterModel",
        "nim": "loom.adapters.models.nim:NimModel",
        "openai-compat": "loom.adapters.models.openai_compat:OpenAICompatModel",
        "claude-subscription": "loom.adapters.models.claude_cli:ClaudeCliModel",
        "codex-subscription": "loom.adapters.models.codex_cli:CodexCliModel",
        "loom-proxy": "loom.adapters.models.loom_proxy:LoomProxyModel",
    },
}

PORT_LABEL = {"search": "search", "mlops": "mlops", "model_builders": "model-builder", "models": "model"}

#: Which config field selects each single-adapter port.
SELECTED_BY = {
    "search": "search_provider",
    "mlops": "mlops_provider",
    "model_builders": "model_builder_provider",
}


@cache
def _entry_points(port: str) -> dict[str, str]:
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=f"loom.{port}")}


def refresh() -> None:
    """Forget discovered entry points (tests install a plugin at run time)."""
    _entry_points.cache_clear()


def providers(port: str) -> dict[str, str]:
    """name -> "module:Class" for a port: built-ins, then entry points (built-ins win)."""
    if port not in PORTS:
        raise ValueError(f"unknown port {port!r}")
    return {**_entry_points(port), **BUILTINS[port]}


def names(port: str) -> list[str]:
    return sorted(providers(port))


def origin(port: str, name: str) -> str:
    return "built-in" if name in BUILTINS[port] else "entry point"


def target(port: str, name: str) -> str:
    table = providers(port)
    if name not in table:
        raise UnknownProviderError(PORT_LABEL[port], name, list(table))
    return table[name]


def load(port: str, name: str) -> Any:
    """Import and return the adapter class for `name` (the only place adapters are imported)."""
    module_name, _, attr = target(port, name).partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)


def create(port: str, name: str, config: Any, **kwargs: Any) -> Any:
    """Build the adapter: `Provider(config, **kwargs)`."""
    return load(port, name)(config, **kwargs)


def model_class(name: str) -> Any:
    """The model adapter class for a provider name (what model preflight resolves through)."""
    return load("models", name)
