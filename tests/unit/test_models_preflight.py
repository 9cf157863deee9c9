"""Model preflight before any spend: one actionable line on FAIL (exit 2), WARNs never block."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import pytest

from loom.adapters.models import deprecation
from loom.application import preflight
from loom.application.config import DEFAULT_MODEL, LoomConfig
from loom.application.provider_flags import provider_overrides
from loom.domain.checks import Level
from loom.domain.errors import ConfigError, MissingCredentialError
from loom.domain.llm import ChatRequest, ToolSpec
from loom.domain.model_errors import ToolsUnsupportedError
from loom.entrypoints.cli.app import main
from loom.entrypoints.container import build_container
from loom.entrypoints.registry import BUILTINS, model_class
from tests.fakes.llm_server import FakeLLMServer

TOOL = ToolSpec("submit_review", "review", {"type": "object", "properties": {"ok": {"type": "boolean"}},
                                            "required": ["ok"]})


def ready(config: LoomConfig, credentials: object = None) -> list:
    return preflight.require_models_ready(config, credentials, resolve=model_class)


def checks(config: LoomConfig, credentials: object = None) -> list:
    return preflight.preflight_models(config, credentials, resolve=model_class)


def _config(**flags: object) -> LoomConfig:
    return LoomConfig.load(env_file=None, flags=flags)


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preflight, "_warned", set())


def test_missing_key_is_one_line_exit_2() -> None:
    with pytest.raises(MissingCredentialError) as err:
        ready(_config())
    assert err.value.exit_code == 2
    line = err.value.line()
    assert "set ANTHROPIC_API_KEY" in line and "--model-provider" in line and "\n" not in line


def test_key_from_a_mapping_credential_source_counts() -> None:
    warns = ready(_config(), {"ANTHROPIC_API_KEY": "sk-ant-mapped-000000"})
    assert all(w.level is Level.WARN for w in warns)


# A small table given to the code: tests never depend on what the live SDK ships or on today's date.
TABLE = deprecation.parse_table(
    'Model = Union[Literal["claude-old-1", "claude-new-2", "claude-new-2-20990101"], str]',
    'DEPRECATED_MODELS: Dict[str, str] = {\n    "claude-old-1": "November 30th, 2026",\n}',
    source="anthropic SDK 9.9",
)


@pytest.fixture
def small_table(monkeypatch: pytest.MonkeyPatch) -> deprecation.ModelTable:
    monkeypatch.setattr(deprecation, "sdk_table", lambda: TABLE)
    return TABLE


def test_end_of_life_warns_once_naming_both_env_vars(monkeypatch: pytest.MonkeyPatch, small_table: object,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-123456")
    caplog.set_level(logging.WARNING, logger="loom.preflight")
    config = _config(code_model="claude-old-1", feedback_model="claude-old-1")
    first = ready(config)
    second = ready(config)
    eol = [w for w in first if "end-of-life" in w.detail]
    assert len(eol) == 1 and "2026-11-30" in eol[0].detail and "anthropic SDK 9.9" in eol[0].detail
    assert "LOOM_CODE_MODEL" in eol[0].fix and "LOOM_FEEDBACK_MODEL" in eol[0].fix
    assert len(second) == len(first)  # still returned, but ...
    assert sum("end-of-life" in r.getMessage() for r in caplog.records) == 1  # ... logged once


def test_table_reader_and_dates_are_given_not_read_from_today() -> None:
    assert TABLE.known == {"claude-old-1", "claude-new-2"}  # dated names fold into their base
    assert deprecation.end_of_life("claude-old-1", TABLE) == date(2026, 11, 30)
    assert deprecation.end_of_life("claude-new-2", TABLE) is None
    before = deprecation.model_checks({"code": "claude-old-1"}, today=date(2026, 1, 1), table=TABLE)
    after = deprecation.model_checks({"code": "claude-old-1"}, today=date(2027, 1, 1), table=TABLE)
    assert before[0].detail.startswith("reaches") and after[0].detail.startswith("reached")
    assert after[0].fix == "set LOOM_CODE_MODEL to a newer model"
    assert deprecation.parse_date("June 1st, 2026") == date(2026, 6, 1)
    assert deprecation.parse_date("August 22nd, 2026") == date(2026, 8, 22)


def test_unknown_claude_model_warns_other_vendors_do_not() -> None:
    found = deprecation.model_checks({"code": "claude-gone-9", "feedback": "gpt-4.1-mini"}, table=TABLE)
    assert [(c.level, c.subject) for c in found] == [(Level.WARN, "model claude-gone-9")]
    assert "unknown to the installed anthropic SDK 9.9" in found[0].detail
    assert found[0].fix.startswith("set LOOM_CODE_MODEL ")
    assert deprecation.model_checks({"code": "anthropic/claude-new-2"}, table=TABLE) == []  # an OpenRouter slug
    assert deprecation.model_checks({"code": "claude-x"}, table=deprecation.ModelTable()) == []  # no list: silent


def test_a_spend_cap_warns_about_a_model_without_a_price() -> None:
    found = deprecation.model_checks({"code": "claude-new-2"}, table=TABLE, max_usd=5.0)
    assert [c.subject for c in found] == ["price claude-new-2"]
    assert deprecation.model_checks({"code": "claude-new-2"}, table=TABLE) == []


def test_the_reader_parses_the_locked_sdks_real_table() -> None:
    """The one test that reads the installed (locked) SDK: its files still parse, and the default
    model is one it lists and does not deprecate."""
    real = deprecation.sdk_table()
    assert real.source.startswith("anthropic SDK ") and len(real.known) >= 5
    assert real.end_of_life and all(isinstance(d, date) for d in real.end_of_life.values())
    assert real.is_known(DEFAULT_MODEL) is True and real.eol(DEFAULT_MODEL) is None


def test_newer_model_has_no_model_warning(monkeypatch: pytest.MonkeyPatch, small_table: object) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-123456")
    warns = ready(_config(code_model="claude-new-2", feedback_model="claude-new-2"))
    assert not [w for w in warns if w.subject.startswith("model ")]


def test_judge_without_tools_fails_code_role_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NVIDIA_API_KEY", "nvapi-test-123456")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-123456")
    with pytest.raises(ToolsUnsupportedError, match="tool-capable feedback model") as err:
        ready(_config(nim_tools=False, **provider_overrides("nim")))
    assert err.value.exit_code == 2
    ready(_config(nim_tools=False, code_provider="nim"))  # judge is anthropic-api


def test_tools_unsupported_at_call_time_before_any_request(fake_llm: FakeLLMServer,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123456")
    config = _config(compat_tools=False, model_base_url=fake_llm.openai_base_url, **provider_overrides("openai-compat"))
    model = build_container(config).feedback_model()
    with pytest.raises(ToolsUnsupportedError):
        model.complete(ChatRequest("s", "u", "m", tool=TOOL))
    assert fake_llm.requests == []


def test_missing_cli_binary_is_actionable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError, match="install Claude Code"):
        ready(_config(**provider_overrides("claude-subscription")))
    with pytest.raises(ConfigError, match="Codex CLI"):
        ready(_config(**provider_overrides("codex-subscription")))
    model = build_container(_config(**provider_overrides("codex-subscription"))).code_model()
    with pytest.raises(ConfigError, match="not on PATH"):
        model.complete(ChatRequest("s", "u", "gpt-5-codex"))


def test_cli_logged_out(fake_cli_bin: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_CODEX_MODE", "logged-out")
    with pytest.raises(MissingCredentialError, match="codex login"):
        ready(_config(**provider_overrides("codex-subscription")))
    monkeypatch.setenv("FAKE_CLAUDE_MODE", "logged-out")
    model = build_container(_config(**provider_overrides("claude-subscription"))).code_model()
    with pytest.raises(MissingCredentialError) as err:
        model.complete(ChatRequest("s", "u", DEFAULT_MODEL))
    assert "not logged in" in err.value.line() and "/login" in err.value.line()
    found = checks(_config(code_provider="claude-subscription", feedback_model="x"),
                   {"ANTHROPIC_API_KEY": "sk-ant-test-123456"})
    assert [c.level for c in found if c.subject.endswith("claude CLI")] == [Level.PASS]


def test_compat_needs_an_endpoint() -> None:
    with pytest.raises(ConfigError, match="LOOM_MODEL_BASE_URL"):
        ready(_config(**provider_overrides("openai-compat")))


def test_openrouter_slug_tool_support(fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-test-123456")
    base = {"openrouter_base_url": fake_llm.openai_base_url, **provider_overrides("openrouter")}
    with pytest.raises(ToolsUnsupportedError):
        ready(_config(**base, code_model="fake/no-tools-model",
                                               feedback_model="fake/no-tools-model"))
    ok = checks(_config(**base, code_model="openai/gpt-4.1-mini",
                                            feedback_model="openai/gpt-4.1-mini"))
    assert any(c.subject.endswith("judge tools") and c.level is Level.PASS for c in ok)
    fetches = [r for r in fake_llm.requests if r.path.endswith("/models")]
    assert len(fetches) == 1  # the list is cached under LOOM_HOME
    offline = _config(openrouter_base_url="http://127.0.0.1:9/v1", **provider_overrides("openrouter"),
                      code_model="a/b", feedback_model="a/b")
    warns = ready(offline)
    assert any("cannot verify" in w.detail for w in warns)
    with pytest.raises(ConfigError, match="not an OpenRouter slug"):
        ready(_config(**base))  # the default model is not a slug


def test_two_roles_on_two_openai_compatible_endpoints(fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-compat-key-111111")
    monkeypatch.setenv("NVIDIA_API_KEY", "nvapi-nim-key-222222")
    with FakeLLMServer() as other:
        config = _config(code_provider="openai-compat", model_base_url=fake_llm.openai_base_url,
                         feedback_provider="nim", openai_base_url=other.openai_base_url)
        container = build_container(config)
        code, judge = container.code_model(), container.feedback_model()
        assert code.complete(ChatRequest("s", "write code", "m1")).text
        assert judge.complete(ChatRequest("s", "judge", "m2", tool=TOOL)).tool_args == {"ok": False}
        assert [r.headers["authorization"] for r in fake_llm.requests] == ["Bearer sk-compat-key-111111"]
        assert [r.headers["authorization"] for r in other.requests] == ["Bearer nvapi-nim-key-222222"]


def test_container_passes_the_credential_source(fake_llm: FakeLLMServer) -> None:
    config = _config(api_base=fake_llm.base_url, **provider_overrides("loom-proxy"))
    model = build_container(config, {"LOOM_API_KEY": "loom-mapped-key-9999"}).code_model()
    model.complete(ChatRequest(None, "hi", "claude-haiku-4-5"))
    assert fake_llm.requests[-1].headers["authorization"] == "Bearer loom-mapped-key-9999"
    assert fake_llm.requests[-1].headers["x-api-key"] == "loom-mapped-key-9999"


def _doctor(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    with pytest.raises(SystemExit) as exc:
        main(["doctor", "--json"])
    return int(exc.value.code or 0), json.loads(capsys.readouterr().out)


def test_doctor_shows_model_readiness(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                      workdir: Path, small_table: object) -> None:
    code, out = _doctor(capsys)
    models = [c for c in out["checks"] if c["port"] == "models"]
    assert code == 2
    assert {"subject": "ANTHROPIC_API_KEY", "level": "FAIL"}.items() <= next(
        c for c in models if c["subject"] == "ANTHROPIC_API_KEY").items()
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-123456")
    monkeypatch.setenv("LOOM_FEEDBACK_PROVIDER", "loom-proxy")
    monkeypatch.setenv("LOOM_API_KEY", "loom-test-123456")
    monkeypatch.setenv("LOOM_CODE_MODEL", "claude-old-1")
    monkeypatch.setenv("LOOM_FEEDBACK_MODEL", "claude-old-1")
    code, out = _doctor(capsys)
    assert code == 0  # a WARN never blocks
    models = [c for c in out["checks"] if c["port"] == "models"]
    assert {c["provider"] for c in models} == {"anthropic-api", "loom-proxy"}
    assert sum("end-of-life" in c["detail"] for c in models) == 1  # one model, warned once
    assert not [c for c in models if c["level"] == "FAIL"]
    assert "sk-ant-test-123456" not in json.dumps(out)


def test_providers_lists_every_model_provider_with_readiness(capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch, workdir: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123456")
    with pytest.raises(SystemExit):
        main(["providers", "--json"])
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["providers"] if r["port"] == "models"}
    assert set(rows) == set(BUILTINS["models"])
    assert rows["anthropic-api"]["selected"] and not rows["anthropic-api"]["ready"]
    assert rows["openai-api"]["ready"] and not rows["openai-api"]["selected"]
    assert not rows["openai-compat"]["ready"]  # no LOOM_MODEL_BASE_URL


@pytest.mark.parametrize("provider", ["claude-subscription", "codex-subscription"])
def test_subscription_clis_never_see_api_keys(provider: str, fake_cli_bin: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "cli.jsonl"
    monkeypatch.setenv("FAKE_CLI_LOG", str(log))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-123456")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123456")
    model = build_container(_config(**provider_overrides(provider))).code_model()
    response = model.complete(ChatRequest("Be brief.", "Say hi.", "some-model", tool=TOOL))
    assert response.tool_args == {"ok": False}
    [call] = [json.loads(line) for line in log.read_text().splitlines()]
    assert call["key_env"] == [] and "Say hi." in call["stdin"]
    assert "sk-" not in json.dumps(call)


def test_doctor_prints_one_warn_line_for_a_retired_model_and_exits_0(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, workdir: Path, small_table: object) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-123456")
    monkeypatch.setenv("LOOM_CODE_MODEL", "claude-gone-9")  # the SDK no longer lists it
    with pytest.raises(SystemExit) as exc:
        main(["doctor"])
    assert int(exc.value.code or 0) == 0
    warns = [line for line in capsys.readouterr().out.splitlines() if line.startswith("WARN")]
    assert len(warns) == 1 and "claude-gone-9" in warns[0] and "LOOM_CODE_MODEL" in warns[0]
