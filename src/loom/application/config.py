"""LoomConfig: the one source of truth for every setting (DESIGN.md §3).

Precedence, later wins: built-in default < YAML (`--config FILE`) < `.env` < environment < flag.
The layers are pydantic-settings sources; `LoomConfig.load()` also records which layer each
field came from, for `loom config show`. Secrets are never fields (see credentials.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from loom.application.credentials import looks_secret
from loom.domain.errors import ConfigError

# The one place the default LLM model is named: a Claude Sonnet that the locked anthropic SDK lists
# and does not deprecate, with a published list price, so --max-usd counts its calls (README).
DEFAULT_MODEL = "claude-sonnet-4-6"
DEFAULT_API_BASE = "http://127.0.0.1:8088"

# The layers, lowest priority first (what `config show` reports).
LAYERS = ("default", "yaml", "dotenv", "env", "flag")

_active_yaml: ContextVar[Path | None] = ContextVar("loom_yaml_file", default=None)
_active_env_file: ContextVar[Path | None] = ContextVar("loom_env_file", default=None)


def _default_owner() -> str:
    """$USER / $USERNAME, else the login name of this process's uid (a container, cron), else 'unknown'."""
    name = os.environ.get("USER") or os.environ.get("USERNAME")
    if name:
        return name
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name or "unknown"
    except (ImportError, KeyError, OSError):  # no pwd module (Windows), or a uid with no passwd entry
        return "unknown"


def _alias(field: str, *env: str) -> AliasChoices:
    """Accept the field name (YAML, flags) and the given env-var names (env, .env)."""
    return AliasChoices(field, *env)


