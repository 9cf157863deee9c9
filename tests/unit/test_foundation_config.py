"""LoomConfig precedence: default < YAML < .env < environment < flag, and the reported layer."""

from __future__ import annotations

from pathlib import Path

import pytest

from loom.application.config import DEFAULT_MODEL, LoomConfig
from loom.domain.errors import ConfigError


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_default_layer(workdir: Path) -> None:
    config, origins = LoomConfig.load_with_origins()
    assert config.code_model == DEFAULT_MODEL
    assert config.search_provider == "aide" and config.mlops_provider == "metaflow"
    assert origins["code_model"] == "default"


def test_yaml_beats_default(workdir: Path) -> None:
    yml = _write(workdir / "c.yaml", "budget_steps: 4\n")
    config, origins = LoomConfig.load_with_origins(yaml_file=yml)
    assert (config.budget_steps, origins["budget_steps"]) == (4, "yaml")


def test_dotenv_beats_yaml(workdir: Path) -> None:
    yml = _write(workdir / "c.yaml", "budget_steps: 4\n")
    _write(workdir / ".env", "LOOM_BUDGET_STEPS=5\n")
    config, origins = LoomConfig.load_with_origins(yaml_file=yml)
    assert (config.budget_steps, origins["budget_steps"]) == (5, "dotenv")


def test_env_beats_dotenv(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(workdir / ".env", "LOOM_BUDGET_STEPS=5\n")
    monkeypatch.setenv("LOOM_BUDGET_STEPS", "6")
    config, origins = LoomConfig.load_with_origins()
    assert (config.budget_steps, origins["budget_steps"]) == (6, "env")


def test_flag_beats_env(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOM_BUDGET_STEPS", "6")
    config, origins = LoomConfig.load_with_origins(flags={"budget_steps": 7})
    assert (config.budget_steps, origins["budget_steps"]) == (7, "flag")


def test_non_prefixed_env_names(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAFLOW_PROFILE", "team")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9/")
    config, origins = LoomConfig.load_with_origins()
    assert config.metaflow_profile == "team" and origins["metaflow_profile"] == "env"
    assert config.anthropic_base_url == "http://127.0.0.1:9/"


def test_loom_python_defaults_to_running_interpreter(workdir: Path) -> None:
    import sys

    assert LoomConfig.load().python == sys.executable


def test_unknown_yaml_key_names_key_and_file(workdir: Path) -> None:
    yml = _write(workdir / "bad.yaml", "budget_stepz: 3\n")
    with pytest.raises(ConfigError) as err:
        LoomConfig.load(yaml_file=yml)
    assert "budget_stepz" in str(err.value) and "bad.yaml" in str(err.value)


def test_bad_yaml_value_names_key_and_file(workdir: Path) -> None:
    yml = _write(workdir / "bad.yaml", "workers: many\n")
    with pytest.raises(ConfigError) as err:
        LoomConfig.load(yaml_file=yml)
    assert "'workers'" in str(err.value) and "bad.yaml" in str(err.value)


def test_bad_env_value_names_the_variable(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOM_BUDGET_DEBUG_PROB", "2.5")
    with pytest.raises(ConfigError) as err:
        LoomConfig.load()
    assert "LOOM_BUDGET_DEBUG_PROB" in str(err.value)


def test_secret_in_yaml_is_refused(workdir: Path) -> None:
    yml = _write(workdir / "s.yaml", "anthropic_api_key: sk-ant-xxxxxxxx\n")
    with pytest.raises(ConfigError) as err:
        LoomConfig.load(yaml_file=yml)
    assert "secret" in str(err.value) and "ANTHROPIC_API_KEY" in str(err.value)


def test_no_secret_fields() -> None:
    from loom.application.credentials import looks_secret

    assert not [name for name in LoomConfig.model_fields if looks_secret(name)]


@pytest.mark.parametrize(
    ("env", "explicit", "expected"),
    [
        ({}, None, "anthropic-api"),
        ({"LOOM_API_BASE": "http://127.0.0.1:8088"}, None, "anthropic-api"),
        ({"LOOM_API_BASE": "http://localhost:9000"}, None, "anthropic-api"),
        ({"LOOM_API_BASE": "https://gateway.example.com"}, None, "loom-proxy"),
        ({"LOOM_PROXY_DEFAULT": "1"}, None, "loom-proxy"),
        ({"LOOM_API_BASE": "https://gateway.example.com"}, "nim", "nim"),
        ({"LOOM_PROXY_DEFAULT": "true"}, "openai-api", "openai-api"),
    ],
)
def test_role_provider_default_rule(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], explicit: str | None, expected: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    flags = {"code_provider": explicit, "feedback_provider": explicit}
    config = LoomConfig.load(flags=flags)
    assert config.role_provider("code")[0] == expected
    assert config.role_provider("feedback")[0] == expected
