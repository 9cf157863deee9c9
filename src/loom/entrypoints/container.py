"""The dependency-injector container: LoomConfig -> adapters -> use-cases. It wires, nothing else.

Adapters are resolved through the registry when first asked for (never at import), so an
unselected backend is never imported. Tests swap any of them with
`container.<provider>.override(providers.Object(fake))`.
"""

from __future__ import annotations

from typing import Any

from dependency_injector import containers, providers

from loom.application.config import LoomConfig
from loom.application.credentials import CredentialSource, EnvCredentials, as_credential_source
from loom.entrypoints import registry


def _selected(config: LoomConfig, field: str) -> str:
    return str(getattr(config, field))


def _role_name(config: LoomConfig, role: str) -> str:
    return config.role_provider(role)[0]


def port_adapter(port: str, config: providers.Provider) -> providers.Singleton:
    """The adapter selected for `port` by its config field, built as `Provider(config)`."""
    name = providers.Callable(_selected, config, registry.SELECTED_BY[port])
    return providers.Singleton(registry.create, port, name, config)


def role_model(role: str, config: providers.Provider, credentials: providers.Provider) -> providers.Singleton:
    """The model adapter for a role (`code` / `feedback`), per the DESIGN.md §3 default rule."""
    name = providers.Callable(_role_name, config, role)
    return providers.Singleton(registry.create, "models", name, config, credentials=credentials)


class Container(containers.DeclarativeContainer):
    """Everything a verb needs, built lazily from one LoomConfig."""

    config = providers.Dependency(instance_of=LoomConfig)
    credentials = providers.Dependency(default=EnvCredentials())

    # --- adapters, one per port (models: one per role) ---
    search = port_adapter("search", config)
    mlops = port_adapter("mlops", config)
    model_builder = port_adapter("model_builders", config)
    code_model = role_model("code", config, credentials)
    feedback_model = role_model("feedback", config, credentials)

    # --- use-cases (each issue adds its own line here) ---


def build_container(config: LoomConfig, credentials: Any = None) -> Container:
    """A container for `config`; `credentials` is None (environment), a mapping or a callable."""
    source: CredentialSource = as_credential_source(credentials)
    return Container(config=config, credentials=source)
