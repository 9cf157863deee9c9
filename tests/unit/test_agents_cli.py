"""Machine-readable everywhere: --json errors, `run --events jsonl`, and the Claude Code skill pack."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from loom.domain.errors import ConfigError, MissingCredentialError, RefusedError, UsageError
from loom.entrypoints.cli.app import main
from loom.entrypoints.cli.errors import error_object, run_guarded
from loom.entrypoints.cli.skills_pack import MAX_DESCRIPTION, MAX_NAME, NAME_RULE, SKILLS

ROOT = Path(__file__).resolve().parents[2]


def _main(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0)


def _one_object(out: str) -> dict:
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out
    obj = json.loads(lines[0])
    assert list(obj) == ["status", "exit_code", "message", "hint"]
    return obj


# ---- --json errors ---------------------------------------------------------------------------
@pytest.mark.parametrize(("error", "status", "code"), [
    (UsageError("bad input", hint="fix it"), "USAGE_ERROR", 2),
    (ConfigError("bad key"), "CONFIG_ERROR", 2),
    (MissingCredentialError("no key"), "MISSING_CREDENTIAL", 2),
    (RefusedError("no", status="REFUSED_NO_GPU_TARGET"), "REFUSED_NO_GPU_TARGET", 3),
    (RuntimeError("boom"), "INTERNAL_ERROR", 1),
    (KeyboardInterrupt(), "INTERRUPTED", 130),
])
def test_json_errors_are_one_object_on_stdout(error: BaseException, status: str, code: int,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    def call() -> None:
        raise error

    assert run_guarded(call, ["run", "--json"]) == code
    captured = capsys.readouterr()
    obj = _one_object(captured.out)
    assert obj["status"] == status and obj["exit_code"] == code and obj["message"]
    assert len(captured.err.strip().splitlines()) == 1  # the human line stays on stderr
    if isinstance(error, UsageError):
        assert obj["hint"] == "fix it"


def test_without_json_stdout_stays_empty(capsys: pytest.CaptureFixture[str]) -> None:
    def call() -> None:
        raise UsageError("bad input")

    assert run_guarded(call, ["run"]) == 2
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(("argv", "needle"), [
    (["run", "--json", "--bogus"], "--bogus"),
    (["--json", "run", "--steps", "abc"], "--steps"),
    (["--json", "nosuchverb"], "nosuchverb"),
    (["run", "--json"], "--goal is required"),
    (["run", "--json", "--token", "abc123"], "environment"),
])
def test_cli_errors_with_json(argv: list[str], needle: str, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(argv) == 2
    obj = _one_object(capsys.readouterr().out)
    assert obj["status"] == "USAGE_ERROR" and obj["exit_code"] == 2 and needle in obj["message"]
    assert "abc123" not in obj["message"]


def test_error_objects_never_carry_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret-value-123")
    obj = error_object(RuntimeError("upstream said: bad key sk-ant-secret-value-123"))
    assert "sk-ant-secret-value-123" not in json.dumps(obj) and "***" in obj["message"]


# ---- run --events jsonl ----------------------------------------------------------------------
def test_run_streams_observer_events_as_json_lines(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = _main(["run", "--search", "baseline", "--mlops", "local", "--data", str(ROOT / "examples" / "churn"),
                  "--goal", "Predict churn", "--metric", "Maximize ROC-AUC", "--steps", "2",
                  "--events", "jsonl", "--json"])
    captured = capsys.readouterr()
    assert code == 0
    result = json.loads(captured.out)
    events = [json.loads(line) for line in captured.err.splitlines() if line.startswith("{")]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert kinds.count("node_started") == 2 and kinds.count("node_finished") == 2
    assert {e["run_id"] for e in events} == {result["run_id"]}
    finished = [e for e in events if e["event"] == "node_finished"]
    assert {e["node_id"] for e in finished} == {row["node_id"] for row in result["leaderboard"]}
    assert all(isinstance(e["ts"], float) for e in events)


# ---- the skill pack --------------------------------------------------------------------------
def _frontmatter(text: str) -> dict:
    assert text.startswith("---\n")
    head, _, body = text[4:].partition("\n---\n")
    assert body.strip()
    data = yaml.safe_load(head)
    assert isinstance(data, dict)
    return data


def test_skills_install_writes_valid_skills_and_merges_mcp_json(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / ".mcp.json").write_text(json.dumps({"mcpServers": {"other": {"command": "x"}}, "keep": 1}))
    assert _main(["skills", "install", "--mcp", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    paths = sorted((workdir / ".claude" / "skills").glob("*/SKILL.md"))
    assert {p.parent.name for p in paths} == {"loom-optimize", "loom-eda", "loom-validate", "loom-pipeline"}
    assert len(payload["skills"]) == 4
    for path in paths:
        meta = _frontmatter(path.read_text())
        name, description = meta["name"], meta["description"]
        assert name == path.parent.name and re.match(NAME_RULE, name) and len(name) <= MAX_NAME
        assert 0 < len(description) <= MAX_DESCRIPTION and "Use when" in description
        tools = [t.strip() for t in meta["allowed-tools"].split(",")]
        assert any(t.startswith("Bash(loom ") for t in tools) and "Read" in tools
        # nothing that spends or passes a gate is pre-approved
        assert not any(("--apply" in t or "--launch" in t or "aide" in t or t in ("Bash(loom run:*)", "Bash"))
                       for t in tools)
        text = path.read_text()
        assert "--json" in text and "ask the human" in text
    merged = json.loads((workdir / ".mcp.json").read_text())
    assert merged["keep"] == 1 and merged["mcpServers"]["other"] == {"command": "x"}
    assert merged["mcpServers"]["loom"]["args"] == ["mcp", "serve"]


def test_skills_pack_limits_hold_for_every_skill() -> None:
    for skill in SKILLS:
        assert re.match(NAME_RULE, skill.name) and len(skill.name) <= MAX_NAME
        assert len(skill.description) <= MAX_DESCRIPTION


def test_skills_install_refuses_a_broken_mcp_json_untouched(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / ".mcp.json").write_text("{not json")
    assert _main(["skills", "install", "--mcp"]) == 2
    assert (workdir / ".mcp.json").read_text() == "{not json"
    assert "not valid JSON" in capsys.readouterr().err


def test_skills_install_user_scope(workdir: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOME", str(workdir / "home"))
    assert _main(["skills", "install", "--user", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["scope"] == "user" and "--scope user" in payload["claude_command"]
    assert (workdir / "home" / ".claude" / "skills" / "loom-eda" / "SKILL.md").is_file()
    assert _main(["skills", "install", "--user", "--project"]) == 2
