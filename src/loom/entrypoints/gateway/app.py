"""The gateway ASGI app: an Anthropic-compatible passthrough that holds the vendor key.

    from loom.entrypoints.gateway.app import create_app
    app = create_app(LoomConfig.load())          # any ASGI server; `loom proxy serve` uses uvicorn

Routes: GET /healthz (no auth), POST /v1/messages (plain and SSE streaming),
POST /v1/messages/count_tokens, GET /v1/models[/{id}]. Every other call presents a LOOM_API_KEY
(`x-api-key` or `Authorization: Bearer`); the call is then forwarded with the server's
ANTHROPIC_API_KEY and logged (calllog.py) under the key's tenant and owner. Refused calls are
only counted. Errors are Anthropic-shaped: 400 bad JSON, 401 bad key, 413 too large, 429 rate
limited, 502 upstream unreachable, 504 upstream timeout; upstream errors pass through as they are.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from loom.application.credentials import CredentialSource, as_credential_source
from loom.domain.errors import MissingCredentialError
from loom.entrypoints.gateway.calllog import Call, CallLog
from loom.entrypoints.gateway.errors import error_body, error_response
from loom.entrypoints.gateway.keys import KeyEntry, KeyRing, load_keyring
from loom.entrypoints.gateway.ratelimit import RateLimiter
from loom.entrypoints.gateway.upstream import Upstream, response_headers

if TYPE_CHECKING:
    from loom.application.config import LoomConfig

VENDOR_KEY_ENV = "ANTHROPIC_API_KEY"
TAG_HEADERS = (("skill", "x-loom-skill"), ("trajectory", "x-loom-trajectory"))
_TAG_MAX = 200
_BEARER = "bearer "
_MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}")


class Gateway:
    """The gateway's state and handlers (one per app): keys, upstream pool, log, counters."""

    def __init__(self, settings: "LoomConfig", keyring: KeyRing, upstream: Upstream, calllog: CallLog) -> None:
        self.keyring = keyring
        self.upstream = upstream
        self.calllog = calllog
        self.max_body = settings.proxy_max_body_bytes
        rpm = settings.proxy_rate_limit_rpm
        self.limiter = RateLimiter(rpm) if rpm else None
        self.calls = 0
        self.refused = 0

    # ---- lifecycle ---------------------------------------------------------------------
    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.upstream.open()
        self.calllog.start()
        try:
            yield
        finally:
            await self.upstream.close()
            await self.calllog.close()

    # ---- routes ------------------------------------------------------------------------
    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "calls": self.calls, "refused": self.refused})

    async def messages(self, request: Request) -> Response:
        return await self._post(request, "messages", "/v1/messages", streamable=True)

    async def count_tokens(self, request: Request) -> Response:
        return await self._post(request, "count_tokens", "/v1/messages/count_tokens", streamable=False)

    async def models(self, request: Request) -> Response:
        t0 = time.perf_counter()
        call = self._admit(request, "models")
        if isinstance(call, Response):
            return call
        model_id = request.path_params.get("model_id")
        if model_id is not None and not _MODEL_ID.fullmatch(model_id):
            # Never let a path segment like `..` reach the upstream: it would address other
            # vendor endpoints (batches, files) with the server's key.
            return self._fail(call, t0, 404, "unknown model id")
        path = "/v1/models" + (f"/{model_id}" if model_id else "")
        if request.url.query:
            path += "?" + request.url.query
        return await self._forward(call, t0, request, "GET", path, None)

    # ---- the pipeline ------------------------------------------------------------------
    async def _post(self, request: Request, route: str, path: str, *, streamable: bool) -> Response:
        t0 = time.perf_counter()
        call = self._admit(request, route)
        if isinstance(call, Response):
            return call
        body = await self._read_body(request)
        if body is None:
            return self._fail(call, t0, 413, f"request body exceeds {self.max_body} bytes")
        try:
            payload = json.loads(body)
        except ValueError as exc:
            return self._fail(call, t0, 400, f"request body is not valid JSON: {exc}")
        if not isinstance(payload, dict):
            return self._fail(call, t0, 400, "request body must be a JSON object")
        call.request = payload
        query = request.scope.get("query_string")
        if query:  # e.g. the SDK's `?beta=true`; a query cannot change which endpoint is called
            path += "?" + query.decode("latin-1")
        if streamable and payload.get("stream") is True:
            return await self._stream(call, t0, request, path, body)
        return await self._forward(call, t0, request, "POST", path, body)

    def _admit(self, request: Request, route: str) -> Call | Response:
        """Authenticate (401) and rate-limit (429); a Call under the key's tenant if admitted."""
        entry = self._authenticate(request)
        if entry is None:
            self.refused += 1  # refusals are counted, never logged or forwarded
            return error_response(401, "invalid or missing API key: present your LOOM_API_KEY "
                                       "as x-api-key or Authorization: Bearer")
        headers = request.headers
        call = Call(time.time(), entry.tenant, entry.owner, entry.key_id, route)
        for attr, name in TAG_HEADERS:
            value = headers.get(name)
            if value:
                setattr(call, attr, value[:_TAG_MAX])
        if self.limiter is not None:
            wait = self.limiter.check(entry.key_id)
            if wait > 0:
                retry = str(max(1, math.ceil(wait)))
                self.calls += 1
                call.status, call.error = 429, "rate limited"
                self.calllog.put(call)
                return error_response(429, f"rate limit of {self.limiter.rpm} requests/minute exceeded "
                                           f"for this key; retry after {retry} s", {"retry-after": retry})
        return call

    def _authenticate(self, request: Request) -> KeyEntry | None:
        headers = request.headers
        presented = headers.get("x-api-key")
        if not presented:
            auth = headers.get("authorization", "")
            if auth[:7].lower() == _BEARER:
                presented = auth[7:].strip()
        if not presented:
            return None
        return self.keyring.match(presented.encode("latin-1", errors="replace"))

    async def _read_body(self, request: Request) -> bytes | None:
        """The request body, or None when it is over the limit (stops reading at the limit)."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            return None
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    async def _forward(self, call: Call, t0: float, request: Request, method: str, path: str,
                       body: bytes | None) -> Response:
        import httpx

        client = self.upstream.client
        assert client is not None, "the gateway's lifespan did not run (serve it with an ASGI server)"
        headers = self.upstream.headers(request.headers, json_body=body is not None)
        try:
            resp = await client.request(method, self.upstream.url(path), content=body, headers=headers)
        except httpx.TimeoutException as exc:
            return self._fail(call, t0, 504, f"upstream timed out: {type(exc).__name__}")
        except httpx.HTTPError as exc:
            return self._fail(call, t0, 502, f"upstream unreachable: {type(exc).__name__}: {exc}")
        call.status, call.body = resp.status_code, resp.content
        call.request_id = resp.headers.get("request-id")
        self._done(call, t0)
        return Response(resp.content, status_code=resp.status_code, headers=response_headers(resp.headers))

    async def _stream(self, call: Call, t0: float, request: Request, path: str, body: bytes) -> Response:
        import httpx

        client = self.upstream.client
        assert client is not None, "the gateway's lifespan did not run (serve it with an ASGI server)"
        call.streamed = True
        req = client.build_request("POST", self.upstream.url(path), content=body,
                                   headers=self.upstream.headers(request.headers, json_body=True))
        try:
            resp = await client.send(req, stream=True)
        except httpx.TimeoutException as exc:
            return self._fail(call, t0, 504, f"upstream timed out: {type(exc).__name__}")
        except httpx.HTTPError as exc:
            return self._fail(call, t0, 502, f"upstream unreachable: {type(exc).__name__}: {exc}")
        call.status = resp.status_code
        call.request_id = resp.headers.get("request-id")
        headers = response_headers(resp.headers)
        if resp.status_code >= 400 or not resp.headers.get("content-type", "").startswith("text/event-stream"):
            try:
                call.body = await resp.aread()  # an error (or a non-SSE answer): pass it through whole
            finally:
                await resp.aclose()
            self._done(call, t0)
            return Response(call.body, status_code=resp.status_code, headers=headers)
        call.ttfb_ms = (time.perf_counter() - t0) * 1000.0
        headers.setdefault("cache-control", "no-cache")
        headers["x-accel-buffering"] = "no"
        return StreamingResponse(self._relay(call, t0, resp), status_code=resp.status_code, headers=headers)

    async def _relay(self, call: Call, t0: float, resp: Any) -> AsyncIterator[bytes]:
        """Yield upstream SSE events as they arrive (whole events only); keep the bytes for the log."""
        import httpx

        finished = False
        pending = b""
        try:
            async for chunk in resp.aiter_raw():
                call.chunks.append(chunk)
                data = pending + chunk if pending else chunk
                cut = _event_boundary(data)
                if cut < 0:
                    pending = data
                    continue
                pending = data[cut:]
                yield data[:cut]
            finished = True
            if pending:
                yield pending
        except httpx.HTTPError as exc:
            call.error = f"upstream stream broke: {type(exc).__name__}"
            # Headers are gone already: end the stream the way Anthropic does, with an error
            # event (a half-received event is dropped, so the client never sees torn JSON).
            yield b"event: error\ndata: " + error_body(502, call.error) + b"\n\n"
        finally:
            if not finished and call.error is None:
                call.error = "client disconnected"
            self._done(call, t0)
            await resp.aclose()

    # ---- bookkeeping -------------------------------------------------------------------
    def _fail(self, call: Call, t0: float, status: int, message: str) -> Response:
        call.status, call.error = status, message
        self._done(call, t0)
        return error_response(status, message)

    def _done(self, call: Call, t0: float) -> None:
        call.latency_ms = (time.perf_counter() - t0) * 1000.0
        self.calls += 1
        self.calllog.put(call)


def _event_boundary(data: bytes) -> int:
    """End offset of the last complete SSE event in `data` (blank-line terminated), or -1."""
    lf = data.rfind(b"\n\n")
    crlf = data.rfind(b"\r\n\r\n")
    return max(lf + 2 if lf >= 0 else -1, crlf + 4 if crlf >= 0 else -1)


def create_app(
    settings: "LoomConfig",
    *,
    credentials: CredentialSource | None = None,
    keyring: KeyRing | None = None,
) -> Starlette:
    """The gateway app. Raises MissingCredentialError at once if the server has no vendor key."""
    creds = as_credential_source(credentials)
    vendor_key = creds.get(VENDOR_KEY_ENV)
    if not vendor_key:
        raise MissingCredentialError(
            f"{VENDOR_KEY_ENV} is not set: the gateway holds the vendor key server-side",
            hint=f"export {VENDOR_KEY_ENV} on the server before `loom proxy serve`",
        )
    if keyring is None:
        keyring = load_keyring(creds, tenant=settings.tenant, owner=settings.owned_by)
    upstream = Upstream(settings.anthropic_base_url, vendor_key, timeout=settings.llm_timeout)
    gateway = Gateway(settings, keyring, upstream, CallLog(settings.proxy_log_path))
    routes = [
        Route("/healthz", gateway.healthz, methods=["GET"]),
        Route("/v1/messages", gateway.messages, methods=["POST"]),
        Route("/v1/messages/count_tokens", gateway.count_tokens, methods=["POST"]),
        Route("/v1/models", gateway.models, methods=["GET"]),
        Route("/v1/models/{model_id}", gateway.models, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=gateway.lifespan,
                    exception_handlers={HTTPException: _http_error, Exception: _crash})  # type: ignore[dict-item]
    app.state.gateway = gateway
    return app


async def _http_error(request: Request, exc: HTTPException) -> Response:
    """Starlette's own 404/405 in Anthropic's shape."""
    return error_response(exc.status_code, str(exc.detail))


async def _crash(request: Request, exc: Exception) -> Response:
    """A bug in the gateway: still an Anthropic-shaped 500 (the traceback goes to the server log)."""
    return error_response(500, f"gateway internal error: {type(exc).__name__}")