class LoomConfig(BaseSettings):
    """Every Loom setting. Env names are LOOM_<FIELD> unless an alias says otherwise."""

    model_config = SettingsConfigDict(
        env_prefix="LOOM_",
        extra="ignore",
        populate_by_name=True,
        validate_default=True,
        frozen=True,
    )

    # --- ports (DESIGN.md §2) ---
    search_provider: str = Field("aide", description="search brain: aide | baseline (keyless)")
    mlops_provider: str = Field("metaflow", description="execution/MLOps: metaflow | local")
    model_builder_provider: str = Field("nemo", description="training engine: nemo | local (CPU)")
    code_provider: str | None = Field(None, description="LLM provider that writes solutions")
    feedback_provider: str | None = Field(None, description="LLM provider for the judge")
    code_model: str = Field(DEFAULT_MODEL, description="code model name")
    feedback_model: str | None = Field(None, description="judge model name (unset: the code model)")
    code_temperature: float = Field(0.5, ge=0, le=2, description="code writer temperature")
    feedback_temperature: float = Field(0.5, ge=0, le=2, description="judge temperature")

    # --- LLM endpoints (never keys) ---
    model_base_url: str | None = Field(None, description="endpoint for openai-compat")
    anthropic_base_url: str | None = Field(
        None,
        validation_alias=_alias("anthropic_base_url", "ANTHROPIC_BASE_URL"),
        description="Anthropic API endpoint (anthropic-api, and the gateway's upstream)",
    )
    openai_base_url: str | None = Field(
        None,
        validation_alias=_alias("openai_base_url", "OPENAI_BASE_URL"),
        description="OpenAI-compatible endpoint used by nim (default NVIDIA's integrate endpoint)",
    )
    openrouter_base_url: str = Field(
        "https://openrouter.ai/api/v1", description="OpenRouter endpoint (OpenAI-compatible chat)"
    )
    api_base: str = Field(DEFAULT_API_BASE, description="gateway address for loom-proxy")
    proxy_default: bool = Field(False, description="make loom-proxy the default model provider")
    nim_tools: bool = Field(True, description="nim judge route supports tool calls")
    compat_tools: bool = Field(True, description="openai-compat judge route supports tool calls")
    llm_max_retries: int = Field(3, ge=0, le=10, description="retries on 429/5xx/timeouts")
    llm_timeout: float = Field(300.0, gt=0, description="seconds per LLM call")

    # --- search budget ---
    budget_steps: int = Field(10, ge=1, description="search steps (LLM call + real execution)")
    budget_num_drafts: int = Field(5, ge=1, description="initial drafts before improving")
    budget_debug_prob: float = Field(0.5, ge=0, le=1, description="chance to debug a buggy node")
    budget_max_debug_depth: int = Field(3, ge=0, description="max consecutive debug attempts")
    exec_timeout: float = Field(600.0, gt=0, description="seconds per candidate execution")
    exec_memory_mb: int | None = Field(
        None, ge=64, description="memory cap per candidate in MB (unset: min(8 GiB, half the RAM))"
    )
    exec_cpus: int | None = Field(
        None, ge=1, le=256, description="CPU threads per candidate (BLAS/OpenMP pools; unset: cores / workers)"
    )
    exec_warm: bool = Field(
        True, description="fork candidates from a warm interpreter with the ML stack imported (off: a clean one each)"
    )
    sandbox: str = Field("auto", description="where candidates run: auto (bwrap when it works, else landlock when the kernel has it) | bwrap | landlock | none")
    sandbox_network: bool = Field(False, description="let sandboxed candidates use the network (on | off)")
    sandbox_env: str | None = Field(
        None, description="extra env var NAMES passed into the sandbox, comma-separated (never secrets)"
    )
    max_usd: float | None = Field(None, ge=0, description="spend cap in USD (run, train)")
    workers: int = Field(1, ge=1, le=64, description="candidates evaluated concurrently")
    time_budget: float | None = Field(
        None, gt=0, description="wall-clock seconds for a search: no candidate starts past it (unset: --steps only)"
    )
    refit: bool = Field(
        True, description="deliver the chosen solution refit on every labelled row (after its estimate; off: as chosen)")
    holdout_fraction: float | None = Field(
        None, gt=0, lt=0.9,
        description="sealed share of train (selection + final slices); unset: by rows (0.3 under 1,000, else 0.2)")
    leaks: Literal["warn", "drop", "fail"] = Field(
        "warn", description="leak screen before the first candidate: warn | drop (the flagged columns) | fail (exit 1)")
    seed: int = Field(0, description="random seed for splits and builders")

    # --- MLOps / Metaflow ---
    metaflow_profile: str | None = Field(
        None,
        validation_alias=_alias("metaflow_profile", "METAFLOW_PROFILE"),
        description="the user's own Metaflow profile (unset: embedded local datastore)",
    )
    metaflow_with: str | None = Field(None, description="Metaflow --with for candidate runs (kubernetes, batch)")
    python: str = Field(sys.executable, description="interpreter that runs flows and candidates")

    # --- model builder ---
    gpu_target: str | None = Field(None, description="GPU target for train --launch (kubernetes|batch|local)")
    gpu_hour_usd: float = Field(4.0, ge=0, description="price of one GPU-hour in USD for train cost plans")
    train_price_table: dict[str, dict[str, float]] | None = Field(
        None,
        description="per-budget overrides of train resources, e.g. {small: {gpus: 2, hours: 3}}"
        " (keys: gpus, hours, max_steps, global_batch_size, local_batch_size, nodes, dim)",
    )

    # --- gateway ---
    proxy_log_path: Path = Field(Path("learnings/proxy_calls.jsonl"), description="gateway call log")
    proxy_rate_limit_rpm: int | None = Field(None, ge=1, description="gateway: requests/minute for keys without their own rpm")
    proxy_max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="request size limit")
    proxy_max_json_depth: int = Field(100, ge=8, le=500, description="gateway: deepest JSON nesting accepted")

    # --- identity and storage ---
    home: Path = Field(Path(".loom"), description="where runs, corpus and the local datastore live")
    tenant: str = Field("local", description="tenant recorded on runs and corpus records")
    owned_by: str = Field(default_factory=_default_owner, description="owner recorded on runs")

    @field_validator("home", "proxy_log_path")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("sandbox")
    @classmethod
    def _sandbox_choice(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("auto", "bwrap", "landlock", "none"):
            raise ValueError("choose one of auto, bwrap, landlock, none")
        return value

    @field_validator("sandbox_env")
    @classmethod
    def _no_secret_passed(cls, value: str | None) -> str | None:
        from loom.application.ports.sandbox import passthrough_names

        passthrough_names(value)  # a secret-looking name: a config error now, not inside a candidate's flow
        return value

    @field_validator("search_provider", "mlops_provider", "model_builder_provider",
                     "code_provider", "feedback_provider")
    @classmethod
    def _provider_name(cls, value: str | None) -> str | None:
        return value.strip().lower() if isinstance(value, str) else value

    # ---- sources -------------------------------------------------------------------------
    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Highest priority first: flag > env > .env > YAML > default.
        return (
            init_settings,
            env_settings,
            DotEnvSettingsSource(settings_cls, env_file=_active_env_file.get()),
            StrictYamlSource(settings_cls, _active_yaml.get()),
        )

    # ---- derived values ------------------------------------------------------------------
    def hosted_gateway(self) -> bool:
        """True when LOOM_API_BASE points off this machine or LOOM_PROXY_DEFAULT is truthy."""
        return self.proxy_default or not _is_loopback(self.api_base)

    def role_provider(self, role: str) -> tuple[str, str]:
        """(provider name, why) for the `code` or `feedback` role, per DESIGN.md §3."""
        explicit = self.code_provider if role == "code" else self.feedback_provider
        if role not in ("code", "feedback"):
            raise ValueError(f"unknown role {role!r}")
        if explicit:
            return explicit, "explicit"
        if self.hosted_gateway():
            return "loom-proxy", "hosted gateway (LOOM_API_BASE / LOOM_PROXY_DEFAULT)"
        return "anthropic-api", "default"

    def role_model(self, role: str) -> str:
        return self.code_model if role == "code" else (self.feedback_model or self.code_model)

    def role_temperature(self, role: str) -> float:
        return self.code_temperature if role == "code" else self.feedback_temperature

    # ---- loading -------------------------------------------------------------------------
    ENV_FILE: ClassVar[str] = ".env"

    @classmethod
    def load(
        cls,
        *,
        yaml_file: str | Path | None = None,
        env_file: str | Path | None = ENV_FILE,
        flags: Mapping[str, Any] | None = None,
        flag_names: Mapping[str, str] | None = None,
    ) -> "LoomConfig":
        """Build the config from every layer. Raises ConfigError with one line on bad input.

        `flag_names` ({field: "--flag"}): how an error names a bad `flags` value (the CLI's flag
        rather than the field); without it the field is named (the library's overrides)."""
        config, _ = cls.load_with_origins(yaml_file=yaml_file, env_file=env_file, flags=flags, flag_names=flag_names)
        return config

    @classmethod
    def load_with_origins(
        cls,
        *,
        yaml_file: str | Path | None = None,
        env_file: str | Path | None = ENV_FILE,
        flags: Mapping[str, Any] | None = None,
        flag_names: Mapping[str, str] | None = None,
    ) -> tuple["LoomConfig", dict[str, str]]:
        """Like load(), plus {field: layer} naming the layer each value came from."""
        flags = {k: v for k, v in (flags or {}).items() if v is not None}
        unknown = sorted(set(flags) - set(cls.model_fields))
        if unknown:
            raise ConfigError(f"unknown setting '{unknown[0]}'")
        yaml_path = Path(yaml_file) if yaml_file else None
        if yaml_path is not None and not yaml_path.is_file():
            if yaml_path.is_dir():
                raise ConfigError(f"config file {yaml_path} is a directory: pass a YAML file (--config FILE)")
            raise ConfigError(f"config file {yaml_path} does not exist")
        env_path = Path(env_file) if env_file and Path(env_file).is_file() else None
        tokens = (_active_yaml.set(yaml_path), _active_env_file.set(env_path))
        try:
            layers = {
                "yaml": StrictYamlSource(cls, yaml_path)(),
                "dotenv": DotEnvSettingsSource(cls, env_file=env_path)(),
                "env": EnvSettingsSource(cls)(),
                "flag": dict(flags),
            }
            try:
                config = cls(**flags)
            except ValidationError as exc:
                raise _config_error(exc, layers, yaml_path, env_path, flag_names or {}) from None
        finally:
            _active_yaml.reset(tokens[0])
            _active_env_file.reset(tokens[1])
        origins = {}
        for name in cls.model_fields:
            origins[name] = next(
                (layer for layer in reversed(LAYERS[1:]) if name in layers[layer]), "default"
            )
        return config, origins

    def public_dict(self) -> dict[str, Any]:
        """Every field as JSON-safe values (no secrets exist on this object; a URL's password is ***)."""
        from loom.domain.urls import hide_passwords

        return hide_passwords(self.model_dump(mode="json"))


class StrictYamlSource(PydanticBaseSettingsSource):
    """The YAML layer: unknown keys and secrets-in-YAML are one-line errors naming the file."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self.path = path
        self._data = self._read()

    def _read(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        except UnicodeDecodeError as exc:
            raise ConfigError(f"config file {self.path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
                              f"offset {exc.start}): save it as UTF-8") from None
        except (OSError, yaml.YAMLError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigError(f"cannot read config file {self.path}: {first}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"config file {self.path} must be a mapping of setting: value")
        fields = self.settings_cls.model_fields
        for key in data:
            if key in fields:
                continue  # no setting is a secret (credentials.py)
            secret = (f" (no setting is a secret: if it is one, export {str(key).upper()} in the environment)"
                      if looks_secret(str(key)) else "")
            raise ConfigError(f"unknown key '{key}' in {self.path}{secret}; known keys: {', '.join(sorted(fields))}")
        return data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def _config_error(
    exc: ValidationError,
    layers: dict[str, dict[str, Any]],
    yaml_path: Path | None,
    env_path: Path | None,
    flag_names: Mapping[str, str],
) -> ConfigError:
    err = exc.errors()[0]
    key = str(err["loc"][0]) if err.get("loc") else "?"
    layer = next((name for name in reversed(LAYERS[1:]) if key in layers[name]), "default")
    if layer == "flag" and key in flag_names:  # a CLI flag: name the flag the user typed, not the field
        value = layers["flag"][key]
        return ConfigError(f"bad value {value!r} for {flag_names[key]}: {err['msg']}")
    where = {
        "yaml": f"in {yaml_path}",
        "dotenv": f"in {env_path}",
        "env": f"in the environment ({_env_name(key)})",
        "flag": "from the command line",
        "default": "(default)",
    }[layer]
    value = layers.get(layer, {}).get(key)
    shown = f" {value!r}" if value is not None and layer != "default" else ""
    return ConfigError(f"bad value{shown} for '{key}' {where}: {err['msg']}")


def _env_name(field: str) -> str:
    alias = LoomConfig.model_fields[field].validation_alias if field in LoomConfig.model_fields else None
    if isinstance(alias, AliasChoices):
        names = [c for c in alias.choices if isinstance(c, str) and c.isupper()]
        if names:
            return names[0]
    return f"LOOM_{field.upper()}"


def env_name(field: str) -> str:
    """The environment variable that sets `field` (for help and messages)."""
    return _env_name(field)


def _is_loopback(url: str) -> bool:
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")
