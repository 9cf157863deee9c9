"""Sandbox pieces without running a candidate: the environment allowlist, redaction, bwrap's mounts."""

from __future__ import annotations

from pathlib import Path

import pytest

from loom.adapters.sandbox.bwrap import BwrapSandbox
from loom.application.ports.sandbox import SandboxLimits, SandboxRequest, candidate_env, passthrough_names
from loom.application.redaction import digests, redact, redact_digests, secret_values


def test_candidate_env_is_an_allowlist_never_a_copy() -> None:
    environ = {"ANTHROPIC_API_KEY": "sk-ant-x", "AWS_SECRET_ACCESS_KEY": "y", "HOME": "/root", "LANG": "de_DE.UTF-8",
               "PATH": "/evil", "MY_SETTING": "on", "GH_TOKEN": "t"}
    env = candidate_env(Path("/ws"), cpus=3, python="/venv/bin/python", passthrough=passthrough_names("MY_SETTING"),
                        extra={"LOOM_RUN_ID": "r"}, environ=environ)
    assert env["HOME"] == "/ws" and env["PATH"].startswith("/venv/bin:") and "/evil" not in env["PATH"]
    assert env["LANG"] == "de_DE.UTF-8" and env["MY_SETTING"] == "on" and env["LOOM_RUN_ID"] == "r"
    assert env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == "3"
    assert not {"ANTHROPIC_API_KEY", "AWS_SECRET_ACCESS_KEY", "GH_TOKEN"} & set(env)


def test_a_secret_name_in_loom_sandbox_env_is_refused() -> None:
    with pytest.raises(ValueError, match="looks like a secret"):
        passthrough_names("MY_SETTING, OPENAI_API_KEY")


def test_a_secret_name_in_loom_sandbox_env_is_a_config_error_at_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """It surfaced inside the first candidate or validate flow as an internal error (exit 1)."""
    from loom.application.config import LoomConfig
    from loom.domain.errors import ConfigError

    monkeypatch.setenv("LOOM_SANDBOX_ENV", "MY_SETTING,MY_SERVICE_TOKEN")
    with pytest.raises(ConfigError, match="MY_SERVICE_TOKEN, which looks like a secret") as caught:
        LoomConfig.load(env_file=None)
    assert caught.value.exit_code == 2
    monkeypatch.setenv("LOOM_SANDBOX_ENV", "MY_SETTING")
    assert LoomConfig.load(env_file=None).sandbox_env == "MY_SETTING"


def test_redaction_by_value_and_by_digest_agree() -> None:
    values = secret_values({"ANTHROPIC_API_KEY": "sk-ant-abcdef123456", "DEBUG": "1", "X_TOKEN": "short"})
    assert values == {"sk-ant-abcdef123456": "ANTHROPIC_API_KEY"}  # short values would redact ordinary text
    text = "key=sk-ant-abcdef123456\nBearer sk-ant-abcdef123456, " + "x" * 10_000
    by_value = redact(text, values)
    assert by_value == redact_digests(text, digests(values))
    assert "sk-ant-abcdef123456" not in by_value and by_value.count("[REDACTED:ANTHROPIC_API_KEY]") == 2
    assert digests(values)[0][0] == 19 and "sk-ant" not in str(digests(values))


def test_bwrap_hides_loom_home_when_the_interpreter_root_contains_it(tmp_path: Path) -> None:
    import sys

    from loom.adapters.sandbox import bwrap

    ws = tmp_path / "ws"
    (ws / "working").mkdir(parents=True)
    root = bwrap.interpreter_roots(sys.executable)[0]
    home = Path(root) / "loom-home-inside-the-venv"
    argv = BwrapSandbox(mask=[home]).wrap(SandboxRequest(
        argv=["python", "-c", "pass"], workdir=ws, limits=SandboxLimits(network=False), python=sys.executable,
        inputs={"input": tmp_path})).argv
    joined = " ".join(argv)
    assert "--unshare-all" in argv and "--share-net" not in argv and "--clearenv" in argv
    assert f"--tmpfs {home}" in joined
    assert f"--ro-bind {ws} {ws}" in joined and f"--bind {ws / 'working'} {ws / 'working'}" in joined
    assert f"--ro-bind {tmp_path} {ws / 'input'}" in joined
    assert argv[-4:] == ["--", "python", "-c", "pass"]
