"""Streams that go wrong: the upstream breaks mid-stream, the caller hangs up, the upstream stalls.

The upstream here is a raw socket server (tests/fakes' fake LLM always finishes its streams).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from loom.application.config import LoomConfig
from loom.application.credentials import MappingCredentials
from loom.entrypoints.gateway.app import create_app
from tests.fakes.gateway_thread import GatewayThread, read_log

KEY = "lk-streams-0123456789"
START = {"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
         "model": "raw-model", "content": [], "stop_reason": None, "usage": {"input_tokens": 3, "output_tokens": 1}}}
BLOCK = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
DELTA = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "partial answer"}}


def sse(event: dict) -> bytes:
    data = f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
    return b"%x\r\n%s\r\n" % (len(data), data)


@pytest.fixture
def raw_upstream() -> Iterator[Callable[[Callable[[socket.socket], None]], str]]:
    """Start a one-thread-per-connection socket server running `handler(conn)`; yields its URL."""
    servers: list[socket.socket] = []

    def start(handler: Callable[[socket.socket], None]) -> str:
        srv = socket.create_server(("127.0.0.1", 0))
        servers.append(srv)

        def accept() -> None:
            while True:
                try:
                    conn, _ = srv.accept()
                except OSError:
                    return
                threading.Thread(target=_serve, args=(conn, handler), daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()
        return f"http://127.0.0.1:{srv.getsockname()[1]}"

    yield start
    for srv in servers:
        srv.close()


def _serve(conn: socket.socket, handler: Callable[[socket.socket], None]) -> None:
    with conn:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        handler(conn)


HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


def gateway_for(tmp_path: Path, upstream: str, **extra: object) -> GatewayThread:
    config = LoomConfig(anthropic_base_url=upstream, proxy_log_path=tmp_path / "calls.jsonl", **extra)
    return GatewayThread(create_app(config, credentials=MappingCredentials(
        {"ANTHROPIC_API_KEY": "sk-vendor-streams-0", "LOOM_API_KEY": KEY})))


def wait_log(path: Path, timeout: float = 10.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while not read_log(path) and time.monotonic() < deadline:
        time.sleep(0.02)
    return read_log(path)


def test_upstream_breaking_mid_stream_ends_with_an_error_event(raw_upstream, tmp_path: Path) -> None:
    import anthropic

    def handler(conn: socket.socket) -> None:
        conn.sendall(HEAD + sse(START) + sse(BLOCK) + sse(DELTA) + b"ff\r\nevent: content_blo")  # then hang up mid-chunk

    with gateway_for(tmp_path, raw_upstream(handler)) as gw:
        client = anthropic.Anthropic(api_key=KEY, base_url=gw.url, max_retries=0)
        got: list[str] = []
        with pytest.raises(anthropic.APIError, match="upstream stream broke"):
            with client.messages.stream(model="raw-model", max_tokens=5,
                                        messages=[{"role": "user", "content": "hi"}]) as stream:
                for text in stream.text_stream:
                    got.append(text)
        assert got == ["partial answer"]
        [line] = wait_log(tmp_path / "calls.jsonl")
    assert line["streamed"] is True and line["status"] == 200
    assert line["response_text"] == "partial answer"
    assert line["error"].startswith("upstream stream broke")


def test_caller_hanging_up_mid_stream_is_logged(raw_upstream, tmp_path: Path) -> None:
    release = threading.Event()

    def handler(conn: socket.socket) -> None:
        conn.sendall(HEAD + sse(START) + sse(BLOCK) + sse(DELTA))
        release.wait(10)  # the rest never comes while the caller is there
        try:
            conn.sendall(sse({"type": "message_stop"}) + b"0\r\n\r\n")
        except OSError:
            pass

    with gateway_for(tmp_path, raw_upstream(handler)) as gw:
        body = {"model": "raw-model", "max_tokens": 5, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        with httpx.stream("POST", gw.url + "/v1/messages", json=body, headers={"x-api-key": KEY}) as resp:
            first = next(resp.iter_raw())
        assert b"message_start" in first
        lines = wait_log(tmp_path / "calls.jsonl")  # logged while the upstream still hangs
        release.set()
        [line] = lines
    assert line["streamed"] is True and line["error"] == "client disconnected"
    assert line["response_text"].startswith("partial answer")


def test_upstream_stall_is_504(raw_upstream, tmp_path: Path) -> None:
    stall = threading.Event()

    def handler(conn: socket.socket) -> None:
        stall.wait(10)

    with gateway_for(tmp_path, raw_upstream(handler), llm_timeout=0.3) as gw:
        resp = httpx.post(gw.url + "/v1/messages", headers={"x-api-key": KEY},
                          json={"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})
        stall.set()
    assert resp.status_code == 504
    assert resp.json()["error"]["type"] == "api_error" and "timed out" in resp.json()["error"]["message"]
    [line] = read_log(tmp_path / "calls.jsonl")
    assert line["status"] == 504


def test_a_stream_that_ends_without_message_stop_is_an_error(raw_upstream, tmp_path: Path) -> None:
    def handler(conn: socket.socket) -> None:  # a clean end of the HTTP body, but the answer is cut short
        conn.sendall(HEAD + sse(START) + sse(BLOCK) + sse(DELTA) + b"0\r\n\r\n")

    with gateway_for(tmp_path, raw_upstream(handler)) as gw:
        body = {"model": "raw-model", "max_tokens": 5, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        with httpx.stream("POST", gw.url + "/v1/messages", json=body, headers={"x-api-key": KEY}) as resp:
            raw = b"".join(resp.iter_raw())
        [line] = wait_log(tmp_path / "calls.jsonl")
    assert raw.endswith(b"event: error\ndata: " + json.dumps(
        {"type": "error", "error": {"type": "api_error", "message": "upstream stream ended without message_stop"}}
    ).encode() + b"\n\n")
    assert line["status"] == 200 and line["error"] == "upstream stream ended without message_stop"
    assert line["response_text"] == "partial answer" and line["usage"] == {"input_tokens": 3, "output_tokens": 1}


def test_a_stream_that_ends_with_message_stop_is_not_an_error(raw_upstream, tmp_path: Path) -> None:
    def handler(conn: socket.socket) -> None:
        conn.sendall(HEAD + sse(START) + sse(BLOCK) + sse(DELTA) + sse({"type": "message_stop"}) + b"0\r\n\r\n")

    with gateway_for(tmp_path, raw_upstream(handler)) as gw:
        body = {"model": "raw-model", "max_tokens": 5, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        with httpx.stream("POST", gw.url + "/v1/messages", json=body, headers={"x-api-key": KEY}) as resp:
            raw = b"".join(resp.iter_raw())
        [line] = wait_log(tmp_path / "calls.jsonl")
    assert raw.endswith(b'data: {"type": "message_stop"}\n\n') and b"event: error" not in raw
    assert line["error"] is None


def test_reloading_the_keys_never_drops_a_call_in_flight(raw_upstream, tmp_path: Path) -> None:
    release = threading.Event()

    def handler(conn: socket.socket) -> None:
        conn.sendall(HEAD + sse(START) + sse(BLOCK) + sse(DELTA))
        release.wait(10)
        conn.sendall(sse({"type": "message_stop"}) + b"0\r\n\r\n")

    keys = tmp_path / "keys"
    keys.write_text(f"{KEY} acme alice max_parallel=1\n")
    config = LoomConfig(anthropic_base_url=raw_upstream(handler), proxy_log_path=tmp_path / "calls.jsonl")
    said: list[str] = []
    app = create_app(config, credentials=MappingCredentials({"ANTHROPIC_API_KEY": "sk-vendor-streams-0",
                                                            "LOOM_API_KEYS_FILE": str(keys)}),
                     keys_poll_s=0.05, announce=said.append)
    body = {"model": "raw-model", "max_tokens": 5, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    new_key = "lk-streams-new-0123456789"
    with GatewayThread(app) as gw:
        with httpx.stream("POST", gw.url + "/v1/messages", json=body, headers={"x-api-key": KEY}) as resp:
            chunks = resp.iter_raw()
            first = next(chunks)
            keys.write_text("lk-this-line-is-broken t o rpm=zero\n")  # a bad edit: the old keys stay
            _wait(lambda: any("not reloaded" in s for s in said))
            keys.write_text(f"{new_key} acme carol\n")  # the streaming key is removed
            _wait(lambda: any("reloaded 1 API key" in s for s in said))
            gone = httpx.post(gw.url + "/v1/messages", json=body, headers={"x-api-key": KEY})
            release.set()
            rest = b"".join(chunks)
        listed = httpx.get(gw.url + "/v1/models", headers={"x-api-key": new_key})
    line, other = read_log(tmp_path / "calls.jsonl")  # stop() drained the log
    assert listed.status_code == 200 and (other["route"], other["owner"]) == ("models", "carol")
    assert b"message_start" in first and rest.endswith(b'data: {"type": "message_stop"}\n\n')
    assert gone.status_code == 401
    assert line["status"] == 200 and line["error"] is None and line["owner"] == "alice"
    assert gw.gateway.limits.inflight == {}  # the old key's max_parallel slot was given back
    assert "keys file not reloaded" in said[0] and "rpm must be" in said[0] and "lk-this" not in said[0]


def _wait(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
