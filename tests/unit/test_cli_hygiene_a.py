"""CLI hygiene (new-user audit, batch A): one-line parse errors, --limit, empty Loom flows,
doctor's unknown provider, an absolute MCP command, the MCP example's fields, progress wording."""

from __future__ import annotations

import ast
import json
import shutil
import sys
from pathlib import Path

import anyio
import pytest

from loom.entrypoints.cli.app import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mcp_session.py"


def _main(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0)


# 1. parse errors: one `loom:` line on stderr, exit 2, no Rich box ---------------------------------
@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["run", "--data", "x", "--goal", "g", "--metric", "Maximize ROC-AUC", "--steps", "abc"], "--steps"),
        (["run", "--data", "x", "--goal", "g", "--metric", "Maximize ROC-AUC", "--sandbox", "foo"], "--sandbox"),
        (["eda"], "--dataset"),
        (["bogusverb"], "bogusverb"),
        (["ops", "drift"], "drift"),
        (["mcp", "bogus"], "bogus"),
    ],
)
def test_parse_errors_are_one_loom_line(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("loom: ") and needle in lines[0]
    assert "╭" not in captured.err and "│" not in captured.err and "Traceback" not in captured.err
    assert captured.out == ""


@pytest.mark.parametrize(("argv", "names"), [(["config", "--json"], "show"), (["--json", "proxy"], "serve, keys, usage"),
                                             (["mcp", "--json"], "serve"), (["skills", "--json"], "install")])
def test_a_group_without_its_subcommand_answers_json_with_json(argv: list[str], names: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(argv) == 2
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "USAGE_ERROR" and out["message"].endswith(f"needs a subcommand: {names}")
    assert _main([argv[0] if argv[0] != "--json" else argv[1]]) == 0  # without --json: its help
    assert capsys.readouterr().out.startswith("Usage: loom ")


def test_parse_errors_with_json_stay_one_line_plus_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(["--json", "ops", "drift"]) == 2
    captured = capsys.readouterr()
    assert len(captured.err.strip().splitlines()) == 1
    assert json.loads(captured.out)["status"] == "USAGE_ERROR"


def test_help_still_renders_after_the_parse_error_change(capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(["--help"]) == 0
    assert "Usage: loom" in capsys.readouterr().out
    assert _main(["eda", "--help"]) == 0
    assert "--dataset" in capsys.readouterr().out


def test_a_multiline_parse_message_is_flattened() -> None:
    from loom.entrypoints.cli.errors import parse_error_line

    assert parse_error_line(ValueError("Invalid value for --x.\n  Choose from:\n  a, b\n")) == \
        "Invalid value for --x. Choose from: a, b"
    assert parse_error_line(ValueError("")) == "bad command line"


# 2. --limit must be positive ------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [["datasets", "--limit", "-3"], ["runs", "--limit", "-1"], ["runs", "--limit", "0"]])
def test_limit_below_one_is_a_usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--limit must be at least 1" in err


# 3. a Loom flow with no runs yet is an empty list; an unknown flow stays a usage error ---------------
def test_runs_of_a_loom_flow_before_its_first_run_are_empty(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(["runs", "--flow", "CandidateRun", "--mlops", "metaflow", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"status": "OK", "runs": []}
    assert _main(["runs", "--flow", "CandidateRun", "--mlops", "metaflow"]) == 0
    assert "no runs of CandidateRun yet" in capsys.readouterr().out
    assert _main(["runs", "--flow", "NoSuchFlow", "--mlops", "metaflow"]) == 2
    assert "no runs of flow 'NoSuchFlow'" in capsys.readouterr().err


def test_loom_flows_list_names_every_flow_class_loom_defines() -> None:
    from loom.adapters.mlops.metaflow.data import LOOM_FLOWS

    src = Path(__file__).resolve().parents[2] / "src" / "loom"
    defined = set()
    for path in src.rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and any(getattr(b, "id", None) == "FlowSpec" for b in node.bases):
                defined.add(node.name)
    assert defined and defined <= LOOM_FLOWS


# 4. doctor with an unknown provider: one line, exit 2, not "reinstall" --------------------------------
def test_doctor_unknown_mlops_provider_is_one_usage_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(["doctor", "--search", "baseline", "--mlops", "bogus"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("loom: ") and "unknown mlops provider 'bogus'" in lines[0]
    assert "reinstall" not in captured.err + captured.out and "FAIL" not in captured.out


# 5. the MCP entry starts this very loom, by an absolute path ------------------------------------------
def test_mcp_entry_is_the_running_loom_script(workdir: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    script = workdir / "venv" / "bin" / "loom"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    monkeypatch.setattr(sys, "argv", [str(script), "skills", "install", "--mcp"])
    monkeypatch.setattr(shutil, "which", lambda name: "/somewhere/else/loom")
    assert _main(["skills", "install", "--mcp", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    entry = json.loads((workdir / ".mcp.json").read_text())["mcpServers"]["loom"]
    assert entry["command"] == str(script.resolve()) and entry["args"] == ["mcp", "serve"]
    assert payload["claude_command"].endswith(f"-- {script.resolve()} mcp serve")


def test_mcp_entry_falls_back_to_this_interpreter(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from loom.entrypoints.cli import skills_cmd

    python = workdir / "bin" / "python"
    python.parent.mkdir()
    python.write_text("")
    monkeypatch.setattr(sys, "argv", ["pytest"])
    monkeypatch.setattr(sys, "executable", str(python))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    entry = skills_cmd.mcp_entry()
    assert entry["command"] == str(python) and entry["args"][:2] == ["-m", "loom.entrypoints.cli.app"]
    assert entry["args"][2:] == ["mcp", "serve"] and importlib.util.find_spec(entry["args"][1]) is not None
    (workdir / "bin" / "loom").write_text("#!/bin/sh\n")  # the console script beside the interpreter wins
    assert skills_cmd.mcp_entry()["command"] == str(workdir / "bin" / "loom")


# 6. the MCP example reads the fields a run and its leaderboard really have ---------------------------
def test_mcp_example_reads_current_leaderboard_fields() -> None:
    from loom.domain.search import Node, leaderboard_row

    row_keys = set(leaderboard_row(Node(id="n", step=0, kind="draft", code="")))
    tree = ast.parse(EXAMPLE.read_text(encoding="utf-8"))
    read: set[str] = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "row"
                and isinstance(node.slice, ast.Constant)):
            read.add(node.slice.value)
        if isinstance(node, ast.comprehension) and isinstance(node.iter, ast.Tuple):
            keys = [e.value for e in node.iter.elts if isinstance(e, ast.Constant)]
            if "self_reported" in keys:  # the keys printed from run["best"] (a leaderboard row)
                read.update(keys)
    assert {"kind", "self_reported", "selection"} <= read
    assert read <= row_keys, read - row_keys


# 7. MCP progress messages say "selection", not "holdout" -------------------------------------------
def test_mcp_progress_message_names_the_selection_score() -> None:
    from loom.application.ports.observer import Event
    from loom.entrypoints.mcp_server.bridge import ProgressForwarder

    messages: list[str] = []

    async def report(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    async def drive() -> None:
        forwarder = ProgressForwarder(report, "steps")

        def events() -> None:
            forwarder.notify(Event("run_started", run_id="r1", data={"steps": 2}))
            forwarder.notify(Event("node_finished", run_id="r1", step=1, node_kind="draft", metric=0.84283,
                                   holdout_metric=0.80083, buggy=False))

        await anyio.to_thread.run_sync(events)

    anyio.run(drive)
    assert messages[-1] == "run r1 step 1 draft: self-reported 0.84283, selection 0.80083"
    assert not any("holdout" in m for m in messages)
