"""The fake LLM server and fake CLIs behave like the real wire formats (SDKs over real HTTP)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes import llm_replies
from tests.fakes.llm_server import FakeLLMServer, FakeRequest

REVIEW = {
    "type": "object",
    "properties": {"is_bug": {"type": "boolean"}, "summary": {"type": "string"},
                   "metric": {"type": "number"}, "lower_is_better": {"type": "boolean"}},
    "required": ["is_bug", "summary", "metric", "lower_is_better"],
}


def test_anthropic_sdk_text_tool_stream_and_record(fake_llm: FakeLLMServer) -> None:
    anthropic = pytest.importorskip("anthropic")
    client = anthropic.Anthropic(api_key="sk-ant-fake-111111", base_url=fake_llm.base_url, max_retries=2)
    fake_llm.push("scripted hello")
    fake_llm.push(status=429)
    first = client.messages.create(model="m", max_tokens=50, messages=[{"role": "user", "content": "hi"}])
    assert first.content[0].text == "scripted hello"
    second = client.messages.create(
        model="m", max_tokens=50, tools=[{"name": "submit_review", "input_schema": REVIEW}],
        messages=[{"role": "user", "content": "Validation metric (accuracy): 0.8125"}],
    )
    assert second.content[0].type == "tool_use"
    assert second.content[0].input["metric"] == 0.8125 and second.content[0].input["is_bug"] is False
    with client.messages.stream(model="m", max_tokens=50, messages=[{"role": "user", "content": "hey"}]) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == llm_replies.PLAIN_TEXT and final.usage.output_tokens > 0
    paths = [r.path for r in fake_llm.requests]
    assert paths == ["/v1/messages"] * 4  # the 429 was retried by the SDK
    assert fake_llm.requests[0].headers["authorization"] == "Bearer sk-ant-fake-111111"


def test_openai_sdk_chat_and_responses(fake_llm: FakeLLMServer) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(api_key="sk-oai-fake-222222", base_url=fake_llm.openai_base_url, max_retries=0)
    chat = client.chat.completions.create(
        model="x", messages=[{"role": "user", "content": "hi"}],
        tools=[{"type": "function", "function": {"name": "submit_review", "parameters": REVIEW}}],
    )
    args = json.loads(chat.choices[0].message.tool_calls[0].function.arguments)
    assert set(args) == set(REVIEW["properties"])
    fake_llm.push(malformed=True)
    resp = client.responses.create(model="x", input="hi", tools=[{"type": "function", "name": "submit_review",
                                                                  "parameters": REVIEW}])
    with pytest.raises(json.JSONDecodeError):
        json.loads(resp.output[0].arguments)
    with client.responses.stream(model="x", input="hi") as stream:
        assert stream.get_final_response().output_text == llm_replies.PLAIN_TEXT
    chunks = client.chat.completions.create(model="x", messages=[{"role": "user", "content": "hi"}], stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == llm_replies.PLAIN_TEXT
    fake_llm.push(status=500)
    with pytest.raises(openai.InternalServerError):
        client.responses.create(model="x", input="hi")
    assert fake_llm.requests[-1].body["input"] == "hi"


def test_responder_and_default_code_reply_runs(fake_llm: FakeLLMServer, tmp_path: Path) -> None:
    seen: list[FakeRequest] = []
    fake_llm.set_responder(lambda req: seen.append(req) or None)
    import urllib.request

    body = {"model": "m", "max_tokens": 10, "system": "You are a Kaggle grandmaster.",
            "messages": [{"role": "user", "content": "Write python code for this task."}]}
    req = urllib.request.Request(fake_llm.base_url + "/v1/messages", data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})
    reply = json.loads(urllib.request.urlopen(req, timeout=10).read())
    assert seen and seen[0].system == "You are a Kaggle grandmaster."
    code = re.search(r"```python\n(.*?)```", reply["content"][0]["text"], re.S).group(1)
    (tmp_path / "input").mkdir()
    rows = "\n".join(f"{i},{i % 7},{'a' if i % 3 else 'b'}" for i in range(40))
    (tmp_path / "input" / "train.csv").write_text("id,x,label\n" + rows + "\n")
    (tmp_path / "input" / "test.csv").write_text("id,x\n100,1\n101,2\n")
    (tmp_path / "solution.py").write_text(code)
    run = subprocess.run([sys.executable, "solution.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "Validation metric" in run.stdout
    assert (tmp_path / "submission" / "submission.csv").read_text().splitlines()[1:] == ["100,a", "101,a"]


def test_fake_cli_forwards_to_server_and_logs(fake_llm: FakeLLMServer, fake_cli_bin: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_LLM_URL", fake_llm.base_url)
    fake_llm.push("via claude")
    out = subprocess.run([str(fake_cli_bin / "claude"), "-p", "hello", "--output-format", "json"],
                         capture_output=True, text=True, timeout=30)
    result = json.loads(out.stdout)
    assert result["result"] == "via claude" and result["usage"]["output_tokens"] > 0
    monkeypatch.setenv("FAKE_CODEX_MODE", "logged-out")
    status = subprocess.run([str(fake_cli_bin / "codex"), "login", "status"], capture_output=True, text=True)
    assert status.returncode == 1 and "Not logged in" in status.stderr
