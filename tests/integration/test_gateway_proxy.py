"""The gateway end to end: the real anthropic SDK -> the gateway on uvicorn -> a fake upstream.

One gateway per module (random loopback port) in front of the session's fake LLM server;
each test tags its own calls (a unique prompt) and finds its own lines in the call log.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from loom.application.config import LoomConfig
from loom.application.credentials import MappingCredentials
from loom.entrypoints.gateway.app import create_app
from loom.entrypoints.gateway.keys import key_id
from tests.fakes.gateway_thread import GatewayThread, read_log
from tests.fakes.llm_server import FakeLLMServer

VENDOR_KEY = "sk-ant-vendor-0123456789"
ALICE_KEY = "lk-alice-0123456789"
BOB_KEY = "lk-bob-0123456789"
ENV_KEY = "lk-env-0123456789"


def settings(tmp: Path, upstream: str, **extra: Any) -> LoomConfig:
    return LoomConfig(anthropic_base_url=upstream, proxy_log_path=tmp / "proxy_calls.jsonl",
                      tenant="server-tenant", owned_by="server-owner", proxy_max_body_bytes=4096, **extra)


def credentials(tmp: Path) -> MappingCredentials:
    keys_file = tmp / "keys.txt"
    keys_file.write_text(f"# key tenant owner\n{ALICE_KEY}  acme  alice\n\n{BOB_KEY} globex bob  # a comment\n")
    return MappingCredentials({"ANTHROPIC_API_KEY": VENDOR_KEY, "LOOM_API_KEYS": f" {ENV_KEY} ,",
                               "LOOM_API_KEYS_FILE": str(keys_file)})


@pytest.fixture(scope="module")
def gateway(fake_llm_server: FakeLLMServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayThread]:
    tmp = tmp_path_factory.mktemp("gateway")
    app = create_app(settings(tmp, fake_llm_server.base_url), credentials=credentials(tmp))
    with GatewayThread(app) as gw:
        yield gw


@pytest.fixture
def log_path(gateway: GatewayThread) -> Path:
    return Path(gateway.gateway.calllog.path)


def sdk(gateway: GatewayThread, key: str = ALICE_KEY, **kwargs: Any) -> Any:
    import anthropic

    return anthropic.Anthropic(api_key=key, base_url=gateway.url, max_retries=0, **kwargs)


def tag() -> str:
    return f"marker-{uuid.uuid4().hex[:10]}"


def lines_with(log_path: Path, marker: str, count: int = 1) -> list[dict[str, Any]]:
    """This test's log lines (those whose messages mention `marker`), waiting for the writer."""
    deadline = time.monotonic() + 10
    while True:
        found = [r for r in read_log(log_path) if marker in json.dumps(r.get("messages"))]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


def test_plain_call_through_the_sdk_uses_the_vendor_key_and_is_logged(gateway, fake_llm, log_path) -> None:
    marker = tag()
    fake_llm.push(f"hello from upstream {marker}")
    reply = sdk(gateway).messages.create(
        model="fake-model", max_tokens=64, system="be brief",
        messages=[{"role": "user", "content": f"say hi {marker}"}])
    assert reply.content[0].text == f"hello from upstream {marker}"

    [seen] = fake_llm.requests
    assert seen.headers["x-api-key"] == VENDOR_KEY
    assert "anthropic-version" in seen.headers
    assert ALICE_KEY not in json.dumps(seen.headers)
    assert "authorization" not in seen.headers

    [line] = lines_with(log_path, marker)
    assert (line["tenant"], line["owner"], line["key_id"]) == ("acme", "alice", key_id(ALICE_KEY))
    assert line["model"] == "fake-model" and line["system"] == "be brief"
    assert line["messages"] == [{"role": "user", "content": f"say hi {marker}"}]
    assert line["response_text"] == f"hello from upstream {marker}"
    assert line["usage"]["input_tokens"] > 0 and line["usage"]["output_tokens"] > 0
    assert line["status"] == 200 and line["streamed"] is False and line["error"] is None
    assert line["latency_ms"] > 0 and line["ts"].endswith("+00:00")
    assert line["request_id"].startswith("req_fake_")
    assert ALICE_KEY not in log_path.read_text() and VENDOR_KEY not in log_path.read_text()


