"""`loom mcp serve` driven by the MCP SDK's own stdio client: a real server process, real runs.

Runs use the keyless baseline brain with `--mlops local` (fast); ingest and eda run for real on
Metaflow's local datastore under the test's LOOM_HOME.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import jsonschema
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

ROOT = Path(__file__).resolve().parents[2]
CHURN = ROOT / "examples" / "churn"
CANARY = "sk-ant-canary-7f3a9c2e51d04b8e"
RUN_ARGS = {"data": str(CHURN), "goal": "Predict churn", "metric": "Maximize ROC-AUC",
            "search": "baseline", "mlops": "local"}
DEFAULT_TOOLS = {"run", "pipeline", "ingest", "eda", "features", "validate", "report", "ops", "deploy", "train",
                 "datasets", "runs", "show", "card", "config", "providers", "doctor",
                 "run_start", "run_status", "run_cancel"}


@asynccontextmanager
async def serving(home: Path, cwd: Path, *args: str) -> AsyncIterator[ClientSession]:
    env = {"LOOM_HOME": str(home), "USER": "tester", "ANTHROPIC_API_KEY": CANARY, "LOOM_API_KEY": CANARY + "-k"}
    if os.environ.get("PYTHONPATH"):  # the server imports Loom from where this test does
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    params = StdioServerParameters(command=sys.executable, args=["-m", "loom.entrypoints.cli.app", "mcp", "serve", *args],
                                   env=env, cwd=str(cwd))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def drive(home: Path, cwd: Path, scenario: Callable[[ClientSession], Awaitable[Any]], *args: str) -> Any:
    async def main() -> Any:
        async with serving(home, cwd, *args) as session:
            return await scenario(session)

    return anyio.run(main)


def _text(result: Any) -> str:
    return json.dumps(result.structured_content) + "".join(getattr(c, "text", "") for c in result.content)


def _journal(home: Path, run_id: str) -> dict[str, Any]:
    return json.loads((home / "runs" / run_id / "journal.json").read_text())


def test_tools_follow_the_tiers_and_their_schemas_are_json_schema(clean_env: Path, workdir: Path) -> None:
    async def listing(session: ClientSession) -> Any:
        return (await session.list_tools()).tools

    default = {t.name: t for t in drive(clean_env, workdir, listing)}
    assert set(default) == DEFAULT_TOOLS  # plan (spend) is not listed by default
    for tool in default.values():
        jsonschema.Draft202012Validator.check_schema(tool.input_schema)
        jsonschema.Draft202012Validator.check_schema(tool.output_schema)
        assert tool.input_schema["type"] == "object" and tool.description
    assert default["datasets"].annotations.read_only_hint is True
    assert default["run"].annotations.open_world_hint is False  # no LLM brain without the spend tier
    assert default["deploy"].annotations.destructive_hint is False  # apply needs the gated tier
    assert default["run"].input_schema["properties"]["steps"]["description"].startswith("Search steps")
    assert "events" not in default["run"].input_schema["properties"]

    wide = {t.name: t for t in drive(clean_env, workdir, listing, "--allow", "spend,gated")}
    assert set(wide) == DEFAULT_TOOLS | {"plan"}
    assert wide["plan"].annotations.open_world_hint is True and wide["plan"].annotations.read_only_hint is True
    assert wide["run"].annotations.open_world_hint is True
    assert wide["deploy"].annotations.destructive_hint is True and wide["train"].annotations.destructive_hint is True


def test_calls_outside_the_tiers_are_refused_with_the_flag(clean_env: Path, workdir: Path) -> None:
    async def calls(session: ClientSession) -> dict[str, Any]:
        return {
            "deploy": await session.call_tool("deploy", {"validate": "ValidateFlow/1", "apply": True}),
            "train": await session.call_tool("train", {"dataset": "IngestDataset/1", "launch": True}),
            "plan": await session.call_tool("plan", {"goal": "predict churn"}),
            "aide": await session.call_tool("run", {**RUN_ARGS, "search": "aide"}),
        }

    results = drive(clean_env, workdir, calls)
    for name, flag in (("deploy", "gated"), ("train", "gated"), ("plan", "spend"), ("aide", "spend")):
        result = results[name]
        assert result.is_error, name
        obj = result.structured_content
        assert obj["status"] == "REFUSED_TIER" and obj["exit_code"] == 3
        assert f"--allow {flag}" in obj["hint"]
    assert not (clean_env / "runs").exists()  # nothing ran


def test_ingest_eda_run_with_progress_resources_and_no_secret(clean_env: Path, workdir: Path) -> None:
    async def session_flow(session: ClientSession) -> dict[str, Any]:
        out: dict[str, Any] = {"notes": []}

        async def progress(value: float, total: float | None, message: str | None) -> None:
            out["notes"].append((value, total, message))

        out["ingest"] = await session.call_tool("ingest", {"source": str(CHURN)})
        dataset = out["ingest"].structured_content["pathspec"]
        out["eda"] = await session.call_tool("eda", {"dataset": dataset})
        out["show"] = await session.call_tool("show", {"pathspec": dataset})  # positional on the CLI
        out["run"] = await session.call_tool("run", {**RUN_ARGS, "steps": 3}, progress_callback=progress)
        run_id = out["run"].structured_content["run_id"]
        out["leaderboard"] = await session.read_resource(f"loom://runs/{run_id}/leaderboard")
        out["summary"] = await session.read_resource(f"loom://runs/{run_id}/summary")
        out["solution"] = await session.read_resource(f"loom://runs/{run_id}/best_solution")
        out["schema"] = await session.read_resource(f"loom://datasets/{dataset}/schema")
        out["listed"] = [str(r.uri) for r in (await session.list_resources()).resources]
        out["views"] = [await session.call_tool(name, {}) for name in ("config", "providers", "doctor", "datasets")]
        return out

    out = drive(clean_env, workdir, session_flow)
    ingest, eda, run = out["ingest"].structured_content, out["eda"].structured_content, out["run"].structured_content
    assert ingest["status"] == "OK" and ingest["pathspec"].startswith("IngestDataset/") and ingest["exit_code"] == 0
    assert eda["pathspec"].startswith("EdaFlow/") and eda["verdict"] in ("PASS", "REVIEW") and eda["target"] == "churn"
    shown = out["show"].structured_content
    assert shown["run"]["pathspec"] == ingest["pathspec"] and "schema" in shown["artifacts"]
    assert run["status"] == "OK" and run["nodes"] == 3 and run["exit_code"] == 0

    # progress: the start plus one notification per finished candidate, increasing, total = steps
    values = [v for v, _, _ in out["notes"]]
    assert values == [0, 1, 2, 3] and {t for _, t, _ in out["notes"]} == {3}
    assert all(run["run_id"] in m for _, _, m in out["notes"])

    board = json.loads(out["leaderboard"].contents[0].text)
    assert [e["node_id"] for e in board["entries"]][:len(run["leaderboard"])] == [r["node_id"] for r in run["leaderboard"]]
    summary = json.loads(out["summary"].contents[0].text)
    assert summary["status"] == "OK" and summary["nodes"] == 3 and summary["best"]["node_id"] == run["best"]["node_id"]
    assert out["solution"].contents[0].text == Path(run["paths"]["best_solution"]).read_text()
    schema = json.loads(out["schema"].contents[0].text)
    assert schema["pathspec"] == ingest["pathspec"] and schema["schema"]["target"] == "churn"
    assert f"loom://runs/{run['run_id']}/leaderboard" in out["listed"]

    everything = [out["ingest"], out["eda"], out["run"], *out["views"]]
    assert not any(r.is_error for r in out["views"][:2])
    doctor = out["views"][2].structured_content
    assert any(c["subject"] == "ANTHROPIC_API_KEY" and c["level"] == "PASS" for c in doctor["checks"])  # the key is there
    texts = [_text(r) for r in everything] + [c.text for k in ("leaderboard", "summary", "solution", "schema")
                                              for c in out[k].contents]
    assert not any(CANARY in t for t in texts) and not any("***" in t for t in texts)


def test_cancelling_a_run_saves_it_and_resume_continues(clean_env: Path, workdir: Path) -> None:
    async def flow(session: ClientSession) -> dict[str, Any]:
        first = anyio.Event()
        seen: list[str] = []

        async def progress(value: float, total: float | None, message: str | None) -> None:
            seen.append(message or "")
            if value >= 1:
                first.set()

        async with anyio.create_task_group() as group:
            scope = anyio.CancelScope()

            async def call() -> None:
                with scope:
                    await session.call_tool("run", {**RUN_ARGS, "steps": 10}, progress_callback=progress)

            group.start_soon(call)
            with anyio.fail_after(120):  # a guard against a hang, not a speed assertion
                await first.wait()
            scope.cancel()  # the SDK sends notifications/cancelled for the request
        run_id = seen[0].split()[1]
        deadline = time.monotonic() + 120
        while _journal(clean_env, run_id)["status"] != "INTERRUPTED" and time.monotonic() < deadline:
            await anyio.sleep(0.05)
        journal = _journal(clean_env, run_id)
        resumed = await session.call_tool("run", {"resume": run_id, "steps": 1})
        return {"journal": journal, "resumed": resumed.structured_content}

    out = drive(clean_env, workdir, flow)
    journal = out["journal"]
    assert journal["status"] == "INTERRUPTED"
    done = len(journal["nodes"])
    assert 1 <= done < 10 and all(n.get("exc_type") != "Cancelled" for n in journal["nodes"])
    assert out["resumed"]["status"] == "OK" and out["resumed"]["nodes"] == done + 1, out["resumed"]


def test_run_start_status_cancel_for_clients_without_progress(clean_env: Path, workdir: Path) -> None:
    async def flow(session: ClientSession) -> dict[str, Any]:
        started = (await session.call_tool("run_start", {**RUN_ARGS, "steps": 10})).structured_content
        run_id = started["run_id"]
        with anyio.fail_after(120):
            while (status := (await session.call_tool("run_status", {"run_id": run_id})).structured_content
                   )["progress"]["done"] < 1:
                await anyio.sleep(0.1)
        cancelled = (await session.call_tool("run_cancel", {"run_id": run_id})).structured_content
        after = (await session.call_tool("run_status", {"run_id": run_id})).structured_content
        unknown = await session.call_tool("run_status", {"run_id": "no-such-run"})
        bad = await session.call_tool("run_start", {"data": str(CHURN), "search": "baseline", "mlops": "local"})
        return {"started": started, "running": status, "cancelled": cancelled, "after": after,
                "unknown": unknown, "bad": bad}

    out = drive(clean_env, workdir, flow)
    assert out["started"]["status"] == "RUNNING" and out["started"]["progress"]["total"] == 10
    assert out["running"]["status"] in ("RUNNING", "OK") and out["running"]["events"]
    assert out["cancelled"]["status"] == "INTERRUPTED" and "resume=" in out["cancelled"]["hint"]
    assert out["cancelled"]["result"]["status"] == "INTERRUPTED" and out["cancelled"]["exit_code"] == 130
    assert out["after"]["status"] == "INTERRUPTED"
    assert _journal(clean_env, out["started"]["run_id"])["status"] == "INTERRUPTED"
    assert out["unknown"].is_error and out["unknown"].structured_content["exit_code"] == 2
    # bad input answers at once with the CLI's own error line (no --goal)
    assert out["bad"].is_error and out["bad"].structured_content["status"] == "USAGE_ERROR"
    assert "--goal is required" in out["bad"].structured_content["message"]


def test_the_run_tools_resume_takes_a_run_id_never_a_path(clean_env: Path, workdir: Path) -> None:
    victim = workdir / "victim"
    victim.mkdir()
    (victim / "journal.json").write_text('{"nodes": []}')  # outside LOOM_HOME/runs, and malformed

    async def flow(session: ClientSession) -> Any:
        return [await session.call_tool(tool, {"resume": ref, "search": "baseline", "mlops": "local"})
                for tool in ("run", "run_start") for ref in (str(victim), os.path.relpath(victim, clean_env / "runs"))]

    for result in drive(clean_env, workdir, flow):
        obj = result.structured_content
        assert result.is_error and obj["exit_code"] == 2 and obj["status"] == "USAGE_ERROR", obj
        assert "is not a run id" in obj["message"]
    assert sorted(p.name for p in victim.iterdir()) == ["journal.json"]


def test_bad_arguments_are_refused_not_dropped(clean_env: Path, workdir: Path) -> None:
    async def flow(session: ClientSession) -> Any:
        return await session.call_tool("datasets", {"limit": 5, "colour": "blue"})

    result = drive(clean_env, workdir, flow)
    assert result.is_error and "colour" in _text(result)


@pytest.mark.parametrize("allow", ["bogus", "read,spent"])
def test_unknown_tier_is_exit_2(allow: str, clean_env: Path, workdir: Path) -> None:
    import subprocess

    out = subprocess.run([sys.executable, "-m", "loom.entrypoints.cli.app", "mcp", "serve", "--allow", allow, "--json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and json.loads(out.stdout)["status"] == "USAGE_ERROR"


def test_train_reports_coarse_progress_and_its_gate_status(clean_env: Path, workdir: Path) -> None:
    async def flow(session: ClientSession) -> Any:
        notes: list[tuple[float, float | None]] = []

        async def progress(value: float, total: float | None, message: str | None) -> None:
            notes.append((value, total))

        ingested = await session.call_tool("ingest", {"source": str(CHURN)})  # train asks for a data object that exists
        dataset = ingested.structured_content["pathspec"]
        result = await session.call_tool("train", {"dataset": dataset}, progress_callback=progress)
        return result, notes

    result, notes = drive(clean_env, workdir, flow)
    # the nemo builder without LOOM_GPU_TARGET: refused by its own gate (an answer, not a tool error)
    assert not result.is_error
    assert result.structured_content["status"] == "REFUSED_NO_GPU_TARGET" and result.structured_content["exit_code"] == 3
    assert result.structured_content["plan"]["gpus"] >= 1
    assert notes == [(0, 1), (1, 1)]
