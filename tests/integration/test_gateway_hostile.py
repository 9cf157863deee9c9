"""Hostile requests against the real gateway: deep JSON, non-routes, a Host header aimed
elsewhere, a caller that hangs up mid-body, a bug inside a handler. Each gets an Anthropic-shaped
answer and one log line (when the key is valid), reaches no upstream, and leaves no traceback.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from loom.application.config import LoomConfig
from loom.application.credentials import MappingCredentials
from loom.entrypoints.gateway.app import create_app
from tests.fakes.anthropic_upstream import FastUpstream
from tests.fakes.gateway_thread import GatewayThread, read_log, wait_for_lines

KEY = "lk-hostile-0123456789"
HEADERS = {"x-api-key": KEY, "content-type": "application/json"}
DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture(scope="module")
def upstream() -> Iterator[FastUpstream]:
    with FastUpstream() as up:
        yield up


@pytest.fixture
def gw(upstream: FastUpstream, tmp_path: Path) -> Iterator[GatewayThread]:
    config = LoomConfig(anthropic_base_url=upstream.base_url, proxy_log_path=tmp_path / "calls.jsonl")
    app = create_app(config, credentials=MappingCredentials({"ANTHROPIC_API_KEY": "sk-vendor-hostile-0",
                                                            "LOOM_API_KEY": KEY}))
    with GatewayThread(app) as gateway:
        yield gateway


def nested(depth: int) -> bytes:
    """A messages body whose `metadata` nests `depth` levels in all (the body itself is level 1)."""
    inner = "[" * (depth - 1) + "]" * (depth - 1)
    return (b'{"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}], "metadata": '
            + inner.encode() + b"}")


def test_json_nesting_is_capped_and_logged(gw: GatewayThread, upstream: FastUpstream,
                                           caplog: pytest.LogCaptureFixture) -> None:
    before = upstream.count
    for body in (DEEP, nested(101), b'{"a": ' * 5000 + b"1" + b"}" * 5000):
        resp = httpx.post(gw.url + "/v1/messages", content=body, headers=HEADERS)
        assert resp.status_code == 400, body[:20]
        assert resp.json()["error"] == {"type": "invalid_request_error",
                                        "message": "request body nests deeper than 100 levels"}
    assert upstream.count == before  # nothing forwarded
    assert httpx.post(gw.url + "/v1/messages", content=nested(100), headers=HEADERS).status_code == 200
    records = wait_for_lines(gw.gateway.calllog.path, 4)
    assert [(r["status"], r["error"]) for r in records[:3]] == [
        (400, "request body nests deeper than 100 levels")] * 3
    assert records[3]["status"] == 200
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


def test_trailing_slash_and_other_non_routes_are_404_never_a_redirect(gw: GatewayThread) -> None:
    evil = {**HEADERS, "host": "evil.example"}
    for method, path in (("POST", "/v1/messages/"), ("POST", "/v1/messages/count_tokens/"), ("GET", "/v1/models/"),
                         ("POST", "//v1/messages"), ("GET", "/v1/batches"), ("POST", "/v1/complete")):
        resp = httpx.request(method, gw.url + path, headers=evil, content=b"{}", follow_redirects=False)
        assert resp.status_code == 404, (method, path)
        assert "location" not in resp.headers and "evil.example" not in resp.text
        assert resp.json()["error"]["type"] == "not_found_error"
    wrong = httpx.get(gw.url + "/v1/messages", headers=HEADERS)
    assert wrong.status_code == 405 and wrong.json()["error"]["type"] == "invalid_request_error"
    records = wait_for_lines(gw.gateway.calllog.path, 7)
    assert [(r["route"], r["status"]) for r in records] == [("unrouted", 404)] * 6 + [("unrouted", 405)]
    assert records[0]["error"] == "Not Found: POST /v1/messages/"
    # Without a valid key: the same 404, counted but never logged (nobody can fill the disk).
    refused = gw.gateway.refused
    anonymous = httpx.post(gw.url + "/v1/messages/", headers={"host": "evil.example"}, content=b"{}")
    assert anonymous.status_code == 404 and "location" not in anonymous.headers
    assert gw.gateway.refused == refused + 1 and len(read_log(gw.gateway.calllog.path)) == 7


def test_a_caller_hanging_up_mid_body_is_logged(gw: GatewayThread, upstream: FastUpstream) -> None:
    host, port = gw.url.removeprefix("http://").split(":")
    before = upstream.count
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(f"POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: {KEY}\r\n"
                     "content-type: application/json\r\ncontent-length: 5000\r\n\r\n{\"model\": ".encode())
        time.sleep(0.2)
    [line] = wait_for_lines(gw.gateway.calllog.path, 1)
    assert (line["status"], line["error"]) == (499, "client disconnected while sending the body")
    assert upstream.count == before


def test_a_bug_in_a_handler_is_a_logged_500_without_a_traceback(gw: GatewayThread,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: object, **kwargs: object) -> dict[str, str]:
        raise RuntimeError("a bug in the gateway")

    gw.gateway.upstream.headers = broken  # fault injection: the one way to reach the guard
    caplog.set_level(logging.WARNING)
    resp = httpx.post(gw.url + "/v1/messages", headers=HEADERS, json={"model": "m", "max_tokens": 5, "messages": []})
    assert resp.status_code == 500
    assert resp.json()["error"] == {"type": "api_error", "message": "gateway internal error: RuntimeError"}
    [line] = wait_for_lines(gw.gateway.calllog.path, 1)
    assert (line["status"], line["error"]) == (500, "gateway internal error: RuntimeError")
    [record] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.getMessage() == "gateway: internal error" and not record.exc_info  # traceback only at DEBUG


def test_a_bug_before_the_handler_guard_is_still_one_line(gw: GatewayThread, caplog: pytest.LogCaptureFixture) -> None:
    class BrokenRing:
        entries = ()

        def match(self, presented: bytes) -> None:
            raise RuntimeError("a bug in key matching")

    gw.gateway.keyring = BrokenRing()  # fault injection: fails while authenticating
    caplog.set_level(logging.WARNING)
    resp = httpx.post(gw.url + "/v1/messages", headers=HEADERS, json={})
    assert resp.status_code == 500 and resp.json()["error"]["message"] == "gateway internal error: RuntimeError"
    deadline = time.monotonic() + 5  # logged just after the 500 is sent
    while not [r for r in caplog.records if r.levelno >= logging.WARNING] and time.monotonic() < deadline:
        time.sleep(0.01)
    [record] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.getMessage() == "gateway: internal error" and not record.exc_info


# ---- the same attacks on `loom proxy serve` as users run it: stderr stays clean -------------------
def test_the_served_gateway_prints_no_traceback_under_attack(upstream: FastUpstream, tmp_path: Path) -> None:
    log_path = tmp_path / "calls.jsonl"
    env = {**os.environ, "ANTHROPIC_API_KEY": "sk-vendor-hostile-0", "ANTHROPIC_BASE_URL": upstream.base_url,
           "LOOM_API_KEY": KEY, "LOOM_PROXY_LOG_PATH": str(log_path)}
    proc = subprocess.Popen([sys.executable, "-m", "loom.entrypoints.cli.app", "proxy", "serve", "--port", "0"],
                            env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    try:
        url = proc.stderr.readline().split("listening on ")[1].split()[0]
        attacks = [("POST", "/v1/messages", DEEP), ("POST", "/v1/messages/count_tokens", DEEP),
                   ("POST", "/v1/messages/", b"{}"), ("POST", "/v1/messages", b'{"model": '),
                   ("POST", "/v1/messages", b"\xff\xfe"), ("GET", "/v1/models/..%2F..%2Fv1%2Ffiles", None)]
        codes = [httpx.request(m, url + p, content=b, headers={**HEADERS, "host": "evil.example"}).status_code
                 for m, p, b in attacks]
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert codes == [400, 400, 404, 400, 400, 404]
    assert "Traceback" not in err and "Exception in ASGI" not in err, err
    assert proc.returncode == 0
    assert [json.loads(x)["status"] for x in log_path.read_text().splitlines()] == codes