def test_streamed_call_passes_events_through_and_logs_the_text(gateway, fake_llm, log_path) -> None:
    marker = tag()
    text = f"a streamed answer that spans several delta events {marker} " * 3
    fake_llm.push(text)
    with sdk(gateway, BOB_KEY).messages.stream(
            model="fake-model", max_tokens=64,
            messages=[{"role": "user", "content": f"stream please {marker}"}]) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) > 1 and "".join(pieces) == text
    assert final.usage.output_tokens > 0
    assert fake_llm.requests[0].headers["x-api-key"] == VENDOR_KEY

    [line] = lines_with(log_path, marker)
    assert line["streamed"] is True and line["status"] == 200 and line["error"] is None
    assert line["response_text"] == text
    assert (line["tenant"], line["owner"]) == ("globex", "bob")
    assert line["usage"]["output_tokens"] == final.usage.output_tokens
    assert line["stop_reason"] == "end_turn"
    assert 0 < line["ttfb_ms"] <= line["latency_ms"]


@pytest.mark.parametrize("how", ["wrong x-api-key", "wrong bearer", "missing"])
def test_bad_or_missing_key_is_refused_with_nothing_forwarded_or_logged(gateway, fake_llm, log_path, how) -> None:
    headers = {"anthropic-version": "2023-06-01"}
    if how == "wrong x-api-key":
        headers["x-api-key"] = ALICE_KEY + "x"
    elif how == "wrong bearer":
        headers["authorization"] = "Bearer " + VENDOR_KEY  # even the vendor key is not a caller key
    before_lines, before_refused = len(read_log(log_path)), gateway.gateway.refused
    resp = httpx.post(gateway.url + "/v1/messages", headers=headers, json={
        "model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})
    assert resp.status_code == 401
    assert resp.json()["type"] == "error"
    assert resp.json()["error"]["type"] == "authentication_error"
    assert fake_llm.requests == []
    assert gateway.gateway.refused == before_refused + 1
    assert len(read_log(log_path)) == before_lines
    assert httpx.get(gateway.url + "/healthz").json()["refused"] >= before_refused + 1


def test_the_sdk_sees_a_bad_key_as_its_authentication_error(gateway, fake_llm) -> None:
    import anthropic

    with pytest.raises(anthropic.AuthenticationError):
        sdk(gateway, "lk-nobody-000000").models.list()
    assert fake_llm.requests == []


def test_a_spoofed_tenant_header_does_not_change_the_logged_tenant(gateway, fake_llm, log_path) -> None:
    marker = tag()
    client = sdk(gateway, ENV_KEY, default_headers={
        "x-loom-tenant": "evil-corp", "x-loom-owner": "mallory", "x-tenant": "evil-corp",
        "x-loom-skill": "summarize", "x-loom-trajectory": "traj-7"})
    client.messages.create(model="fake-model", max_tokens=16,
                           messages=[{"role": "user", "content": f"hi {marker}"}])
    [line] = lines_with(log_path, marker)
    assert (line["tenant"], line["owner"]) == ("server-tenant", "server-owner")  # env keys: server's
    assert (line["skill"], line["trajectory"]) == ("summarize", "traj-7")
    assert "x-loom-tenant" not in fake_llm.requests[0].headers


def test_count_tokens_and_models_are_forwarded(gateway, fake_llm, log_path) -> None:
    client = sdk(gateway)
    marker = tag()
    counted = client.messages.count_tokens(model="fake-model",
                                           messages=[{"role": "user", "content": f"count me {marker}"}])
    assert counted.input_tokens > 0
    ids = [m.id for m in client.models.list()]
    assert "fake-model" in ids
    client.beta.messages.create(model="fake-model", max_tokens=8, messages=[{"role": "user", "content": "b"}],
                                betas=["some-beta-2025-01-01"])
    httpx.post(gateway.url + "/v1/messages?beta=true", headers={"x-api-key": ALICE_KEY},
               json={"model": "fake-model", "max_tokens": 8, "messages": [{"role": "user", "content": "q"}]})
    paths = [r.path for r in fake_llm.requests]
    assert [p.split("?")[0] for p in paths] == ["/v1/messages/count_tokens", "/v1/models", "/v1/messages",
                                                "/v1/messages"]
    assert fake_llm.requests[2].headers["anthropic-beta"] == "some-beta-2025-01-01"
    assert paths[3] == "/v1/messages?beta=true"  # the query passes through
    assert all(r.headers["x-api-key"] == VENDOR_KEY for r in fake_llm.requests)
    [line] = lines_with(log_path, marker)
    assert line["route"] == "count_tokens" and line["usage"] == {"input_tokens": counted.input_tokens}


def _post(gateway: GatewayThread, content: bytes, key: str = ALICE_KEY) -> httpx.Response:
    return httpx.post(gateway.url + "/v1/messages", content=content,
                      headers={"x-api-key": key, "content-type": "application/json"})


def test_bad_json_is_400_and_not_forwarded(gateway, fake_llm) -> None:
    for body in (b'{"model": "m", "messages": [', b'["a", "list"]'):
        resp = _post(gateway, body)
        assert resp.status_code == 400
        assert resp.json()["error"]["type"] == "invalid_request_error"
    assert fake_llm.requests == []


def test_oversize_body_is_413_and_not_forwarded(gateway, fake_llm) -> None:
    body = json.dumps({"model": "m", "max_tokens": 5,
                       "messages": [{"role": "user", "content": "x" * 5000}]}).encode()
    resp = _post(gateway, body)
    assert resp.status_code == 413
    assert resp.json()["error"]["type"] == "request_too_large"
    assert fake_llm.requests == []


@pytest.mark.parametrize("status", [400, 429, 500, 529])
def test_upstream_errors_pass_through_as_they_are(gateway, fake_llm, log_path, status) -> None:
    marker = tag()
    fake_llm.push(status=status, error_message=f"upstream says no {marker}")
    resp = _post(gateway, json.dumps({"model": "m", "max_tokens": 5,
                                      "messages": [{"role": "user", "content": marker}]}).encode())
    assert resp.status_code == status
    assert resp.json()["error"]["message"] == f"upstream says no {marker}"
    assert resp.headers["retry-after-ms"] == "1"
    [line] = lines_with(log_path, marker)
    assert line["status"] == status and marker in line["error"]


def test_upstream_error_on_a_streamed_call_passes_through(gateway, fake_llm) -> None:
    import anthropic

    fake_llm.push(status=529)
    with pytest.raises(anthropic.APIStatusError) as info:
        with sdk(gateway).messages.stream(model="m", max_tokens=5,
                                          messages=[{"role": "user", "content": "hi"}]) as stream:
            list(stream.text_stream)
    assert info.value.status_code == 529


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_an_upstream_echoing_the_vendor_key_never_hands_it_to_the_caller_or_the_log(
        gateway, fake_llm, log_path, stream) -> None:
    marker = tag()
    fake_llm.push(status=400, echo_headers=True, error_message=f"bad request {marker}")
    payload = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": marker}]}
    if stream:
        payload["stream"] = True
    resp = _post(gateway, json.dumps(payload).encode())
    assert VENDOR_KEY in json.dumps(fake_llm.requests[-1].headers)  # the key did go upstream
    assert resp.status_code == 400
    message = resp.json()["error"]["message"]  # still the upstream's Anthropic-shaped error
    assert f"bad request {marker}" in message and "x-api-key=[REDACTED" in message
    assert VENDOR_KEY not in resp.text and VENDOR_KEY[:12] not in resp.text
    [line] = lines_with(log_path, marker)
    assert line["status"] == 400 and marker in line["error"]
    assert VENDOR_KEY[:12] not in log_path.read_text()


def test_unknown_route_is_an_anthropic_shaped_404(gateway) -> None:
    resp = httpx.get(gateway.url + "/v1/nope", headers={"x-api-key": ALICE_KEY})
    assert resp.status_code == 404 and resp.json()["type"] == "error"


def test_upstream_down_is_502_and_logged(tmp_path: Path) -> None:
    import anthropic

    from loom.entrypoints.gateway.server import bind

    with bind("127.0.0.1", 0) as sock:  # a port nobody listens on
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = create_app(settings(tmp_path, dead), credentials=credentials(tmp_path))
    with GatewayThread(app) as gw:
        with pytest.raises(anthropic.InternalServerError) as info:
            sdk(gw).messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
        assert info.value.status_code == 502
        assert "upstream unreachable" in info.value.message
    [line] = read_log(tmp_path / "proxy_calls.jsonl")  # stop() drained the log
    assert line["status"] == 502 and "upstream unreachable" in line["error"]
    assert line["tenant"] == "acme"


def test_rate_limit_is_429_per_key(fake_llm: FakeLLMServer, tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, fake_llm.base_url, proxy_rate_limit_rpm=2),
                     credentials=credentials(tmp_path))
    body = json.dumps({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}).encode()
    with GatewayThread(app) as gw:
        codes = [_post(gw, body).status_code for _ in range(3)]
        other = _post(gw, body, key=BOB_KEY)
        limited = _post(gw, body)
    assert codes == [200, 200, 429]
    assert other.status_code == 200  # buckets are per key
    assert limited.json()["error"]["type"] == "rate_limit_error"
    assert int(limited.headers["retry-after"]) >= 1
    assert len(fake_llm.requests) == 3
    statuses = [r["status"] for r in read_log(tmp_path / "proxy_calls.jsonl")]
    assert sorted(statuses) == [200, 200, 200, 429, 429]


def test_missing_vendor_key_fails_at_start_not_per_call(tmp_path: Path) -> None:
    from loom.domain.errors import MissingCredentialError

    with pytest.raises(MissingCredentialError, match="ANTHROPIC_API_KEY"):
        create_app(settings(tmp_path, "http://127.0.0.1:9"), credentials=MappingCredentials({"LOOM_API_KEY": "k" * 8}))


def test_loom_proxy_model_adapter_talks_through_the_gateway(gateway, fake_llm, log_path) -> None:
    from loom.adapters.models.loom_proxy import LoomProxyModel
    from loom.domain.llm import ChatRequest, ToolSpec

    config = LoomConfig(api_base=gateway.url, llm_max_retries=0)
    model = LoomProxyModel(config, credentials=MappingCredentials({"LOOM_API_KEY": BOB_KEY}))
    marker = tag()
    fake_llm.push(f"plain reply {marker}")
    reply = model.complete(ChatRequest(system="sys", user=f"write code {marker}", model="fake-model"))
    assert reply.text == f"plain reply {marker}"
    review = ToolSpec("submit_review", "judge", {"type": "object", "properties": {
        "is_bug": {"type": "boolean"}, "summary": {"type": "string"}}, "required": ["is_bug", "summary"]})
    judged = model.complete(ChatRequest(system="judge", user=f"review {marker}", model="fake-model", tool=review))
    assert set(judged.tool_args or {}) >= {"is_bug", "summary"}
    assert all(r.headers["x-api-key"] == VENDOR_KEY for r in fake_llm.requests)
    lines = lines_with(log_path, marker, count=2)
    assert [(r["tenant"], r["owner"]) for r in lines] == [("globex", "bob")] * 2
    assert lines[0]["response_text"] == f"plain reply {marker}" and lines[0]["tool_calls"] is None
    assert lines[1]["tool_calls"] == [{"name": "submit_review", "input": judged.tool_args}]


def test_model_ids_cannot_walk_to_other_upstream_endpoints(gateway, fake_llm) -> None:
    headers = {"x-api-key": ALICE_KEY}
    for sneaky in ("/v1/models/..%2F..%2Fv1%2Fmessages%2Fbatches", "/v1/models/%2E%2E",
                   "/v1/models/../messages/batches"):
        resp = httpx.get(gateway.url + sneaky, headers=headers)
        assert resp.status_code == 404 and resp.json()["type"] == "error", sneaky
    assert fake_llm.requests == []
    httpx.get(gateway.url + "/v1/models/fake-model?beta=true", headers=headers)
    assert [r.path for r in fake_llm.requests] == ["/v1/models/fake-model?beta=true"]
