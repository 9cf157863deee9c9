"""The model-role provider rule (DESIGN.md §3) as a matrix, and the provider flags helper."""

from __future__ import annotations

import pytest

from loom.application.config import LoomConfig
from loom.application.provider_flags import provider_overrides


@pytest.mark.parametrize(
    ("env", "flags", "expected"),
    [
        ({}, {}, ("anthropic-api", "anthropic-api")),
        ({"LOOM_API_BASE": "http://127.0.0.1:8088"}, {}, ("anthropic-api", "anthropic-api")),
        ({"LOOM_API_BASE": "http://localhost:9000"}, {}, ("anthropic-api", "anthropic-api")),
        ({"LOOM_API_BASE": "http://[::1]:8088"}, {}, ("anthropic-api", "anthropic-api")),
        ({"LOOM_API_BASE": "https://loom.example.com"}, {}, ("loom-proxy", "loom-proxy")),
        ({"LOOM_PROXY_DEFAULT": "true"}, {}, ("loom-proxy", "loom-proxy")),
        ({"LOOM_PROXY_DEFAULT": "1", "LOOM_API_BASE": "http://127.0.0.1:8088"}, {}, ("loom-proxy", "loom-proxy")),
        ({"LOOM_PROXY_DEFAULT": "false", "LOOM_API_BASE": "http://127.0.0.1:1"}, {}, ("anthropic-api", "anthropic-api")),
        # explicit env wins over the hosted gateway, per role
        ({"LOOM_API_BASE": "https://loom.example.com", "LOOM_CODE_PROVIDER": "nim"}, {}, ("nim", "loom-proxy")),
        ({"LOOM_PROXY_DEFAULT": "yes", "LOOM_FEEDBACK_PROVIDER": "openai-api"}, {}, ("loom-proxy", "openai-api")),
        # explicit flags win over env and the gateway
        ({"LOOM_CODE_PROVIDER": "nim"}, {"model_provider": "openrouter"}, ("openrouter", "openrouter")),
        ({"LOOM_API_BASE": "https://gw.example.com"}, {"model_provider": "anthropic-api"},
         ("anthropic-api", "anthropic-api")),
        ({}, {"model_provider": "nim", "feedback_provider": "openai-api"}, ("nim", "openai-api")),
        ({}, {"code_provider": "Claude-Subscription"}, ("claude-subscription", "anthropic-api")),
        ({"LOOM_FEEDBACK_PROVIDER": "nim"}, {"code_provider": "openai-compat"}, ("openai-compat", "nim")),
    ],
)
def test_role_provider_rule(env: dict[str, str], flags: dict[str, str], expected: tuple[str, str],
                            monkeypatch: pytest.MonkeyPatch, workdir: object) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = LoomConfig.load(flags=provider_overrides(**flags))
    assert (config.role_provider("code")[0], config.role_provider("feedback")[0]) == expected


def test_why_names_the_rule(monkeypatch: pytest.MonkeyPatch, workdir: object) -> None:
    monkeypatch.setenv("LOOM_API_BASE", "https://gw.example.com")
    config = LoomConfig.load(flags=provider_overrides(code_provider="nim"))
    assert config.role_provider("code") == ("nim", "explicit")
    assert config.role_provider("feedback")[1].startswith("hosted gateway")


def test_provider_overrides_only_sets_given_flags() -> None:
    assert provider_overrides() == {}
    assert provider_overrides(None, None, "nim") == {"feedback_provider": "nim"}
    assert provider_overrides(" OpenRouter ") == {"code_provider": "openrouter", "feedback_provider": "openrouter"}
