"""`loom mcp serve --http`: streamable HTTP on loopback, behind the gateway's caller-key allowlist."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

LOOM = [sys.executable, "-m", "loom.entrypoints.cli.app"]
KEY = "lk-mcp-test-5b1e0c9d"


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "LOOM_HOME": str(home), **extra}


def test_streamable_http_needs_a_caller_key(clean_env: Path, workdir: Path) -> None:
    keys = workdir / "keys.txt"
    keys.write_text(f"{KEY} acme alice\n")
    proc = subprocess.Popen([*LOOM, "mcp", "serve", "--http", "127.0.0.1:0"],
                            env=_env(clean_env, LOOM_API_KEYS_FILE=str(keys)), stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline() if proc.stderr else ""
        found = re.search(r"(http://127\.0\.0\.1:\d+/mcp)", line)
        assert found, line
        url = found.group(1)
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}
        headers = {"accept": "application/json, text/event-stream"}
        without = httpx.post(url, json=init, headers=headers, timeout=30)
        wrong = httpx.post(url, json=init, headers={**headers, "authorization": "Bearer lk-wrong"}, timeout=30)
        assert without.status_code == 401 and wrong.status_code == 401
        assert json.loads(without.text)["error"]["status"] == "UNAUTHORIZED"

        async def with_key() -> Any:
            async with create_mcp_http_client(headers={"Authorization": f"Bearer {KEY}"}) as client, \
                    streamable_http_client(url, http_client=client) as (read, write), \
                    ClientSession(read, write) as session:
                await session.initialize()
                tools = {t.name for t in (await session.list_tools()).tools}
                config = await session.call_tool("config", {})
                return tools, config

        tools, config = anyio.run(with_key)
        assert {"run", "eda", "datasets", "run_start"} <= tools and "plan" not in tools
        assert not config.is_error and config.structured_content["status"] == "OK"
        assert KEY not in json.dumps(config.structured_content)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode == 0  # SIGTERM stops it like Ctrl-C


@pytest.mark.parametrize(("address", "env", "needle"), [
    ("127.0.0.1:0", {}, "needs at least one caller key"),
    ("0.0.0.0:8765", {"LOOM_API_KEY": KEY}, "loopback only"),
    ("localhost", {"LOOM_API_KEY": KEY}, "HOST:PORT"),
])
def test_http_refuses_without_a_key_or_off_loopback(address: str, env: dict[str, str], needle: str,
                                                    clean_env: Path, workdir: Path) -> None:
    out = subprocess.run([*LOOM, "mcp", "serve", "--http", address, "--json"], env=_env(clean_env, **env),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    obj = json.loads(out.stdout)
    assert obj["exit_code"] == 2 and needle in obj["message"]
