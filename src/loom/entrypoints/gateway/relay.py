"""Relaying an upstream SSE stream to the caller, whole events only, and always finishing the call.

The relay yields each complete event as it arrives and keeps the raw bytes for the log. How a
stream can end, and what the caller and the log see:

- `message_stop` (or an upstream `error` event) last: a normal end, passed through as it is;
- the upstream's connection breaks: an SSE `error` event ends the caller's stream (the status
  line is long gone), and the log says `upstream stream broke: ...`;
- the upstream ends cleanly but without `message_stop` (a truncated answer): the same error
  event, and the log says `upstream stream ended without message_stop`;
- the caller hangs up: the upstream is closed, the log says `client disconnected`.

`RelayResponse` finishes the call even when its body never starts (a caller gone before the
first byte) or something unexpected is raised while sending: the call is logged exactly once,
its max_parallel slot freed, and no traceback escapes to the server's stderr.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from loom.entrypoints.gateway.calllog import Call
from loom.entrypoints.gateway.errors import error_body

log = logging.getLogger(__name__)

_LAST_EVENT = re.compile(rb'"type"\s*:\s*"(?:message_stop|error)"')
_TAIL = 512  # bytes: the last event of a stream is far shorter


class Relay:
    """One streamed call: iterate `events()`; `finish()` (idempotent) logs it and closes upstream."""

    def __init__(self, call: Call, t0: float, resp: Any, done: Callable[[Call, float], None]) -> None:
        self.call, self.t0, self.resp, self._done = call, t0, resp, done
        self.finished = False  # the upstream stream was read to its end (or broke)
        self.closed = False

    async def events(self) -> AsyncIterator[bytes]:
        import httpx

        call = self.call
        pending = b""
        try:
            async for chunk in self.resp.aiter_raw():
                call.chunks.append(chunk)
                data = pending + chunk if pending else chunk
                cut = event_boundary(data)
                if cut < 0:
                    pending = data
                    continue
                pending = data[cut:]
                yield data[:cut]
            self.finished = True
            if _LAST_EVENT.search(tail(call.chunks)):
                if pending:
                    yield pending
            else:
                # A torn last event is dropped, so the client never sees half a JSON object.
                call.error = "upstream stream ended without message_stop"
                yield b"event: error\ndata: " + error_body(502, call.error) + b"\n\n"
        except httpx.HTTPError as exc:
            self.finished = True
            call.error = f"upstream stream broke: {type(exc).__name__}"
            yield b"event: error\ndata: " + error_body(502, call.error) + b"\n\n"
        finally:
            await self.finish()

    async def finish(self) -> None:
        if self.closed:
            return
        self.closed = True
        if not self.finished and self.call.error is None:
            self.call.error = "client disconnected"
        try:
            self._done(self.call, self.t0)
        finally:
            await self.resp.aclose()


class RelayResponse(StreamingResponse):
    """A StreamingResponse over a Relay that finishes the call whatever happens while sending."""

    def __init__(self, relay: Relay, status_code: int, headers: dict[str, str]) -> None:
        super().__init__(relay.events(), status_code=status_code, headers=headers)
        self.relay = relay

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except Exception as exc:  # noqa: BLE001 - headers are sent: nothing to answer, only to record
            if self.relay.call.error is None:
                self.relay.call.error = f"stream relay failed: {type(exc).__name__}"
            log.warning("gateway: stream relay ended early", extra={"error": type(exc).__name__},
                        exc_info=log.isEnabledFor(logging.DEBUG))
        finally:
            await self.relay.finish()


def event_boundary(data: bytes) -> int:
    """End offset of the last complete SSE event in `data` (blank-line terminated), or -1."""
    lf = data.rfind(b"\n\n")
    crlf = data.rfind(b"\r\n\r\n")
    return max(lf + 2 if lf >= 0 else -1, crlf + 4 if crlf >= 0 else -1)


def tail(chunks: list[bytes], size: int = _TAIL) -> bytes:
    """The last `size` bytes of the chunks (joining only as many as needed)."""
    parts: list[bytes] = []
    have = 0
    for chunk in reversed(chunks):
        parts.append(chunk)
        have += len(chunk)
        if have >= size:
            break
    return b"".join(reversed(parts))[-size:]
