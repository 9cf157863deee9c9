"""The gateway's call log: one JSON line per call, appended by a single writer task.

Handlers hand a `Call` to `CallLog.put()` (a queue put, no I/O, no JSON) and return; the writer
task turns calls into lines (extracting the response text and usage, from SSE streams too) and
appends whole batches with one `os.write` on an O_APPEND descriptor. One writer per process
means no torn or interleaved lines; O_APPEND keeps whole-batch writes from separate processes
apart as well. A line never holds a key: only `key_id`, a short hash.

Line fields (docs/gateway.md): ts, tenant, owner, key_id, skill, trajectory, route, model,
system, messages, response_text, tool_calls, stop_reason, usage, cost_usd, latency_ms, ttfb_ms
(streams), streamed, status, error, refused_by, request_id (the upstream's).

A `keeper` (accounts.py) may ride along: it charges each call's spend before its line is
rendered, learns which byte of which file the written lines end at, and saves its snapshot at
most once a second and at close.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from loom.entrypoints.gateway.prices import price, tokens_of

log = logging.getLogger(__name__)
SNAPSHOT_EVERY = 1.0  # seconds between spend snapshots while calls keep coming


@dataclass
class Call:
    """What a handler knows about one call; rendered to a JSON line by the writer."""

    started: float  # time.time() at arrival
    tenant: str
    owner: str
    key_id: str
    route: str
    skill: str | None = None
    trajectory: str | None = None
    request: dict[str, Any] | None = None
    status: int = 0
    streamed: bool = False
    body: bytes | None = None  # a whole (non-streamed) response body
    chunks: list[bytes] = field(default_factory=list)  # a streamed response, as received
    latency_ms: float = 0.0
    ttfb_ms: float | None = None
    error: str | None = None
    request_id: str | None = None
    refused_by: str | None = None  # the key limit that refused it (limits.py)
    # Filled by settle(): the parsed answer, its tokens and price (None = unknown price).
    parsed: dict[str, Any] | None = None
    tokens: int = 0
    cost_usd: float | None = None
    # Bookkeeping of the gateway: logged once, spend charged once (at completion when `eager`,
    # else by the log writer), a max_parallel slot held.
    done: bool = False
    eager: bool = False
    charged: bool = False
    slot: bool = False


def settle(call: Call) -> dict[str, Any]:
    """Parse the answer once (from SSE for streams) and price a `messages` answer's usage."""
    if call.parsed is None:
        if call.streamed and call.chunks:
            call.parsed = parse_sse(b"".join(call.chunks))
        else:
            call.parsed = parse_body(call.body)
        if call.route == "messages":
            usage = call.parsed.get("usage")
            call.tokens = tokens_of(usage)
            if call.tokens:
                model = call.parsed.get("model") or (call.request or {}).get("model")
                call.cost_usd = price(model, usage)
    return call.parsed


def render(call: Call) -> dict[str, Any]:
    """The log record of a call (pure; runs in the writer, off the request path)."""
    req = call.request if isinstance(call.request, dict) else {}
    parsed = settle(call)
    error = call.error or parsed.get("error")
    return {
        "ts": datetime.fromtimestamp(call.started, timezone.utc).isoformat(timespec="milliseconds"),
        "tenant": call.tenant,
        "owner": call.owner,
        "key_id": call.key_id,
        "skill": call.skill,
        "trajectory": call.trajectory,
        "route": call.route,
        "model": parsed.get("model") or req.get("model"),
        "system": req.get("system"),
        "messages": req.get("messages"),
        "response_text": parsed.get("text"),
        "tool_calls": parsed.get("tool_calls"),
        "stop_reason": parsed.get("stop_reason"),
        "usage": parsed.get("usage"),
        "cost_usd": call.cost_usd,
        "latency_ms": round(call.latency_ms, 3),
        "ttfb_ms": None if call.ttfb_ms is None else round(call.ttfb_ms, 3),
        "streamed": call.streamed,
        "status": call.status,
        "error": error,
        "refused_by": call.refused_by,
        "request_id": call.request_id,
    }


_HEAD_END = b', "system": '
_TAIL_START = b', "usage": '


def read_summary(raw: bytes) -> dict[str, Any] | None:
    """A log line's fields except system, messages, response_text, tool_calls and stop_reason,
    without parsing those (prompts can be most of a line): what spend replay and `loom proxy
    usage` need. Relies on render()'s field order; an unquoted `, "system": ` or `, "usage": `
    cannot occur inside a JSON string, so the cuts are exact. Other lines are parsed whole.
    None for a line that is not a JSON object."""
    head_end, tail_start = raw.find(_HEAD_END), raw.rfind(_TAIL_START)
    try:
        if 0 < head_end < tail_start:
            out = json.loads(raw[:head_end] + b"}")
            out.update(json.loads(b"{" + raw[tail_start + 2:]))
        else:
            out = json.loads(raw)
    except ValueError:
        return None
    return out if isinstance(out, dict) else None


