"""A fake LLM HTTP server for tests and benches: real HTTP on 127.0.0.1, random port.

It speaks enough of three APIs for the real `anthropic` / `openai` SDKs (and AIDE through them):

- Anthropic Messages: `POST /v1/messages` (text; a `tool_use` block when `tools` are given;
  `"stream": true` -> SSE message_start / content_block_start / content_block_delta /
  content_block_stop / message_delta / message_stop), `POST /v1/messages/count_tokens`,
  `GET /v1/models`.
- OpenAI Chat Completions: `POST /v1/chat/completions` (text, `tool_calls`, `stream`).
- OpenAI Responses: `POST /v1/responses` (text, `function_call` output items, `stream`).
(Paths also work without the `/v1` prefix, e.g. for a base URL that already ends in /v1.)

API::

    from tests.fakes.llm_server import FakeLLMServer, Reply

    server = FakeLLMServer().start()          # background thread; .stop() when done
    server.base_url                           # "http://127.0.0.1:PORT" (anthropic base URL)
    server.openai_base_url                    # base_url + "/v1" (what the openai SDK wants)
    server.push("hello")                      # next reply: this text
    server.push(tool_args={"is_bug": False})  # next reply: this tool call
    server.push(status=429)                   # next reply: HTTP 429 (retry-after-ms: 1)
    server.push(status=500, times=2)          # the next two replies: HTTP 500
    server.push(delay=2.0)                    # next reply sleeps 2 s first (timeouts)
    server.push(malformed=True)               # next tool call has broken/mismatching args
    server.push(status=400, echo_headers=True) # an error body echoing the request headers (keys!)
    server.set_responder(fn)                  # fn(FakeRequest) -> str | dict | Reply | None
    server.models.append("x/no-tools-1")     # GET /v1/models ids ("no-tools" ids: no tool support)
    server.requests                           # [Recorded(path, method, headers, body)], thread-safe copy
    server.reset()                            # clear queue, responder and record
    server.stop()

Replies come from, in order: the scripted queue (FIFO, across all endpoints), the responder
(None = fall through), then deterministic defaults (tests/fakes/llm_replies.py): a ```python
solution block when the prompt asks for code, else a fixed sentence; for tools, args generated
from the tool's JSON schema. Header names in `Recorded.headers` are lower-case.

Pytest: the `fake_llm` fixture (tests/fakes/plugin.py) yields a reset server shared by the
session. Benches: `python -m tests.fakes.llm_server --port 8099` serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes import llm_formats, llm_replies


@dataclass
class Reply:
    """One scripted reply. `status` >= 400 makes an API-shaped error body."""

    text: str | None = None
    tool_args: dict[str, Any] | None = None
    status: int = 200
    delay: float = 0.0
    malformed: bool = False
    retry_after_ms: int | None = 1  # tells the SDKs how long to back off on 429/5xx
    input_tokens: int | None = None
    output_tokens: int | None = None
    error_message: str = ""
    echo_headers: bool = False  # an error whose message echoes the request's headers (keys too)


@dataclass(frozen=True)
class Recorded:
    path: str
    method: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeRequest:
    """A request parsed across the three APIs (what a responder receives)."""

    api: str  # "anthropic" | "chat" | "responses"
    model: str
    system: str
    user: str  # all non-system message text, joined
    tools: list[dict[str, Any]]  # normalized: {name, description, parameters}
    tool_name: str | None  # the tool to call (forced by tool_choice, else the first)
    stream: bool
    headers: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def prompt(self) -> str:
        return f"{self.system}\n{self.user}"


Responder = Callable[[FakeRequest], "str | dict[str, Any] | Reply | None"]

_ids = itertools.count(1)


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict):
                parts.append(str(part.get("text") or part.get("content") or ""))
        return "\n".join(parts)
    return str(content)


def parse_request(api: str, body: dict[str, Any], headers: dict[str, str]) -> FakeRequest:
    system_parts: list[str] = []
    user_parts: list[str] = []
    if api == "anthropic":
        system_parts.append(_text_of(body.get("system")))
        messages = body.get("messages") or []
    elif api == "responses":
        system_parts.append(_text_of(body.get("instructions")))
        raw = body.get("input")
        messages = [{"role": "user", "content": raw}] if isinstance(raw, str) else (raw or [])
    else:
        messages = body.get("messages") or []
    for msg in messages:
        role = msg.get("role", "user")
        (system_parts if role in ("system", "developer") else user_parts).append(_text_of(msg.get("content")))
    tools = []
    for tool in body.get("tools") or []:
        if api == "anthropic":
            tools.append({"name": tool.get("name"), "description": tool.get("description", ""),
                          "parameters": tool.get("input_schema") or {}})
        elif api == "chat":
            fn = tool.get("function") or {}
            tools.append({"name": fn.get("name"), "description": fn.get("description", ""),
                          "parameters": fn.get("parameters") or {}})
        else:
            tools.append({"name": tool.get("name"), "description": tool.get("description", ""),
                          "parameters": tool.get("parameters") or {}})
    choice = body.get("tool_choice")
    forced = None
    if isinstance(choice, dict):
        forced = choice.get("name") or (choice.get("function") or {}).get("name")
    tool_name = forced or (tools[0]["name"] if tools else None)
    return FakeRequest(
        api=api, model=str(body.get("model", "")), system="\n".join(p for p in system_parts if p),
        user="\n".join(p for p in user_parts if p), tools=tools, tool_name=tool_name,
        stream=bool(body.get("stream")), headers=headers, body=body,
    )


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


class FakeLLMServer:
    """See the module docstring. Thread-safe; one instance may serve many SDK clients."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Reply] = deque()
        self._responder: Responder | None = None
        self._requests: list[Recorded] = []
        self.models: list[str] = list(llm_formats.MODELS)  # what GET /v1/models lists
        self._httpd = _BacklogServer((host, port), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # ---- lifecycle -----------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return self.base_url + "/v1"

    def start(self) -> "FakeLLMServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakeLLMServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- scripting -----------------------------------------------------------------------
    def push(self, text: str | None = None, *, times: int = 1, **fields: Any) -> None:
        """Queue a reply (text, tool_args=, status=, delay=, malformed=, ...) `times` times."""
        reply = fields.pop("reply", None) or Reply(text=text, **fields)
        with self._lock:
            self._queue.extend([reply] * times)

    def set_responder(self, fn: Responder | None) -> None:
        with self._lock:
            self._responder = fn

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._responder = None
            self._requests.clear()

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    # ---- internals -----------------------------------------------------------------------
    def _record(self, rec: Recorded) -> None:
        with self._lock:
            self._requests.append(rec)

    def _next_reply(self, req: FakeRequest) -> Reply:
        with self._lock:
            scripted = self._queue.popleft() if self._queue else None
            responder = self._responder
        if scripted is not None:
            reply = replace(scripted)  # a copy: one pushed Reply may serve several calls
        else:
            out = responder(req) if responder is not None else None
            if isinstance(out, Reply):
                reply = out
            elif isinstance(out, dict):
                reply = Reply(tool_args=out)
            elif isinstance(out, str):
                reply = Reply(text=out)
            else:
                reply = Reply()
        if reply.status < 400 and not reply.malformed:
            if req.tool_name and reply.tool_args is None and reply.text is None:
                schema = next((t["parameters"] for t in req.tools if t["name"] == req.tool_name), {})
                reply.tool_args = llm_replies.default_tool_args(schema, req.prompt)
            elif reply.text is None and reply.tool_args is None:
                reply.text = llm_replies.default_text(req.prompt)
        return reply


class _BacklogServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with a deep accept backlog (the default 5 resets bursts of clients)."""

    request_queue_size = 256


def _make_handler(server: FakeLLMServer) -> type[BaseHTTPRequestHandler]:
    from tests.fakes import llm_formats as fmt

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # else header+body writes cost a 40 ms delayed-ACK stall

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _headers(self) -> dict[str, str]:
            return {k.lower(): v for k, v in self.headers.items()}

        def _send(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("request-id", f"req_fake_{next(_ids)}")
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _sse(self, events: list[tuple[str | None, Any]]) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("connection", "close")
            self.end_headers()
            for name, data in events:
                chunk = (f"event: {name}\n" if name else "") + "data: " + (
                    data if isinstance(data, str) else json.dumps(data)) + "\n\n"
                self.wfile.write(chunk.encode())
                self.wfile.flush()
            self.close_connection = True

        def handle_one_request(self) -> None:
            try:
                super().handle_one_request()
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                self.close_connection = True

        def do_GET(self) -> None:  # noqa: N802
            path = self.path.split("?")[0].removeprefix("/v1")
            server._record(Recorded(self.path, "GET", self._headers(), None))
            if path == "/models":
                self._send(200, fmt.models_list(server.models))
            elif path in ("/health", "/healthz", "/"):
                self._send(200, {"status": "ok"})
            else:
                self._send(404, {"error": {"message": f"fake LLM: no route {self.path}"}})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                body = {"_raw": raw.decode(errors="replace")}
            headers = self._headers()
            server._record(Recorded(self.path, "POST", headers, body))
            path = self.path.split("?")[0].removeprefix("/v1")
            api = {"/messages": "anthropic", "/chat/completions": "chat", "/responses": "responses"}.get(path)
            if path == "/messages/count_tokens":
                req = parse_request("anthropic", body, headers)
                self._send(200, {"input_tokens": _tokens(req.prompt)})
                return
            if api is None:
                self._send(404, {"error": {"message": f"fake LLM: no route {self.path}"}})
                return
            req = parse_request(api, body, headers)
            reply = server._next_reply(req)
            if reply.delay:
                time.sleep(reply.delay)
            if reply.status >= 400:
                extra = {"retry-after-ms": str(reply.retry_after_ms)} if reply.retry_after_ms is not None else {}
                message = reply.error_message
                if reply.echo_headers:  # a misbehaving upstream: the headers, keys included, come back
                    message = (f"{message} echo: authorization={headers.get('authorization')} "
                               f"x-api-key={headers.get('x-api-key')} path={self.path} "
                               f"headers={dict(self.headers)}").strip()
                self._send(reply.status, fmt.error_body(api, reply.status, message), extra)
                return
            usage = (reply.input_tokens or _tokens(req.prompt), reply.output_tokens)
            if api == "anthropic":
                if req.stream:
                    self._sse(fmt.anthropic_stream(req, reply, usage))
                else:
                    self._send(200, fmt.anthropic_message(req, reply, usage))
            elif api == "chat":
                if req.stream:
                    self._sse(fmt.chat_stream(req, reply, usage))
                else:
                    self._send(200, fmt.chat_completion(req, reply, usage))
            elif req.stream:
                self._sse(fmt.responses_stream(req, reply, usage))
            else:
                self._send(200, fmt.responses_response(req, reply, usage))

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the fake LLM (Anthropic + OpenAI shapes).")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = random)")
    args = parser.parse_args(argv)
    server = FakeLLMServer(port=args.port).start()
    print(f"fake LLM serving on {server.base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
