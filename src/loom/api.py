"""Loom as a library: the CLI's use-cases, callable from a service, a scheduler or a notebook.

    from loom.api import Loom

    loom = Loom({"search_provider": "baseline", "mlops_provider": "local", "home": "/srv/loom"})
    result = loom.run(data="examples/churn", goal="Predict churn", metric="Maximize ROC-AUC",
                      steps=3, on_event=lambda event: queue.put(event))
    result.status, result.best.metric, result.best.selection, result.estimate, result.paths["best_solution"]

The contract, for every method of `Loom`:

- It returns the typed domain result (`SearchResult`, `EdaResult`, `TrainOutcome`, ...) and
  never prints, never calls `sys.exit`, never reads `sys.argv`.
- Bad input, bad configuration, missing keys and gate refusals raise `LoomError` subclasses
  (`UsageError`, `ConfigError`, `MissingCredentialError`, `RefusedError`, ...), each carrying
  the one actionable line (`err.line()`) and the CLI's exit code (`err.exit_code`).
- Configuration is a `LoomConfig`, or a mapping applied over the built-in defaults ONLY (no
  environment, `.env` or YAML is read: what you pass is what runs). `Loom.from_env()` loads
  with the CLI's precedence instead (default < YAML < .env < environment < overrides).
- Secrets are never configuration. `credentials=None` reads the process environment at the
  point of use (as the CLI does); a mapping `{"ANTHROPIC_API_KEY": ...}` or a callable
  `name -> value | None` (a vault client) lets a service keep keys out of `os.environ`.
- Progress: pass `on_event=` (a callable `Event -> None` or an `Observer`); the CLI's progress
  bars use the same port. Events: run_started, node_started, llm_call, node_finished
  (kind, metric, holdout_metric = the selection-slice grade, tokens, $, pathspec), stage, run_finished.
- Threads: every call builds its own container (its own adapters), and the AIDE brain routes
  its module-level hooks per run, so two searches may run at once in one process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from pydantic import ValidationError

from loom.application.config import LoomConfig
from loom.application.credentials import CredentialSource, as_credential_source, looks_secret
from loom.application.ports.mlops import DatasetInfo, RunDetail, RunInfo
from loom.application.ports.observer import CallbackObserver, Event, NullObserver, Observer
from loom.application.ports.search import SearchStopped
from loom.application.train_model import TrainOutcome
from loom.domain.checks import Check
from loom.domain.errors import (
    ConfigError,
    ExecutionFailed,
    LoomError,
    MissingCredentialError,
    RefusedError,
    UnknownProviderError,
    UsageError,
)
from loom.domain.lifecycle import (
    DeployResult,
    EdaResult,
    FeaturesResult,
    OpsResult,
    PipelineResult,
    ReportResult,
    StageResult,
    ValidateResult,
)
from loom.domain.search import Node, SearchResult
from loom.domain.status import Status

if TYPE_CHECKING:
    from loom.entrypoints.container import Container

__all__ = [
    "Loom", "config_from", "load_config",
    "Credentials", "EventSink", "Event", "Observer", "CallbackObserver",
    "SearchResult", "Node", "Status", "TrainOutcome", "DatasetInfo", "RunInfo", "RunDetail", "Check",
    "EdaResult", "FeaturesResult", "ValidateResult", "ReportResult", "OpsResult", "DeployResult",
    "PipelineResult", "StageResult",
    "LoomError", "UsageError", "ConfigError", "UnknownProviderError", "MissingCredentialError",
    "RefusedError", "ExecutionFailed",
]

#: Where secrets come from: None (the environment, read at the point of use), a mapping of
#: env-var names to values, a callable `name -> value | None`, or a `CredentialSource`.
Credentials: TypeAlias = CredentialSource | Mapping[str, str] | Callable[[str], "str | None"] | None
#: Where progress goes: a callable `Event -> None` or an `Observer` (None: nowhere).
EventSink: TypeAlias = Observer | Callable[[Event], None] | None
ConfigLike: TypeAlias = LoomConfig | Mapping[str, Any] | None


# ---- configuration ------------------------------------------------------------------------------
class _DefaultsOnly(LoomConfig):
    """LoomConfig validated from the given values and the built-in defaults, no other layer."""

    @classmethod
    def settings_customise_sources(cls, settings_cls: Any, init_settings: Any, *args: Any, **kwargs: Any) -> Any:
        return (init_settings,)


def config_from(values: Mapping[str, Any] | None = None, /, **overrides: Any) -> LoomConfig:
    """A LoomConfig from `values` (+ keyword overrides) over the built-in defaults only.

    Keys are LoomConfig field names (`loom config show` lists them). Nothing is read from the
    environment, `.env` or YAML. Raises ConfigError on an unknown key, a secret-looking key
    (secrets go in `credentials=`), or a bad value.
    """
    data = {**dict(values or {}), **overrides}
    return _validated(data, explicit=set(data))


def _validated(data: Mapping[str, Any], explicit: set[str]) -> LoomConfig:
    """Validate `data` over the defaults; `explicit` becomes model_fields_set (what was named)."""
    fields = LoomConfig.model_fields
    for key in data:
        if key not in fields and looks_secret(str(key)):
            raise ConfigError(f"'{key}' looks like a secret; secrets are never configuration: "
                              "pass them as Loom(credentials={...}) or in the environment")
        if key not in fields:
            raise ConfigError(f"unknown setting '{key}'; known settings: {', '.join(sorted(fields))}")
    try:
        checked = _DefaultsOnly(**data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err.get("loc") else "?"
        raise ConfigError(f"bad value {data.get(key)!r} for '{key}': {err['msg']}") from None
    return LoomConfig.model_construct(_fields_set=explicit, **dict(checked))


def load_config(*, yaml_file: str | os.PathLike[str] | None = None,
                env_file: str | os.PathLike[str] | None = LoomConfig.ENV_FILE, **overrides: Any) -> LoomConfig:
    """A LoomConfig with the CLI's precedence: default < YAML < .env < environment < overrides.

    `overrides` play the role of command-line flags (None values are ignored). Raises
    ConfigError with one line naming the layer of a bad value.
    """
    return LoomConfig.load(yaml_file=None if yaml_file is None else Path(yaml_file),
                           env_file=None if env_file is None else Path(env_file), flags=overrides)


def _as_config(config: ConfigLike) -> LoomConfig:
    if isinstance(config, LoomConfig):
        return config
    if config is None or isinstance(config, Mapping):
        return config_from(config)
    raise UsageError(f"config must be a LoomConfig or a mapping, not {type(config).__name__}")


def _as_observer(sink: EventSink) -> Observer | None:
    if sink is None:
        return None
    if isinstance(sink, Observer):
        return sink
    if callable(sink):
        return CallbackObserver(sink)
    raise UsageError(f"on_event must be a callable or an Observer, not {type(sink).__name__}")


def _absolute(path: str | os.PathLike[str] | None) -> Path | None:
    """Paths are made absolute when the call starts: a later chdir by another thread cannot move them."""
    return None if path is None else Path(path).expanduser().absolute()


class _Stoppable:
    """Forwards events; once `stop` is set, the next in-run event stops the run (INTERRUPTED)."""

    def __init__(self, inner: Observer, stop: threading.Event) -> None:
        self._inner, self._stop = inner, stop

    def notify(self, event: Event) -> None:
        self._inner.notify(event)
        if self._stop.is_set() and event.kind not in ("run_started", "run_finished"):
            raise SearchStopped("stopped by the caller")


# ---- the facade ---------------------------------------------------------------------------------
class Loom:
    """Loom's use-cases bound to one configuration and one credentials source.

    `Loom(config, credentials=None, on_event=None)`:
    - `config`: a LoomConfig, or a mapping of LoomConfig fields over the built-in defaults
      (None: all defaults). See also `Loom.from_env()`.
    - `credentials`: None (environment at the point of use), a mapping, a callable, or a
      CredentialSource. Kept on this object, never on the config, never in any repr or artifact.
    - `on_event`: the default progress sink for long calls (each call may pass its own).

    A Loom object is cheap and immutable; share it between threads. Each call builds its own
    container, so concurrent calls share no adapter state.
    """

    def __init__(self, config: ConfigLike = None, *, credentials: Credentials = None,
                 on_event: EventSink = None) -> None:
        from loom.entrypoints.threadsafe_ast import install

        install()  # searches run in threads; see loom.entrypoints.threadsafe_ast
        self._config = _as_config(config)
        try:
            self._credentials = as_credential_source(credentials)
        except TypeError as exc:
            raise UsageError(f"credentials must be a mapping, a callable or a CredentialSource ({exc})") from None
        self._observer = _as_observer(on_event)

    @classmethod
    def from_env(cls, *, yaml_file: str | os.PathLike[str] | None = None,
                 env_file: str | os.PathLike[str] | None = LoomConfig.ENV_FILE,
                 credentials: Credentials = None, on_event: EventSink = None, **overrides: Any) -> Loom:
        """A Loom configured like the CLI: default < YAML < .env < environment < `overrides`."""
        config = load_config(yaml_file=yaml_file, env_file=env_file, **overrides)
        return cls(config, credentials=credentials, on_event=on_event)

    def __repr__(self) -> str:
        c = self._config
        return (f"Loom(search={c.search_provider!r}, mlops={c.mlops_provider!r}, "
                f"home={str(c.home)!r}, credentials={self._credentials!r})")

    @property
    def config(self) -> LoomConfig:
        """The resolved configuration (frozen; holds no secrets)."""
        return self._config

    def with_config(self, **overrides: Any) -> Loom:
        """A copy with some settings changed (same credentials and event sink)."""
        values = {**self._config.model_dump(), **overrides}
        config = _validated(values, explicit=set(self._config.model_fields_set) | set(overrides))
        return Loom(config, credentials=self._credentials, on_event=self._observer)

    def container(self) -> Container:
        """A fresh dependency-injector container for this config (to override adapters in tests)."""
        from loom.entrypoints.container import build_container

        return build_container(self._config, self._credentials)

    def _events(self, on_event: EventSink, stop: threading.Event | None = None) -> Observer:
        observer = _as_observer(on_event) or self._observer or NullObserver()
        return _Stoppable(observer, stop) if stop is not None else observer

    # ---- search --------------------------------------------------------------------------------
    def run(self, *, data: str | os.PathLike[str] | None = None, dataset: str | None = None,
            goal: str | None = None, metric: str | None = None, metric_name: str | None = None,
            steps: int | None = None, experiment_id: str | None = None, resume: str | None = None,
            on_event: EventSink = None, stop: threading.Event | None = None, target: str | None = None,
            time_column: str | None = None, leaks: str | None = None,
            group_column: str | None = None) -> SearchResult:
        """Search for the best solution (`loom run`); returns the SearchResult.

        `data` is a directory with train.csv and test.csv (+ sample_submission.csv) or one CSV
        file (split like `ingest`); `dataset` an ingested data object (IngestDataset/N, needs
        mlops_provider="metaflow"). `metric` is a sentence with a direction ("Maximize ROC-AUC");
        `steps` overrides budget_steps; `target`, `time_column`, `group_column` and `leaks`
        (warn | drop | fail) are `loom run`'s flags. `result.estimate` is the best's final-slice score with its 95%
        interval; `result.warnings` what to read before trusting it.
        `resume=RUN_ID` continues a saved run with its own search/mlops providers (unless this
        Loom's config names them explicitly). Setting the `stop` event kills the running candidates
        and ends the run with Status.INTERRUPTED (the journal is saved; resume it later).
        The status may be OK, STOPPED_AT_BUDGET, INTERRUPTED or FAILED (no working candidate).
        """
        from loom.application.run_search import RunRequest, resume_overrides

        loom = self
        if resume:
            saved = resume_overrides(self._config.home, resume)
            unset = {k: v for k, v in saved.items() if k not in self._config.model_fields_set}
            loom = self.with_config(**unset) if unset else self
        request = RunRequest(data=_absolute(data), dataset=dataset, goal=goal, metric=metric,
                             metric_name=metric_name, experiment_id=experiment_id, resume=resume, steps=steps,
                             target=target, time_column=time_column, leaks=leaks, group_column=group_column)
        use_case = loom.container().run_search()
        result: SearchResult = use_case(request, observer=self._events(on_event, stop), stop=stop)
        return result

    # ---- data ----------------------------------------------------------------------------------
    def ingest(self, source: str | os.PathLike[str], *, name: str | None = None, target: str | None = None,
               on_progress: Callable[[str], None] | None = None, time_column: str | None = None) -> DatasetInfo:
        """A data dir or one CSV/Parquet file -> a versioned data object (IngestDataset/N)."""
        info: DatasetInfo = self.container().ingest()(Path(source).absolute(), name=name, target=target,
                                                      on_progress=on_progress, time_column=time_column)
        return info

    def datasets(self, limit: int = 50) -> list[DatasetInfo]:
        """The newest data objects (`loom datasets`)."""
        return list(self.container().browse().datasets(limit=limit))

    def runs(self, flow: str | None = None, limit: int = 50) -> list[RunInfo]:
        """The newest runs, of one flow or all (`loom runs`)."""
        return list(self.container().browse().runs(flow=flow, limit=limit))

    def show(self, pathspec: str) -> RunDetail:
        """One run: steps and artifacts (`loom show Flow/N`)."""
        detail: RunDetail = self.container().browse().show(pathspec)
        return detail

    def card(self, pathspec: str) -> list[Path]:
        """The HTML card files of a run (`loom card Flow/N`)."""
        return list(self.container().browse().card(pathspec))

    # ---- lifecycle -----------------------------------------------------------------------------
    def eda(self, dataset: str, *, target: str | None = None) -> EdaResult:
        """Profile a data object: stats, correlations, leakage flags (EdaFlow/N)."""
        result: EdaResult = self.container().profile_dataset()(dataset, target=target)
        return result

    def features(self, dataset: str, *, from_eda: str | None = None, recipe: str = "minimal",
                 target: str | None = None) -> FeaturesResult:
        """A derived feature set as a new data object (FeaturesFlow/N), leaky columns dropped."""
        result: FeaturesResult = self.container().build_features()(
            dataset, from_eda=from_eda, recipe=recipe, target=target)
        return result

    def validate(self, dataset: str, *, solution: str | None = None, target: str | None = None,
                 sensitive: str | None = None, metric: str | None = None,
                 metric_name: str | None = None, positive: str | None = None) -> ValidateResult:
        """CV + sealed holdout + calibration + slices + leakage -> a VERDICT (ValidateFlow/N), graded
        by `metric` (a sentence, as `run` takes it) or `metric_name` (default: ROC-AUC / accuracy / RMSE)."""
        result: ValidateResult = self.container().validate_solution()(
            dataset, solution=solution, target=target, sensitive=sensitive, metric=metric, metric_name=metric_name,
            positive=positive)
        return result

    def report(self, *, experiment: str | None = None, runs: str | list[str] | None = None) -> ReportResult:
        """A model card (HTML + Markdown) over an experiment or a list of pathspecs."""
        result: ReportResult = self.container().write_report()(experiment=experiment, runs=runs)
        return result

    def ops(self, *, flow: str | None = None, experiment: str | None = None, dataset: str | None = None,
            reference: str | None = None) -> OpsResult:
        """Run health of a flow/experiment, and drift of a batch vs a reference data object."""
        result: OpsResult = self.container().check_ops()(
            flow=flow, experiment=experiment, dataset=dataset, reference=reference)
        return result

    def deploy(self, *, validate: str | None = None, solution: str | None = None, apply: bool = False,
               score: str | None = None, serve: bool = False, floor: float | None = None) -> DeployResult:
        """Gate, plan, and (apply=True) batch-score and/or stage serving. Refusal: RefusedError."""
        result: DeployResult = self.container().deploy_solution()(
            validate=validate, solution=solution, apply=apply, score=score, serve=serve, floor=floor)
        return result

    def serving_app(self, deployment: DeployResult) -> Any:
        """The ASGI app serving an applied deployment (run it with your own server)."""
        return self.container().deploy_solution().serving_app(deployment)

    def pipeline(self, *, dataset: str | None = None, source: str | os.PathLike[str] | None = None,
                 goal: str | None = None, metric: str | None = None, target: str | None = None,
                 experiment_id: str | None = None, metric_name: str | None = None,
                 on_stage: Callable[[StageResult], None] | None = None,
                 stop: threading.Event | None = None) -> PipelineResult:
        """ingest -> eda -> features -> run -> validate -> report; stops at the first failed stage.

        Setting `stop` stops the run stage as Ctrl-C does (journal saved, resumable) and skips the
        stages after the current one: the result is INTERRUPTED.
        """
        result: PipelineResult = self.container().run_pipeline()(
            dataset=dataset, source=_absolute(source), goal=goal, metric=metric, metric_name=metric_name,
            target=target, experiment_id=experiment_id, on_stage=on_stage, stop=stop)
        return result

    # ---- model builder -------------------------------------------------------------------------
    def train(self, dataset: str, *, objective: str = "next-event", budget: str = "probe",
              capability: str = "pretrain", backbone: str | None = None, metric: str | None = None,
              entity: str | None = None, time: str | None = None, launch: bool = False,
              max_usd: float | None = None, stop: threading.Event | None = None) -> TrainOutcome:
        """Build a backbone behind the cost-plan gate; the outcome always carries the plan.

        A refusal by the gate (no GPU target, over `max_usd`) is returned as the outcome's
        status (REFUSED_*), not raised: check `outcome.status.exit_code`. Setting `stop` kills a
        build under way (its flow, or a GPU launch): the outcome is INTERRUPTED.
        """
        from loom.domain.training import TrainIntent

        intent = TrainIntent.of(dataset, objective, budget, capability, backbone=backbone, metric=metric,
                                entity=entity, time=time, seed=self._config.seed)
        outcome: TrainOutcome = self.container().train_model()(intent, launch=launch, max_usd=max_usd, cancel=stop)
        return outcome

    # ---- readiness -----------------------------------------------------------------------------
    def check_models(self) -> list[Check]:
        """Readiness of the model providers the two roles select (keys, endpoint, judge tools)."""
        from loom.application.preflight import preflight_models
        from loom.entrypoints.registry import model_class

        return preflight_models(self._config, self._credentials, resolve=model_class)