def parse_body(body: bytes | None) -> dict[str, Any]:
    """Text, usage, stop reason or error of a whole Anthropic JSON response."""
    if not body:
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    out: dict[str, Any] = {}
    if data.get("type") == "error":
        err = data.get("error") or {}
        out["error"] = f"{err.get('type', 'error')}: {err.get('message', '')}".strip()
        return out
    if data.get("type") == "message":
        out["model"] = data.get("model")
        out["text"] = "".join(
            b.get("text", "") for b in data.get("content") or [] if isinstance(b, dict) and b.get("type") == "text"
        )
        out["stop_reason"] = data.get("stop_reason")
        out["usage"] = data.get("usage")
        tools = [{"name": b.get("name"), "input": b.get("input")}
                 for b in data.get("content") or [] if isinstance(b, dict) and b.get("type") == "tool_use"]
        if tools:
            out["tool_calls"] = tools
    elif "input_tokens" in data:  # count_tokens
        out["usage"] = {"input_tokens": data["input_tokens"]}
    return out


def parse_sse(raw: bytes) -> dict[str, Any]:
    """Text, usage, stop reason or error accumulated from an Anthropic SSE stream."""
    text: list[str] = []
    usage: dict[str, Any] = {}
    out: dict[str, Any] = {}
    tools: dict[int, dict[str, Any]] = {}  # block index -> {"name", "json" parts}
    for line in raw.decode("utf-8", errors="replace").splitlines():
        if not line.startswith("data:"):
            continue
        try:
            event = json.loads(line[5:])
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        kind = event.get("type")
        if kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta":
                text.append(delta.get("text", ""))
            elif delta.get("type") == "input_json_delta" and event.get("index") in tools:
                tools[event["index"]]["json"].append(delta.get("partial_json", ""))
        elif kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") == "tool_use" and isinstance(event.get("index"), int):
                tools[event["index"]] = {"name": block.get("name"), "json": []}
        elif kind == "message_start":
            message = event.get("message") or {}
            out["model"] = message.get("model")
            usage.update(message.get("usage") or {})
        elif kind == "message_delta":
            out["stop_reason"] = (event.get("delta") or {}).get("stop_reason")
            usage.update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
        elif kind == "error":
            err = event.get("error") or {}
            out["error"] = f"{err.get('type', 'error')}: {err.get('message', '')}".strip()
        elif kind == "message_stop":
            out["stopped"] = True
    out["text"] = "".join(text)
    out["usage"] = usage or None
    if tools:
        out["tool_calls"] = [{"name": t["name"], "input": _json_or_raw("".join(t["json"]))}
                             for _, t in sorted(tools.items())]
    return out


def _json_or_raw(text: str) -> Any:
    """A streamed tool input: parsed when it is whole JSON, else the raw text (a broken stream)."""
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return text


class Keeper(Protocol):
    """What the writer tells the spend keeper (accounts.py)."""

    def before_write(self, call: Call) -> None: ...
    def after_write(self, calls: list[Call], inode: int, offset: int) -> None: ...
    def save(self) -> None: ...


class CallLog:
    """Single-writer JSONL appender. `start()` inside the server's loop, `await close()` at exit.

    The file is opened per batch (O_APPEND), so moving it away (logrotate) simply starts a new one.
    """

    def __init__(self, path: Path, keeper: Keeper | None = None) -> None:
        self.path = Path(path)
        self.keeper = keeper
        self.written = 0
        self._queue: asyncio.Queue[Call | None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._save_timer: asyncio.TimerHandle | None = None

    def check(self) -> str | None:
        """None if the log can be appended to, else why not (for a one-line start-up error)."""
        try:
            os.close(self._open())
        except OSError as exc:
            return exc.strerror or type(exc).__name__
        return None

    def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="loom-gateway-calllog")

    def put(self, call: Call) -> None:
        if self._queue is None:  # used without start(): write right away (tests, embedding)
            self._write([call])
            return
        self._queue.put_nowait(call)

    async def close(self) -> None:
        if self._queue is not None and self._task is not None:
            self._queue.put_nowait(None)
            await self._task
        self._queue, self._task = None, None
        if self._save_timer is not None:
            self._save_timer.cancel()
            self._save_timer = None
        if self.keeper is not None:
            self.keeper.save()

    def _saved(self) -> None:
        self._save_timer = None
        if self.keeper is not None:
            self.keeper.save()

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            calls = [c for c in batch if c is not None]
            if calls:
                self._write(calls)
            if None in batch:
                return

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def _write(self, calls: list[Call]) -> None:
        lines = []
        for call in calls:
            try:
                if self.keeper is not None:
                    self.keeper.before_write(call)
                lines.append(json.dumps(render(call), ensure_ascii=False, default=str))
            except Exception as exc:  # noqa: BLE001 - a bad record must not stop the writer
                now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
                lines.append(json.dumps({"ts": now, "key_id": call.key_id, "status": call.status,
                                         "error": f"log record failed: {type(exc).__name__}"}))
        data = memoryview(("\n".join(lines) + "\n").encode("utf-8"))
        try:
            fd = self._open()
            try:
                while data:  # one write() per batch in practice; loop only on a short write
                    data = data[os.write(fd, data):]
                st = os.fstat(fd) if self.keeper is not None else None
            finally:
                os.close(fd)
            self.written += len(lines)
            if self.keeper is not None and st is not None:
                self.keeper.after_write(calls, st.st_ino, st.st_size)
                self._schedule_save()
        except OSError as exc:
            log.error("gateway call log write failed", extra={"path": str(self.path), "error": str(exc)})

    def _schedule_save(self) -> None:
        if self._queue is None:  # no loop (tests, embedding): save right away
            self._saved()
        elif self._save_timer is None:
            self._save_timer = asyncio.get_running_loop().call_later(SNAPSHOT_EVERY, self._saved)
