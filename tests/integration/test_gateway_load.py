"""A bounded load test: 1,000 calls at concurrency 50 -> 1,000 whole, valid log lines, no errors.

Half the calls stream, half do not; every call carries a unique marker, so a lost, torn or
duplicated line shows up as a missing or repeated marker. The upstream is the fast asyncio
fake (tests/fakes/anthropic_upstream.py), so the test loads the gateway, not the fake.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from loom.application.config import LoomConfig
from loom.application.credentials import MappingCredentials
from loom.entrypoints.gateway.app import create_app
from tests.fakes.gateway_thread import GatewayThread
from tests.fakes.anthropic_upstream import FastUpstream

CALLS, CONCURRENCY = 1000, 50
KEYS = [f"lk-load-{i:02d}-0123456789" for i in range(5)]


async def _drive(url: str) -> list[int]:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    statuses: list[int] = []
    todo = iter(range(CALLS))

    async def worker(client: httpx.AsyncClient) -> None:
        for i in todo:
            body = {"model": "fake-model", "max_tokens": 16, "stream": i % 2 == 1,
                    "messages": [{"role": "user", "content": f"call #{i}"}]}
            resp = await client.post("/v1/messages", json=body, headers={"x-api-key": KEYS[i % len(KEYS)]})
            statuses.append(resp.status_code)

    # The gateway's O(1) pool on the client side too: httpx's default pool rescans all 50
    # connections per call and would cost more CPU than the gateway under test.
    from loom.entrypoints.gateway.pool import PooledTransport

    async with httpx.AsyncClient(base_url=url, transport=PooledTransport(limits=limits), timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
    return statuses


def test_thousand_calls_at_concurrency_fifty(tmp_path: Path) -> None:
    log_path = tmp_path / "calls.jsonl"
    with FastUpstream() as upstream:
        config = LoomConfig(anthropic_base_url=upstream.base_url, proxy_log_path=log_path)
        app = create_app(config, credentials=MappingCredentials({
            "ANTHROPIC_API_KEY": "sk-vendor-load-000", "LOOM_API_KEYS": ",".join(KEYS)}))
        with GatewayThread(app) as gw:
            statuses = asyncio.run(_drive(gw.url))
    # stop() ran the lifespan shutdown, which drains the writer: every line is on disk now.
    assert statuses == [200] * CALLS
    raw = log_path.read_text(encoding="utf-8")
    assert raw.endswith("\n")
    records = [json.loads(line) for line in raw.splitlines()]  # a torn line fails here
    assert len(records) == CALLS
    markers = sorted(int(r["messages"][0]["content"].split("#")[1]) for r in records)
    assert markers == list(range(CALLS))
    for r in records:
        n = r["messages"][0]["content"].split("#")[1]
        assert (r["status"], r["error"], r["response_text"]) == (200, None, f"answer to call #{n}")
        assert r["usage"]["output_tokens"] == 9
    assert sum(r["streamed"] for r in records) == CALLS // 2
    assert len({r["key_id"] for r in records}) == len(KEYS)
    assert upstream.count == CALLS and upstream.vendor_keys == {"sk-vendor-load-000"}
