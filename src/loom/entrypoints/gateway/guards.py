"""Guards against hostile or broken input that sit outside the request pipeline.

- `too_deep`: JSON nesting beyond the cap (LOOM_PROXY_MAX_JSON_DEPTH) is a 400, checked only when
  the body has more brackets than the cap (a body cannot nest deeper than its bracket count);
  nesting past Python's recursion limit never gets this far: json.loads raises RecursionError,
  which the pipeline turns into the same 400.
- `GatewayApp`: Starlette re-raises an unhandled error after answering 500 (so servers can log
  its traceback); here it ends as one log line, with the traceback only at DEBUG.
- `crash`: that 500, Anthropic-shaped.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from loom.entrypoints.gateway.errors import error_response

log = logging.getLogger(__name__)


def too_deep(body: bytes, payload: Any, limit: int) -> bool:
    """True when the parsed body nests deeper than `limit` (checked only when it could)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # cannot nest deeper than the number of brackets it has
    stack: list[tuple[Any, int]] = [(payload, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return False


class GatewayApp(Starlette):
    """Starlette re-raises an unhandled error after answering 500 (so servers can log its
    traceback); here it ends as one log line, with the traceback only at DEBUG."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            await super().__call__(scope, receive, send)
        except Exception as exc:  # noqa: BLE001 - already answered with a 500 by `crash` below
            log.error("gateway: internal error", extra={"error": f"{type(exc).__name__}: {exc}"[:300]},
                      exc_info=log.isEnabledFor(logging.DEBUG))


async def crash(request: Request, exc: Exception) -> Response:
    """A bug outside a handler's own guard: still an Anthropic-shaped 500."""
    return error_response(500, f"gateway internal error: {type(exc).__name__}")
