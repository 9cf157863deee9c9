"""Drive `loom mcp serve` like an agent would, and print the session as a transcript.

    python examples/mcp_session.py            # keyless: baseline brain, local execution

It starts the server over stdio with the MCP SDK's own client, lists the tools, ingests and
profiles the churn example, runs a short search with a progress token, reads the run's
leaderboard resource, and shows what a call outside the allowed tiers answers. Nothing here
needs an API key. docs/agents.md shows one such transcript.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, get_default_environment, stdio_client

HERE = Path(__file__).resolve().parent
CHURN = HERE / "churn"


def _short(obj: Any, keys: tuple[str, ...]) -> str:
    return json.dumps({k: obj.get(k) for k in keys if k in obj})


async def session() -> None:
    # the SDK passes the server only a minimal environment: hand on LOOM_* (LOOM_HOME above all)
    env = {**get_default_environment(), **{k: v for k, v in os.environ.items() if k.startswith("LOOM_")}}
    params = StdioServerParameters(command=sys.executable, args=["-m", "loom.entrypoints.cli.app", "mcp", "serve"],
                                   env=env)
    started = time.monotonic()

    def say(text: str) -> None:
        print(f"[{time.monotonic() - started:5.1f}s] {text}", flush=True)

    async with stdio_client(params) as (read, write), ClientSession(read, write) as mcp:
        init = await mcp.initialize()
        say(f"connected to {init.server_info.name} {init.server_info.version}")
        tools = (await mcp.list_tools()).tools
        say("tools: " + ", ".join(t.name for t in tools))

        say(f"-> ingest(source={CHURN.name}/)")
        ingest = (await mcp.call_tool("ingest", {"source": str(CHURN)})).structured_content
        say("<- " + _short(ingest, ("status", "pathspec", "rows", "columns", "target", "task_type", "exit_code")))

        say(f"-> eda(dataset={ingest['pathspec']})")
        eda = (await mcp.call_tool("eda", {"dataset": ingest["pathspec"]})).structured_content
        say("<- " + _short(eda, ("status", "pathspec", "verdict", "rows", "columns", "leakage")))

        async def progress(value: float, total: float | None, message: str | None) -> None:
            say(f"   progress {value:g}/{total:g}: {message}")

        args = {"data": str(CHURN), "goal": "Predict churn", "metric": "Maximize ROC-AUC", "steps": 3,
                "search": "baseline", "mlops": "local"}
        say("-> run(" + ", ".join(f"{k}={v if k != 'data' else CHURN.name + '/'}" for k, v in args.items()) + ")")
        run = (await mcp.call_tool("run", args, progress_callback=progress)).structured_content
        best, estimate = run["best"] or {}, run.get("estimate") or {}
        say("<- " + json.dumps({"status": run["status"], "run_id": run["run_id"], "nodes": run["nodes"],
                                "best": {k: best.get(k) for k in ("kind", "self_reported", "selection")},
                                "estimate": {k: estimate.get(k) for k in ("value", "low", "high")},
                                "exit_code": run["exit_code"]}))

        uri = f"loom://runs/{run['run_id']}/leaderboard"
        say(f"-> read_resource({uri})")
        board = json.loads((await mcp.read_resource(uri)).contents[0].text)
        for row in board["entries"][:3]:
            selection = "-" if row["selection"] is None else f"{row['selection']:.4f}"
            say(f"   {row['kind']:<7} self-reported {row['self_reported']}  selection {selection}")

        say("-> deploy(validate=ValidateFlow/1, apply=true)")
        refused = await mcp.call_tool("deploy", {"validate": "ValidateFlow/1", "apply": True})
        say(f"<- isError={refused.is_error} " + json.dumps(refused.structured_content))


if __name__ == "__main__":
    anyio.run(session)
