"""The gateway's small parts: the key allowlist, the rate limiter, the call log and its parsers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from loom.application.credentials import MappingCredentials
from loom.domain.errors import ConfigError
from loom.entrypoints.gateway.calllog import Call, CallLog, parse_body, parse_sse, render
from loom.entrypoints.gateway.keys import KeyRing, key_id, load_keyring
from loom.entrypoints.gateway.ratelimit import RequestWindow, TokenWindow


def test_keyring_reads_env_list_and_file_with_tenants(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("# key tenant owner\n\nk-file-1 acme alice\nk-file-2   beta   # owner defaults\n"
                    "k-single other mallory   # a duplicate: the first definition wins\n")
    ring = load_keyring(MappingCredentials({"LOOM_API_KEY": "k-single", "LOOM_API_KEYS": "k-a, k-b,,",
                                            "LOOM_API_KEYS_FILE": str(keys)}), tenant="t0", owner="o0")
    assert len(ring) == 5
    found = {k: ring.match(k.encode()) for k in ("k-single", "k-a", "k-b", "k-file-1", "k-file-2")}
    assert all(found.values())
    assert (found["k-single"].tenant, found["k-single"].owner) == ("t0", "o0")
    assert (found["k-file-1"].tenant, found["k-file-1"].owner) == ("acme", "alice")
    assert (found["k-file-2"].tenant, found["k-file-2"].owner) == ("beta", "o0")
    assert found["k-file-1"].key_id == key_id("k-file-1") and len(key_id("x")) == 12
    assert ring.match(b"k-file") is None and ring.match(b"") is None and ring.match(None) is None
    assert "k-file-1" not in repr(ring) + repr(found["k-file-1"])


def test_empty_allowlist_matches_nothing() -> None:
    ring = load_keyring(MappingCredentials({}), tenant="t", owner="o")
    assert len(ring) == 0 and ring.match(b"anything") is None


def test_a_bad_key_file_line_is_named_without_showing_the_key(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("ok-key t o\nsecret-key-123 t o extra\n")
    with pytest.raises(ConfigError) as info:
        load_keyring(MappingCredentials({"LOOM_API_KEYS_FILE": str(keys)}), tenant="t", owner="o")
    assert f"{keys}:2" in str(info.value) and "secret-key-123" not in str(info.value)
    with pytest.raises(ConfigError, match="cannot read LOOM_API_KEYS_FILE"):
        load_keyring(MappingCredentials({"LOOM_API_KEYS_FILE": str(tmp_path / "nope")}), tenant="t", owner="o")


def test_match_compares_every_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    import hmac

    from loom.entrypoints.gateway import keys as keys_mod

    ring = KeyRing.from_keys([f"key-{i}" for i in range(10)])
    calls: list[int] = []
    real = hmac.compare_digest
    monkeypatch.setattr(keys_mod.hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    assert ring.match(b"key-0") is not None  # the first entry matches; the other nine still compared
    assert len(calls) == 10


def test_request_window_allows_rpm_in_any_rolling_minute() -> None:
    window = RequestWindow()
    assert [window.check("a", 3, t) for t in (0.0, 10.0, 20.0)] == [0.0, 0.0, 0.0]
    assert window.check("a", 3, 30.0) == pytest.approx(30.0)  # the call at t=0 leaves at t=60
    assert window.check("b", 3, 30.0) == 0.0  # per key
    assert window.check("a", 3, 59.9) == pytest.approx(0.1)
    assert window.check("a", 3, 60.0) == 0.0  # t=0 has left; t=60 now holds the slot
    assert window.check("a", 3, 61.0) == pytest.approx(9.0)  # next to leave: t=10
    # A token bucket would let a second burst through right after the first; a window never does.
    burst = RequestWindow()
    assert sum(burst.check("k", 60, 0.0) == 0.0 for _ in range(100)) == 60
    assert sum(burst.check("k", 60, 59.0) == 0.0 for _ in range(100)) == 0
    assert window.used("a", 61.0) == 3


def test_token_window_sums_the_last_minute() -> None:
    window = TokenWindow()
    window.add("a", 400, 0.0)
    window.add("a", 700, 30.0)
    window.add("a", 0, 31.0)  # nothing to count
    assert window.used("a", 30.0) == 1100 and window.used("b", 30.0) == 0
    assert window.wait("a", 2000, 30.0) == 0.0
    assert window.wait("a", 1000, 30.0) == pytest.approx(30.0)  # under 1000 once t=0 leaves
    assert window.wait("a", 500, 30.0) == pytest.approx(60.0)  # both must leave
    assert window.used("a", 60.0) == 700 and window.wait("a", 1000, 60.0) == 0.0


SSE = (
    'event: message_start\ndata: {"type":"message_start","message":{"model":"m1","usage":{"input_tokens":7,'
    '"output_tokens":1}}}\n\n'
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    '"delta":{"type":"text_delta","text":"Hel"}}\n\n'
    'event: ping\ndata: {"type":"ping"}\n\n'
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    '"delta":{"type":"text_delta","text":"lo \\u00e9"}}\n\n'
    'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},'
    '"usage":{"output_tokens":5}}\n\n'
)


def test_parse_sse_accumulates_text_usage_and_stop_reason() -> None:
    raw = SSE.encode()
    whole = parse_sse(raw)
    assert whole == {"model": "m1", "text": "Hello é", "stop_reason": "end_turn",
                     "usage": {"input_tokens": 7, "output_tokens": 5}}
    # The chunks a stream arrives in do not matter (they are joined before parsing).
    call = Call(0.0, "t", "o", "id", "messages", streamed=True, status=200,
                chunks=[raw[i:i + 7] for i in range(0, len(raw), 7)])
    assert render(call)["response_text"] == "Hello é"
    broken = parse_sse(b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"busy"}}\n\n')
    assert broken["error"] == "overloaded_error: busy" and broken["text"] == ""


def test_parse_sse_rebuilds_streamed_tool_calls() -> None:
    events = [
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "let me check"}},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "name": "submit_review"}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"is_bug": fal'}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": 'se, "metric": 0.9}'}},
        {"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "name": "broken"}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": '{"cut'}},
    ]
    raw = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()
    parsed = parse_sse(raw)
    assert parsed["text"] == "let me check"
    assert parsed["tool_calls"] == [{"name": "submit_review", "input": {"is_bug": False, "metric": 0.9}},
                                    {"name": "broken", "input": '{"cut'}]


def test_parse_body_handles_messages_errors_counts_and_junk() -> None:
    message = {"type": "message", "model": "m", "stop_reason": "end_turn", "usage": {"input_tokens": 1},
               "content": [{"type": "text", "text": "a"}, {"type": "tool_use", "input": {}}, {"type": "text", "text": "b"}]}
    assert parse_body(json.dumps(message).encode())["text"] == "ab"
    assert parse_body(json.dumps(message).encode())["tool_calls"] == [{"name": None, "input": {}}]
    assert parse_body(b'{"type":"error","error":{"type":"api_error","message":"x"}}') == {"error": "api_error: x"}
    assert parse_body(b'{"input_tokens": 12}') == {"usage": {"input_tokens": 12}}
    assert parse_body(b"not json") == {} and parse_body(None) == {} and parse_body(b"[1]") == {}


def test_call_log_single_writer_keeps_every_line_whole(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "calls.jsonl"
    log = CallLog(path)

    async def main() -> None:
        log.start()

        async def producer(p: int) -> None:
            for i in range(100):
                log.put(Call(1.7e9, "t", "o", "id", "messages", status=200,
                             request={"messages": [{"role": "user", "content": f"{p}-{i} " + "x" * 3000}]}))
                if i % 10 == 0:
                    await asyncio.sleep(0)

        await asyncio.gather(*(producer(p) for p in range(20)))
        await log.close()

    asyncio.run(main())
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(records) == 2000 == log.written
    assert len({r["messages"][0]["content"].split()[0] for r in records}) == 2000
    assert oct(path.stat().st_mode & 0o777) == "0o600"  # prompts are private


def test_upstream_client_never_keeps_cookies() -> None:
    import httpx

    from loom.entrypoints.gateway.upstream import _client_class

    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"set-cookie": "session=tenant-a; Path=/"}, json={})

    async def main() -> None:
        async with _client_class()(transport=httpx.MockTransport(handler)) as client:
            await client.get("http://upstream.test/v1/models")
            await client.get("http://upstream.test/v1/models")
            assert not client.cookies

    asyncio.run(main())
    assert seen == [None, None]


def test_pool_reuses_connections_and_survives_servers_that_drop_idle_ones() -> None:
    import httpx

    from loom.entrypoints.gateway.pool import PooledTransport

    accepted = [0]

    async def conn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted[0] += 1
        served = 0
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
                served += 1
                if served == 3:  # then drop the kept-alive connection without a word
                    break
        except asyncio.IncompleteReadError:
            pass
        writer.close()

    async def main() -> list[int]:
        server = await asyncio.start_server(conn, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        limits = httpx.Limits(max_connections=4, keepalive_expiry=30)
        async with httpx.AsyncClient(transport=PooledTransport(limits=limits)) as client:
            codes = []
            for _ in range(7):
                codes.append((await client.get(url)).status_code)
                await asyncio.sleep(0.01)
            codes += [r.status_code for r in await asyncio.gather(*(client.get(url) for _ in range(10)))]
        server.close()
        return codes

    codes = asyncio.run(main())
    assert codes == [200] * 17
    assert 3 <= accepted[0] <= 9  # reused (3 calls per connection), never one per call


def test_pool_waits_for_a_free_connection_at_most_the_pool_timeout() -> None:
    import httpx

    from loom.entrypoints.gateway.pool import PooledTransport

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(5)
        writer.close()

    async def main() -> type[BaseException]:
        server = await asyncio.start_server(hang, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        transport = PooledTransport(limits=httpx.Limits(max_connections=1))
        async with httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(10, pool=0.2)) as client:
            busy = asyncio.create_task(client.get(url))
            await asyncio.sleep(0.05)
            try:
                await client.get(url)
            except httpx.HTTPError as exc:
                caught: type[BaseException] = type(exc)
            busy.cancel()
        server.close()
        return caught

    assert asyncio.run(main()) is httpx.PoolTimeout


def test_call_log_follows_a_rotated_file(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    log = CallLog(path)
    log.put(Call(1.7e9, "t", "o", "id", "messages", status=200))
    path.rename(tmp_path / "calls.jsonl.1")  # what logrotate does
    log.put(Call(1.7e9, "t", "o", "id", "messages", status=201))
    assert [json.loads(x)["status"] for x in path.read_text().splitlines()] == [201]
    assert log.check() is None and CallLog(tmp_path / "calls.jsonl.1" / "x").check() is not None
