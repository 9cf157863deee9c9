"""CLI shell: error mapping, secret-flag refusal, redaction, help for every verb, lightness."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from loom.domain.errors import ConfigError, RefusedError, UsageError
from loom.entrypoints.cli.app import VERBS, main
from loom.entrypoints.cli.errors import refuse_secret_flags, run_guarded

LOOM = [sys.executable, "-m", "loom.entrypoints.cli.app"]


def _main(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0)


@pytest.mark.parametrize(
    ("error", "code"),
    [(UsageError("bad input"), 2), (ConfigError("bad key"), 2), (RefusedError("no", status="REFUSED_X"), 3),
     (RuntimeError("boom"), 1), (KeyboardInterrupt(), 130)],
)
def test_errors_map_to_exit_codes_and_one_line(error: BaseException, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    def call() -> None:
        raise error

    assert run_guarded(call, []) == code
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_debug_shows_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    def call() -> None:
        raise UsageError("bad input")

    assert run_guarded(call, ["--debug"]) == 2
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--api-key", "--token=abc", "--anthropic-api-key", "--openai-key", "--LOOM-API-KEY"])
def test_secret_flags_are_refused(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(["run", flag, "sk-should-not-matter"]) == 2
    err = capsys.readouterr().err
    assert "environment" in err and "sk-should-not-matter" not in err


def test_secret_flag_points_at_the_env_var() -> None:
    with pytest.raises(UsageError, match="ANTHROPIC_API_KEY"):
        refuse_secret_flags(["--anthropic-api-key", "x"])
    with pytest.raises(UsageError, match="OPENAI_API_KEY"):
        refuse_secret_flags(["--openai-key", "x"])
    refuse_secret_flags(["--metric", "--", "--token"])  # after "--" is data, not a flag


def test_every_verb_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(["--help"]) == 0
    top = capsys.readouterr().out
    for verb, _, _ in VERBS:
        assert verb in top
        assert _main([verb, "--help"]) == 0
        text = capsys.readouterr().out
        assert "--json" in text and "Usage: loom" in text
    for sub in (["config", "show"], ["proxy", "serve"], ["mcp", "serve"], ["skills", "install"]):
        assert _main([*sub, "--help"]) == 0
        assert "--json" in capsys.readouterr().out


def test_config_show_json_reports_layers(workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "c.yaml").write_text("workers: 2\n")
    monkeypatch.setenv("LOOM_BUDGET_STEPS", "3")
    assert _main(["config", "show", "--json", "--config", str(workdir / "c.yaml")]) == 0
    payload = json.loads(capsys.readouterr().out)
    rows = {row["key"]: row for row in payload["settings"]}
    assert rows["workers"]["value"] == 2 and rows["workers"]["layer"] == "yaml"
    assert rows["budget_steps"]["value"] == 3 and rows["budget_steps"]["layer"] == "env"
    assert rows["code_model"]["layer"] == "default"


def test_global_flags_before_the_verb(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(["--json", "config", "show"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "OK"


def test_bad_config_file_is_one_line_exit_2(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "c.yaml").write_text("nope: 1\n")
    assert _main(["config", "show", "--config", str(workdir / "c.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nope" in err and "c.yaml" in err


def test_unknown_provider_in_env_is_exit_2_listing_names(workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LOOM_SEARCH_PROVIDER", "nope")
    assert _main(["doctor"]) == 2
    out = capsys.readouterr()
    assert "nope" in out.out + out.err


def test_redaction_scrubs_secret_values(monkeypatch: pytest.MonkeyPatch) -> None:
    import structlog

    from loom.entrypoints.logging import configure_logging

    secret = "sk-ant-SECRET-value-42"
    monkeypatch.setenv("ANTHROPIC_API_KEY", secret)
    stream = io.StringIO()
    configure_logging(stream=stream, json=True)
    try:
        logging.getLogger("loom.test").warning("calling with %s", secret, extra={"key": secret})
        structlog.get_logger("loom.test").warning("event", header=f"Bearer {secret}", nested={"k": [secret]})
    finally:
        logging.getLogger().handlers = [h for h in logging.getLogger().handlers if h.get_name() != "loom"]
    text = stream.getvalue()
    assert secret not in text
    assert text.count("***") >= 4


def test_import_loom_and_help_stay_light() -> None:
    heavy = ["metaflow", "aide", "anthropic", "openai", "pandas", "numpy", "torch", "nemo_automodel",
             "sklearn", "structlog", "dependency_injector", "httpx", "mcp", "mcp_types", "starlette"]
    probe = (
        "import sys, runpy\n"
        "import loom\n"
        "sys.argv = ['loom', '--help']\n"
        "try:\n    runpy.run_module('loom.entrypoints.cli.app', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"print('LOADED=' + ','.join(m for m in {heavy!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = out.stdout.rsplit("LOADED=", 1)[1].strip()
    assert "Usage: loom" in out.stdout
    assert loaded == "", f"loom --help imported: {loaded}"


def test_doctor_skips_llm_checks_for_a_keyless_brain(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(["doctor", "--json"]) == 2  # the default aide brain needs ANTHROPIC_API_KEY
    assert any(c["subject"] == "ANTHROPIC_API_KEY" and c["level"] == "FAIL"
               for c in json.loads(capsys.readouterr().out)["checks"])
    assert _main(["doctor", "--search", "baseline", "--mlops", "local", "--json"]) == 0
    checks = json.loads(capsys.readouterr().out)["checks"]
    assert {c["port"] for c in checks} == {"local", "search", "mlops", "model_builders", "models", "sandbox"}
    assert not any(c["level"] == "FAIL" for c in checks)
    assert [c["detail"] for c in checks if c["port"] == "models"] == ["not needed by the 'baseline' brain"]


def test_doctor_reports_the_sandbox_in_use(workdir: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOM_SANDBOX", "none")
    assert _main(["doctor", "--search", "baseline", "--mlops", "local", "--json"]) == 0  # a WARN never blocks
    [line] = [c for c in json.loads(capsys.readouterr().out)["checks"] if c["port"] == "sandbox"]
    assert line["level"] == "WARN" and "NOT isolated" in line["detail"] and "apt-get install -y bubblewrap" in line["fix"]
    monkeypatch.setenv("LOOM_SANDBOX", "bwrap")
    monkeypatch.setenv("PATH", str(workdir))  # no bwrap to be found: a forced bwrap FAILs with the fix
    assert _main(["doctor", "--search", "baseline", "--mlops", "local", "--json"]) == 2
    [line] = [c for c in json.loads(capsys.readouterr().out)["checks"] if c["port"] == "sandbox"]
    assert line["level"] == "FAIL" and "bubblewrap" in line["detail"]
