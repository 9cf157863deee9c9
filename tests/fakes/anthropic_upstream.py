"""A fast, minimal fake Anthropic upstream for load tests and benches (raw asyncio HTTP/1.1).

It answers every POST with one canned Messages reply: an SSE stream (chunked) when the body asks
for `"stream": true`, else JSON. The answer text echoes the request's `call #N` marker, if any,
and the answer's model is the request's (`fast-model` if it names none); usage is always 12 in,
9 out. `delay` (seconds) holds every answer that long; `in_flight` / `max_in_flight` count the
requests being answered at once (what a gateway's max_parallel must bound).
Keep-alive, a deep listen backlog, no per-request threads: it stays cheap under concurrency 50,
so a load test or bench measures the gateway, not the fake. (tests/fakes/llm_server.py is the
full-featured fake with scripting; use that one for behaviour.)

    up = FastUpstream(delay=0.02).start()   # background thread with its own event loop
    up.base_url, up.count, up.vendor_keys, up.max_in_flight
    up.stop()

Benches: `python -m tests.fakes.anthropic_upstream` prints `upstream http://127.0.0.1:PORT`
and serves until killed (with uvloop when installed).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading

_LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")
_KEY = re.compile(rb"(?i)\r\nx-api-key:\s*([^\r]*)")
_MARKER = re.compile(rb"call #(\d+)")
_MODEL = re.compile(rb'"model":\s*"([A-Za-z0-9._:@/-]{1,100})"')


def message(text: str, model: str = "fast-model") -> bytes:
    return json.dumps({
        "id": "msg_fast", "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 9},
    }).encode()


def stream(text: str, parts: int = 8, model: str = "fast-model") -> bytes:
    """The chunked-encoded body of an SSE answer whose deltas join to `text`."""
    step = max(1, len(text) // parts)
    pieces = [text[i:i + step] for i in range(0, len(text), step)] or [""]
    events = [
        {"type": "message_start", "message": {"id": "msg_fast", "type": "message", "role": "assistant",
         "model": model, "content": [], "stop_reason": None, "usage": {"input_tokens": 12, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        *({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}} for p in pieces),
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
         "usage": {"output_tokens": 9}},
        {"type": "message_stop"},
    ]
    out = b""
    for event in events:
        data = f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
        out += b"%x\r\n%s\r\n" % (len(data), data)
    return out + b"0\r\n\r\n"


class FastUpstream:
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.in_flight = 0
        self.max_in_flight = 0
        self.count = 0
        self._handlers: set[asyncio.Task[None]] = set()
        self.vendor_keys: set[str] = set()
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fast-upstream", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "FastUpstream":
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fast upstream did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._server is not None:
            done = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
            done.result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _shutdown(self) -> None:
        """Close the listener and end every open connection's handler before the loop stops."""
        assert self._server is not None
        self._server.close()
        handlers = [t for t in self._handlers if not t.done()]
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)

    def __enter__(self) -> "FastUpstream":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self.handle, "127.0.0.1", 0, backlog=2048))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = _LENGTH.search(head)
                body = await reader.readexactly(int(length.group(1))) if length else b""
                self.count += 1
                key = _KEY.search(head)
                if key:
                    self.vendor_keys.add(key.group(1).decode())
                marker = _MARKER.search(body)
                text = f"answer to call #{marker.group(1).decode()}" if marker else "a short canned answer"
                named = _MODEL.search(body)
                model = named.group(1).decode() if named else "fast-model"
                if self.delay:
                    self.in_flight += 1
                    self.max_in_flight = max(self.max_in_flight, self.in_flight)
                    try:
                        await asyncio.sleep(self.delay)
                    finally:
                        self.in_flight -= 1
                if re.search(rb'"stream":\s*true', body):
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                                 b"transfer-encoding: chunked\r\nrequest-id: req_fast\r\n\r\n"
                                 + stream(text, model=model))
                else:
                    data = message(text, model)
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nrequest-id: req_fast\r\n"
                                 b"content-length: %d\r\n\r\n%s" % (len(data), data))
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


def main() -> None:
    up = FastUpstream()

    async def serve() -> None:
        server = await asyncio.start_server(up.handle, "127.0.0.1", 0, backlog=2048)
        print(f"upstream http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
        await server.serve_forever()

    try:
        import uvloop

        uvloop.run(serve())
    except ImportError:
        asyncio.run(serve())


if __name__ == "__main__":
    main()
