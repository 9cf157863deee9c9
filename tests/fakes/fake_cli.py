"""The logic behind the fake `claude` and `codex` executables in tests/fakes/bin/.

They mimic `claude -p PROMPT --output-format json` and `codex exec --json --output-schema FILE`
(and `codex login status`) closely enough for Loom's subscription adapters.

Environment knobs (all optional):
- FAKE_LLM_URL: forward the prompt to a FakeLLMServer (Anthropic Messages shape) so tests can
  script replies, errors and assert on what was sent. Without it, the deterministic defaults
  of tests/fakes/llm_replies.py answer locally.
- FAKE_CLAUDE_MODE / FAKE_CODEX_MODE: `ok` (default) | `logged-out` | `fail` (exit 1 with a
  generic error) | `garbage` (non-JSON stdout).
- FAKE_CLI_LOG: append one JSON line per invocation ({"cli", "argv", "stdin", "key_env": the
  names of key-looking env vars the CLI saw}) to this file.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

if __package__ in (None, ""):  # run as a script: make `tests.fakes` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.fakes import llm_replies  # noqa: E402


def _log(cli: str, argv: list[str], stdin: str) -> None:
    path = os.environ.get("FAKE_CLI_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            keys = sorted(k for k in os.environ if k.endswith(("_API_KEY", "_API_KEYS", "_TOKEN")))
            handle.write(json.dumps({"cli": cli, "argv": argv, "stdin": stdin, "key_env": keys}) + "\n")


def _ask(cli: str, model: str, system: str, prompt: str, schema: dict[str, Any] | None) -> tuple[str, int, int]:
    """(reply text, input tokens, output tokens); a schema makes the reply a JSON object."""
    url = os.environ.get("FAKE_LLM_URL")
    if not url:
        text = (json.dumps(llm_replies.default_tool_args(schema, f"{system}\n{prompt}")) if schema
                else llm_replies.default_text(f"{system}\n{prompt}"))
        return text, max(1, len(system + prompt) // 4), max(1, len(text) // 4)
    body: dict[str, Any] = {"model": model or "fake-model", "max_tokens": 4096,
                            "messages": [{"role": "user", "content": prompt}]}
    if system:
        body["system"] = system
    if schema:
        body["tools"] = [{"name": "structured_output", "description": "answer", "input_schema": schema}]
    req = urllib.request.Request(url.rstrip("/") + "/v1/messages", data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json", "user-agent": f"fake-{cli}"})
    with urllib.request.urlopen(req, timeout=60) as resp:  # HTTPError propagates to the caller
        data = json.loads(resp.read())
    block = data["content"][0]
    text = json.dumps(block["input"]) if block["type"] == "tool_use" else block["text"]
    return text, data["usage"]["input_tokens"], data["usage"]["output_tokens"]


def schema_in_prompt(prompt: str) -> dict[str, Any] | None:
    """The JSON schema a prompt embeds after the words "JSON schema:" (how Loom asks for JSON)."""
    at = prompt.find("JSON schema:")
    start = prompt.find("{", at) if at >= 0 else -1
    if start < 0:
        return None
    try:
        schema, _ = json.JSONDecoder().raw_decode(prompt[start:])
    except json.JSONDecodeError:
        return None
    return schema if isinstance(schema, dict) else None


def _opt(argv: list[str], *names: str) -> str | None:
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def _positional(argv: list[str], takes_value: set[str]) -> list[str]:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg.startswith("-") and arg != "-":
            skip = arg in takes_value
            continue
        out.append(arg)
    return out


def claude_main(argv: list[str]) -> int:
    stdin = "" if sys.stdin.isatty() else sys.stdin.read()
    _log("claude", argv, stdin)
    if "--version" in argv:
        print("2.0.0 (Claude Code, fake)")
        return 0
    mode = os.environ.get("FAKE_CLAUDE_MODE", "ok")
    takes = {"--output-format", "--model", "--system-prompt", "--append-system-prompt", "--max-turns",
             "--allowedTools", "--disallowedTools", "--tools", "--json-schema", "--permission-mode", "--settings"}
    words = _positional(argv, takes)
    prompt = " ".join(words) if words else stdin
    base = {"type": "result", "duration_ms": 12, "duration_api_ms": 10, "num_turns": 1,
            "session_id": "fake-session-0001"}
    if mode == "logged-out":
        print(json.dumps({**base, "subtype": "success", "is_error": True,
                          "result": "Invalid API key · Please run /login", "total_cost_usd": 0,
                          "usage": {"input_tokens": 0, "output_tokens": 0}}))
        return 1
    if mode == "fail":
        print("Error: fake claude failure", file=sys.stderr)
        return 1
    if mode == "garbage":
        print("this is not json")
        return 0
    schema_text = _opt(argv, "--json-schema")
    schema = json.loads(schema_text) if schema_text else schema_in_prompt(prompt)
    started = time.time()
    try:
        text, n_in, n_out = _ask("claude", _opt(argv, "--model") or "", _opt(argv, "--system-prompt") or "",
                                 prompt, schema)
    except urllib.error.HTTPError as exc:
        print(json.dumps({**base, "subtype": "success", "is_error": True,
                          "result": f"API Error: {exc.code} {exc.read().decode(errors='replace')}",
                          "total_cost_usd": 0, "usage": {"input_tokens": 0, "output_tokens": 0}}))
        return 1
    usage = {"input_tokens": n_in, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
             "output_tokens": n_out, "service_tier": "standard"}
    print(json.dumps({**base, "subtype": "success", "is_error": False, "result": text,
                      "duration_ms": int((time.time() - started) * 1000) + 1,
                      "total_cost_usd": round((n_in * 3 + n_out * 15) / 1e6, 8), "usage": usage}))
    return 0


def codex_main(argv: list[str]) -> int:
    stdin = "" if sys.stdin.isatty() else sys.stdin.read()
    _log("codex", argv, stdin)
    mode = os.environ.get("FAKE_CODEX_MODE", "ok")
    if "--version" in argv:
        print("codex-cli 0.50.0 (fake)")
        return 0
    if argv[:2] == ["login", "status"]:
        if mode == "logged-out":
            print("Not logged in", file=sys.stderr)
            return 1
        print("Logged in using ChatGPT", file=sys.stderr)
        return 0
    if not argv or argv[0] != "exec":
        print(f"fake codex: unsupported command {argv[:1]}", file=sys.stderr)
        return 2
    args = argv[1:]
    if mode == "logged-out":
        print("Error: Not logged in. Run `codex login`.", file=sys.stderr)
        return 1
    if mode == "fail":
        print("Error: fake codex failure", file=sys.stderr)
        return 1
    takes = {"--output-schema", "-m", "--model", "-c", "--config", "-s", "--sandbox", "-C", "--cd",
             "-o", "--output-last-message", "-p", "--profile"}
    words = _positional(args, takes)
    prompt = stdin if (not words or words == ["-"]) else " ".join(words)
    schema_path = _opt(args, "--output-schema")
    schema = json.loads(open(schema_path, encoding="utf-8").read()) if schema_path else None
    if mode == "garbage":
        print("this is not json")
        return 0
    try:
        text, n_in, n_out = _ask("codex", _opt(args, "-m", "--model") or "", "", prompt, schema)
    except urllib.error.HTTPError as exc:
        print(json.dumps({"type": "turn.failed", "error": {"message": f"unexpected status {exc.code}"}}))
        print(f"Error: unexpected status {exc.code}", file=sys.stderr)
        return 1
    last = _opt(args, "-o", "--output-last-message")
    if last:
        with open(last, "w", encoding="utf-8") as handle:
            handle.write(text)
    if "--json" in args:
        for event in (
            {"type": "thread.started", "thread_id": "fake-thread-0001"},
            {"type": "turn.started"},
            {"type": "item.completed", "item": {"id": "item_0", "type": "agent_message", "text": text}},
            {"type": "turn.completed", "usage": {"input_tokens": n_in, "cached_input_tokens": 0,
                                                 "output_tokens": n_out}},
        ):
            print(json.dumps(event))
    else:
        print("[fake codex] thinking...", file=sys.stderr)
        print(f"tokens used: {n_in + n_out}", file=sys.stderr)
        print(text)
    return 0


if __name__ == "__main__":  # `python fake_cli.py claude|codex ARGS...` (what the fixture's wrappers run)
    sys.exit({"claude": claude_main, "codex": codex_main}[sys.argv[1]](sys.argv[2:]))
