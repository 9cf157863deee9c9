"""The dependency-injector container: LoomConfig -> adapters -> use-cases. It wires, nothing else.

Adapters are resolved through the registry when first asked for (never at import), so an
unselected backend is never imported. Tests swap any of them with
`container.<provider>.override(providers.Object(fake))`.
"""

from __future__ import annotations

import logging
from typing import Any

from dependency_injector import containers, providers

from loom.application.config import LoomConfig
from loom.application.credentials import CredentialSource, EnvCredentials, as_credential_source
from loom.application.data import Browse, Ingest
from loom.application.lifecycle.deploy import DeploySolution
from loom.application.lifecycle.pipeline import RunPipeline
from loom.application.lifecycle.profile import BuildFeatures, ProfileDataset
from loom.application.lifecycle.report import CheckOps, WriteReport
from loom.application.lifecycle.schedule import SchedulePipeline
from loom.application.lifecycle.validate import ValidateSolution
from loom.application.plan_verbs import PlanVerbs
from loom.application.run_search import RunSearch
from loom.application.train_model import TrainModel
from loom.entrypoints import registry

# A library never prints: without this, Python's last-resort handler writes loom's WARNINGs to
# stderr when the host configured no logging. Every use of Loom's use-cases goes through this
# container (CLI and loom.api alike); kept out of `loom/__init__` so `loom --help` stays light.
logging.getLogger("loom").addHandler(logging.NullHandler())


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
    model_classes = providers.Object(registry.model_class)  # name -> adapter class, for preflight
    plan_verbs = providers.Factory(
        PlanVerbs, config=config, model=feedback_model.provider, credentials=credentials, model_classes=model_classes,
    )
    ingest = providers.Factory(Ingest, mlops)
    browse = providers.Factory(Browse, mlops)
    train_model = providers.Factory(TrainModel, config, model_builder)
    run_search = providers.Factory(  # model ports passed as factories: a keyless brain never builds them
        RunSearch, config=config, search=search, executor=mlops,
        code_model=code_model.provider, feedback_model=feedback_model.provider, credentials=credentials,
        model_classes=model_classes,
    )
    profile_dataset = providers.Factory(ProfileDataset, mlops)
    build_features = providers.Factory(BuildFeatures, mlops)
    validate_solution = providers.Factory(ValidateSolution, mlops)
    write_report = providers.Factory(WriteReport, mlops)
    check_ops = providers.Factory(CheckOps, mlops)
    deploy_solution = providers.Factory(DeploySolution, mlops)
    run_pipeline = providers.Factory(RunPipeline, mlops, ingest, run_search.provider)
    schedule_pipeline = providers.Factory(SchedulePipeline, mlops)


def build_container(config: LoomConfig, credentials: Any = None) -> Container:
    """A container for `config`; `credentials` is None (environment), a mapping or a callable."""
    source: CredentialSource = as_credential_source(credentials)
    return Container(config=config, credentials=source)
