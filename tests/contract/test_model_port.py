"""The model-port contract: every registered LLM provider passes the same suite unchanged.

Each provider talks over real HTTP to one fake LLM server per module (the CLI bridges through
the fake `claude` / `codex` executables, which forward to the same server). Decoy keys for
every other provider sit in the environment, so "the right key went upstream" can fail.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loom.application.config import LoomConfig
from loom.application.ports.models import ModelPort
from loom.domain.llm import ChatRequest, ToolSpec
from loom.domain.errors import MissingCredentialError
from loom.domain.model_errors import JudgeError, ModelCallError
from loom.entrypoints import registry
from tests.fakes.llm_server import FakeLLMServer

PROVIDERS = sorted(registry.BUILTINS["models"])

KEYS = {  # every secret a provider might send; each test sets all of them
    "ANTHROPIC_API_KEY": "sk-ant-contract-aaaa1111",
    "OPENAI_API_KEY": "sk-oai-contract-bbbb2222",
    "OPENROUTER_API_KEY": "sk-or-contract-cccc3333",
    "NVIDIA_API_KEY": "nvapi-contract-dddd4444",
    "LOOM_API_KEY": "loom-contract-eeee5555",
}
#: provider -> (the env var whose key must go upstream (None: no key), model, config overrides)
SETUP: dict[str, tuple[str | None, str, dict[str, str]]] = {
    "anthropic-api": ("ANTHROPIC_API_KEY", "claude-sonnet-4-5", {"anthropic_base_url": "{base}"}),
    "openai-api": ("OPENAI_API_KEY", "gpt-4.1-mini", {"openai_base_url": "{base}/v1"}),
    "openrouter": ("OPENROUTER_API_KEY", "anthropic/claude-sonnet-4.5", {"openrouter_base_url": "{base}/v1"}),
    "nim": ("NVIDIA_API_KEY", "meta/llama-3.1-70b-instruct", {"openai_base_url": "{base}/v1"}),
    "openai-compat": ("OPENAI_API_KEY", "local-model", {"model_base_url": "{base}/v1"}),
    "claude-subscription": (None, "claude-sonnet-4-5", {}),
    "codex-subscription": (None, "gpt-5-codex", {}),
    "loom-proxy": ("LOOM_API_KEY", "claude-sonnet-4-5", {"api_base": "{base}"}),
}
REVIEW = ToolSpec(
    name="submit_review",
    description="Submit a review of the execution output.",
    parameters={
        "type": "object",
        "properties": {"is_bug": {"type": "boolean"}, "summary": {"type": "string"},
                       "metric": {"type": ["number", "null"]}, "lower_is_better": {"type": "boolean"}},
        "required": ["is_bug", "summary", "metric", "lower_is_better"],
    },
)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as fake:
        yield fake


@pytest.fixture(params=PROVIDERS)
def provider(request: pytest.FixtureRequest, server: FakeLLMServer, fake_cli_bin: Path,
             monkeypatch: pytest.MonkeyPatch) -> tuple[str, ModelPort, str]:
    """(name, adapter pointed at the fake, model) with every key in the environment."""
    name = request.param
    server.reset()
    for env, value in KEYS.items():
        monkeypatch.setenv(env, value)
    monkeypatch.setenv("FAKE_LLM_URL", server.base_url)
    _, model, overrides = SETUP[name]
    flags: dict[str, Any] = {k: v.format(base=server.base_url) for k, v in overrides.items()}
    config = LoomConfig.load(env_file=None, flags={**flags, "code_provider": name, "feedback_provider": name,
                                                   "code_model": model, "feedback_model": model,
                                                   "llm_max_retries": 2, "llm_timeout": 30})
    adapter = registry.create("models", name, config, credentials=None)
    return name, adapter, model


def _ask(model: str, tool: ToolSpec | None = None, user: str = "Say hello.") -> ChatRequest:
    return ChatRequest(system="You are terse.", user=user, model=model, temperature=0.2, tool=tool)


def test_is_a_model_port(provider: tuple[str, ModelPort, str]) -> None:
    name, adapter, _ = provider
    assert isinstance(adapter, ModelPort) and adapter.name == name


def test_text_completion(provider: tuple[str, ModelPort, str], server: FakeLLMServer) -> None:
    name, adapter, model = provider
    server.push("hello from the contract")
    response = adapter.complete(_ask(model))
    assert response.text == "hello from the contract"
    assert response.tool_args is None
    assert (response.provider, response.model) == (name, model)
    assert "Say hello." in json.dumps(server.requests[-1].body)


def test_judge_tool_call_matches_schema(provider: tuple[str, ModelPort, str], server: FakeLLMServer) -> None:
    _, adapter, model = provider
    response = adapter.complete(_ask(model, REVIEW, "Output:\nValidation metric (accuracy): 0.8125"))
    args = response.tool_args
    assert response.text is None and isinstance(args, dict)
    assert set(REVIEW.parameters["required"]) <= set(args)
    assert args["is_bug"] is False and isinstance(args["summary"], str)
    assert args["metric"] == 0.8125 and isinstance(args["metric"], float)


def test_scripted_tool_args_pass_through(provider: tuple[str, ModelPort, str], server: FakeLLMServer) -> None:
    _, adapter, model = provider
    server.push(tool_args={"is_bug": True, "summary": "crashed", "metric": 1, "lower_is_better": True})
    args = adapter.complete(_ask(model, REVIEW)).tool_args
    assert args == {"is_bug": True, "summary": "crashed", "metric": 1.0, "lower_is_better": True}
    assert isinstance(args["metric"], float)  # an integer metric would read as a bug in AIDE


def test_usage_recorded(provider: tuple[str, ModelPort, str], server: FakeLLMServer) -> None:
    name, adapter, model = provider
    server.push("counted", input_tokens=120, output_tokens=34)
    usage = adapter.complete(_ask(model)).usage
    assert (usage.input_tokens, usage.output_tokens) == (120, 34)
    assert usage.latency_s > 0
    if name in ("anthropic-api", "loom-proxy", "openai-api", "openrouter", "claude-subscription"):
        assert usage.usd is not None and usage.usd > 0  # a known price (or the CLI's own figure)
    else:
        assert usage.usd is None  # unknown price: recorded as unknown, never 0
    assert adapter.total_usage.output_tokens >= 34


def test_retries_on_429(provider: tuple[str, ModelPort, str], server: FakeLLMServer) -> None:
    _, adapter, model = provider
    server.push(status=429)
    server.push("after the rate limit")
    assert adapter.complete(_ask(model)).text == "after the rate limit"
    assert len(server.requests) == 2 and server.pending == 0


def test_malformed_tool_call_retried_once_then_judge_error(provider: tuple[str, ModelPort, str],
                                                           server: FakeLLMServer) -> None:
    _, adapter, model = provider
    server.push(malformed=True)
    assert adapter.complete(_ask(model, REVIEW)).tool_args is not None  # the retry succeeded
    server.reset()
    server.push(malformed=True, times=2)
    with pytest.raises(JudgeError) as err:
        adapter.complete(_ask(model, REVIEW))
    assert err.value.exit_code == 1 and "submit_review" in str(err.value)
    assert len(server.requests) == 2  # retried exactly once


def test_right_key_upstream(provider: tuple[str, ModelPort, str], server: FakeLLMServer) -> None:
    name, adapter, model = provider
    adapter.complete(_ask(model))
    headers = server.requests[-1].headers
    sent = json.dumps(headers)
    expected_env = SETUP[name][0]
    for env, value in KEYS.items():
        if env != expected_env:
            assert value not in sent, f"{name} leaked {env} upstream"
    if expected_env is not None:
        key = KEYS[expected_env]
        assert headers.get("authorization") == f"Bearer {key}" or headers.get("x-api-key") == key


def test_no_secret_in_any_log_line(provider: tuple[str, ModelPort, str], server: FakeLLMServer) -> None:
    from loom.entrypoints.logging import configure_logging

    _, adapter, model = provider
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    configure_logging(debug=True, json=True, stream=stream)
    try:
        server.push(status=429)  # a retry logs too
        adapter.complete(_ask(model))
        server.push(malformed=True)
        adapter.complete(_ask(model, REVIEW))
    finally:
        root.handlers, _ = saved[0], root.setLevel(saved[1])
    text = stream.getvalue()
    assert text.strip(), "the DEBUG capture saw no log line at all"
    for value in KEYS.values():
        assert value not in text



def test_persistent_5xx_is_a_model_call_error_not_a_crash(provider: tuple[str, ModelPort, str],
                                                          server: FakeLLMServer) -> None:
    name, adapter, model = provider
    server.push(status=500, times=3)  # llm_max_retries=2: three tries, all fail
    with pytest.raises(ModelCallError) as err:
        adapter.complete(_ask(model))
    assert err.value.exit_code == 1 and name in str(err.value)
    assert len(server.requests) == 3


def test_rejected_key_is_a_credential_error(provider: tuple[str, ModelPort, str], server: FakeLLMServer) -> None:
    name, adapter, model = provider
    expected_env = SETUP[name][0]
    if expected_env is None:
        pytest.skip("subscription bridges send no key")
    server.push(status=401, retry_after_ms=None)
    with pytest.raises(MissingCredentialError) as err:
        adapter.complete(_ask(model))
    assert err.value.exit_code == 2 and expected_env in str(err.value)
    assert KEYS[expected_env] not in err.value.line()


@pytest.mark.parametrize("name", ["anthropic-api", "openai-compat", "claude-subscription"])
def test_timeout_is_a_model_call_error(name: str, server: FakeLLMServer, fake_cli_bin: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    server.reset()
    for env, value in KEYS.items():
        monkeypatch.setenv(env, value)
    monkeypatch.setenv("FAKE_LLM_URL", server.base_url)
    _, model, overrides = SETUP[name]
    flags = {k: v.format(base=server.base_url) for k, v in overrides.items()}
    config = LoomConfig.load(env_file=None, flags={**flags, "llm_max_retries": 0, "llm_timeout": 0.4})
    server.push("too late", delay=1.2)
    with pytest.raises(ModelCallError):
        registry.create("models", name, config).complete(_ask(model))


@pytest.mark.parametrize("keys_in_env", [True, False], ids=["env-keys", "mapping-keys"])
def test_an_upstream_echoing_the_request_headers_leaks_no_key(provider: tuple[str, ModelPort, str],
                                                                server: FakeLLMServer, keys_in_env: bool,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A 400 whose body repeats the request headers (`Bearer <key>`, `x-api-key: <key>`): the error
    (what reaches stderr, manifest.json, an MCP reply) names the refusal but holds no key."""
    name, adapter, model = provider
    expected_env = SETUP[name][0]
    if not keys_in_env:  # the key comes from the embedding service, so only the adapter knows it
        if expected_env is None:
            pytest.skip("subscription bridges send no key")
        for env in KEYS:
            monkeypatch.delenv(env)
        adapter = registry.create("models", name, adapter.config,
                                  credentials={expected_env: KEYS[expected_env]})
    server.push(status=400, echo_headers=True, error_message="model not allowed for this key")
    with pytest.raises(ModelCallError) as err:
        adapter.complete(_ask(model))
    echoed = json.dumps(server.requests[-1].headers)
    if expected_env is not None:
        assert KEYS[expected_env] in echoed  # the key really went up (the test can fail)
    text = f"{err.value} {err.value.line()} {err.value.hint or ''}"
    assert "400" in text
    if expected_env is not None:  # HTTP routes keep the upstream's reason (the CLIs say their own)
        assert "model not allowed for this key" in text
    for value in KEYS.values():
        assert value[:10] not in text  # not even the start of a key cut short
    assert "Bearer sk" not in text and "x-api-key': 'sk" not in text
