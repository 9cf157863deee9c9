"""The gateway ASGI app: an Anthropic-compatible passthrough that holds the vendor key.

    from loom.entrypoints.gateway.app import create_app
    app = create_app(LoomConfig.load())          # any ASGI server; `loom proxy serve` uses uvicorn

Routes: GET /healthz (no auth), POST /v1/messages (plain and SSE streaming),
POST /v1/messages/count_tokens, GET /v1/models[/{id}]. Every other call presents a LOOM_API_KEY
(`x-api-key` or `Authorization: Bearer`); the key's limits are checked (limits.py), then the call
is forwarded with the server's ANTHROPIC_API_KEY and logged (calllog.py) under the key's tenant
and owner. Unauthenticated requests are only counted. Errors are Anthropic-shaped: 400 bad JSON
or nesting too deep, 401 bad key, 403 key expired / model not allowed / budget spent, 404 no
such route (never a redirect), 413 too large, 429 rate limited, 500 a gateway bug, 502 upstream
unreachable, 504 upstream timeout; upstream errors pass through as they are, except that any key
in them (the server's vendor key, a `Bearer ...` / `x-api-key: ...` value) is redacted. Every
error of an authenticated call writes one log line; no traceback reaches stderr unless logging
is at DEBUG.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from loom.application.credentials import CredentialSource, as_credential_source
from loom.domain.errors import ConfigError, MissingCredentialError
from loom.entrypoints.gateway.accounts import SpendKeeper
from loom.entrypoints.gateway.calllog import Call, CallLog
from loom.entrypoints.gateway.errors import error_response
from loom.entrypoints.gateway.guards import GatewayApp, crash, too_deep
from loom.entrypoints.gateway.keys import KeyEntry, KeyRing, KeyWatcher, load_keyring
from loom.entrypoints.gateway.limits import Clock, Limits, Refusal
from loom.entrypoints.gateway.relay import Relay, RelayResponse
from loom.entrypoints.gateway.spend import load_ledger, snapshot_path
from loom.entrypoints.gateway.upstream import Upstream, response_headers

if TYPE_CHECKING:
    from loom.application.config import LoomConfig

log = logging.getLogger(__name__)

VENDOR_KEY_ENV = "ANTHROPIC_API_KEY"
TAG_HEADERS = (("skill", "x-loom-skill"), ("trajectory", "x-loom-trajectory"))
_TAG_MAX = 200
_BEARER = "bearer "
_MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}")
_CLIENT_GONE = 499  # logged only (nginx's "client closed request"): nobody is left to answer


class Gateway:
    """The gateway's state and handlers (one per app): keys, limits, upstream pool, log, counters."""

    def __init__(self, settings: "LoomConfig", keyring: KeyRing, upstream: Upstream, calllog: CallLog,
                 limits: Limits, keeper: SpendKeeper, *, watcher: KeyWatcher | None = None,
                 keys_poll_s: float = 2.0, announce: Callable[[str], None] | None = None) -> None:
        self.keyring = keyring
        self.upstream = upstream
        self.calllog = calllog
        self.limits = limits
        self.keeper = keeper
        self.clock = limits.clock
        self.watcher = watcher
        self.keys_poll_s = keys_poll_s
        self.announce = announce or (lambda line: None)
        self.max_body = settings.proxy_max_body_bytes
        self.max_depth = settings.proxy_max_json_depth
        self.calls = 0
        self.refused = 0
        self.spend_loaded: dict[str, Any] = {}  # how the spend counters were restored (spend.load_ledger)
        self._tasks: list[asyncio.Task[None]] = []

    # ---- lifecycle ---------------------------------------------------------------------
    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.upstream.open()
        self.calllog.start()
        loop = asyncio.get_running_loop()
        hup = False
        if self.watcher is not None and self.watcher.path is not None:
            self._tasks.append(loop.create_task(self._watch_keys(), name="loom-gateway-keys"))
            with suppress(ValueError, RuntimeError, NotImplementedError, AttributeError):
                loop.add_signal_handler(signal.SIGHUP, self.reload_keys, True)  # only in the main thread
                hup = True
        try:
            yield
        finally:
            if hup:
                loop.remove_signal_handler(signal.SIGHUP)
            for task in self._tasks:
                task.cancel()
            await self.upstream.close()
            await self.calllog.close()

    async def _watch_keys(self) -> None:
        while True:
            await asyncio.sleep(self.keys_poll_s)
            self.reload_keys()

    def reload_keys(self, force: bool = False) -> bool:
        """Swap in the keys file's current keys if it changed (or `force`); in-flight calls go on."""
        if self.watcher is None:
            return False
        try:
            ring = self.watcher.poll(force=force)
        except ConfigError as exc:
            self.announce(f"loom proxy: keys file not reloaded: {exc.line()}; "
                          f"keeping the previous {len(self.keyring)} key(s)")
            return False
        if ring is None:
            return False
        self.keyring = ring
        limited = sum(1 for e in ring.entries if not e.policy.empty)
        self.announce(f"loom proxy: reloaded {len(ring)} API key(s), {limited} with limits, from {self.watcher.path}")
        return True

    # ---- routes ------------------------------------------------------------------------
    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "calls": self.calls, "refused": self.refused})

    async def messages(self, request: Request) -> Response:
        return await self._post(request, "messages", "/v1/messages", streamable=True)

    async def count_tokens(self, request: Request) -> Response:
        return await self._post(request, "count_tokens", "/v1/messages/count_tokens", streamable=False)

    async def models(self, request: Request) -> Response:
        t0 = time.perf_counter()
        admitted = self._admit(request, "models")
        if isinstance(admitted, Response):
            return admitted
        call, entry = admitted
        try:
            model_id = request.path_params.get("model_id")
            if model_id is not None and not _MODEL_ID.fullmatch(model_id):
                # Never let a path segment like `..` reach the upstream: it would address other
                # vendor endpoints (batches, files) with the server's key.
                return self._fail(call, t0, 404, "unknown model id")
            refusal = self._check(call, entry, None)
            if refusal is not None:
                return self._refuse(call, t0, refusal)
            path = "/v1/models" + (f"/{model_id}" if model_id else "")
            if request.url.query:
                path += "?" + request.url.query
            return await self._forward(call, t0, request, "GET", path, None)
        except Exception as exc:  # noqa: BLE001 - a gateway bug: one log line and a 500, never a traceback
            return self._crashed(call, t0, exc)

    async def unrouted(self, request: Request, status: int, detail: str) -> Response:
        """404/405 (including a trailing slash: no redirect is ever built from the Host header).
        Logged for a valid key; without one only counted, like every unauthenticated request."""
        t0 = time.perf_counter()
        what = f"{request.method} {request.url.path}"[:200]
        message = f"{detail}: {what}" if status == 404 else f"{what}: {detail}"
        entry = self._authenticate(request)
        if entry is None:
            self.refused += 1
            return error_response(status, message)
        call = Call(self.clock.wall(), entry.tenant, entry.owner, entry.key_id, "unrouted")
        return self._fail(call, t0, status, message)

    # ---- the pipeline ------------------------------------------------------------------
    async def _post(self, request: Request, route: str, path: str, *, streamable: bool) -> Response:
        t0 = time.perf_counter()
        admitted = self._admit(request, route)
        if isinstance(admitted, Response):
            return admitted
        call, entry = admitted
        try:
            return await self._post_admitted(call, entry, t0, request, path, streamable)
        except Exception as exc:  # noqa: BLE001 - a gateway bug: one log line and a 500, never a traceback
            return self._crashed(call, t0, exc)

    async def _post_admitted(self, call: Call, entry: KeyEntry, t0: float, request: Request, path: str,
                             streamable: bool) -> Response:
        try:
            body = await self._read_body(request)
        except ClientDisconnect:
            return self._fail(call, t0, _CLIENT_GONE, "client disconnected while sending the body")
        if body is None:
            return self._fail(call, t0, 413, f"request body exceeds {self.max_body} bytes")
        try:
            payload = json.loads(body)
        except RecursionError:
            return self._fail(call, t0, 400, f"request body nests deeper than {self.max_depth} levels")
        except ValueError as exc:
            return self._fail(call, t0, 400, f"request body is not valid JSON: {exc}")
        if not isinstance(payload, dict):
            return self._fail(call, t0, 400, "request body must be a JSON object")
        if too_deep(body, payload, self.max_depth):
            return self._fail(call, t0, 400, f"request body nests deeper than {self.max_depth} levels")
        call.request = payload
        refusal = self._check(call, entry, payload.get("model"))
        if refusal is not None:
            return self._refuse(call, t0, refusal)
        query = request.scope.get("query_string")
        if query:  # e.g. the SDK's `?beta=true`; a query cannot change which endpoint is called
            path += "?" + query.decode("latin-1")
        if streamable and payload.get("stream") is True:
            return await self._stream(call, t0, request, path, body)
        return await self._forward(call, t0, request, "POST", path, body)

    def _admit(self, request: Request, route: str) -> tuple[Call, KeyEntry] | Response:
        """Authenticate (401, only counted); the Call under the key's tenant and owner."""
        entry = self._authenticate(request)
        if entry is None:
            self.refused += 1  # refusals are counted, never logged or forwarded
            return error_response(401, "invalid or missing API key: present your LOOM_API_KEY "
                                       "as x-api-key or Authorization: Bearer")
        headers = request.headers
        call = Call(self.clock.wall(), entry.tenant, entry.owner, entry.key_id, route)
        for attr, name in TAG_HEADERS:
            value = headers.get(name)
            if value:
                setattr(call, attr, value[:_TAG_MAX])
        return call, entry

    def _check(self, call: Call, entry: KeyEntry, model: object) -> Refusal | None:
        """The key's limits (limits.py); on admission the call may hold a max_parallel slot."""
        refusal = self.limits.admit(entry, call.route, model)
        if refusal is None:
            call.slot = entry.policy.max_parallel is not None
            call.eager = entry.policy.needs_usage  # a budget or tpm: charge the moment it completes
        return refusal

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
        body = resp.content if resp.status_code < 400 else self.upstream.scrub(resp.content)
        call.status, call.body = resp.status_code, body
        call.request_id = resp.headers.get("request-id")
        self._done(call, t0)
        return Response(body, status_code=resp.status_code, headers=response_headers(resp.headers))

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
                if resp.status_code >= 400:
                    call.body = self.upstream.scrub(call.body)
            finally:
                await resp.aclose()
            self._done(call, t0)
            return Response(call.body, status_code=resp.status_code, headers=headers)
        call.ttfb_ms = (time.perf_counter() - t0) * 1000.0
        headers.setdefault("cache-control", "no-cache")
        headers["x-accel-buffering"] = "no"
        return RelayResponse(Relay(call, t0, resp, self._done), resp.status_code, headers)

    # ---- bookkeeping -------------------------------------------------------------------
    def _refuse(self, call: Call, t0: float, refusal: Refusal) -> Response:
        call.status, call.error, call.refused_by = refusal.status, refusal.message, refusal.limit
        self._done(call, t0)
        return error_response(refusal.status, refusal.message, refusal.headers())

    def _fail(self, call: Call, t0: float, status: int, message: str) -> Response:
        call.status, call.error = status, message
        self._done(call, t0)
        return error_response(status, message)

    def _crashed(self, call: Call, t0: float, exc: Exception) -> Response:
        message = f"gateway internal error: {type(exc).__name__}"
        log.error("gateway: internal error", extra={"route": call.route, "error": f"{type(exc).__name__}: {exc}"[:300]},
                  exc_info=log.isEnabledFor(logging.DEBUG))
        if call.done:
            return error_response(500, message)
        return self._fail(call, t0, 500, message)

    def _done(self, call: Call, t0: float) -> None:
        """Log the call (once), free its max_parallel slot, charge it now if its key needs that."""
        if call.done:
            return
        call.done = True
        call.latency_ms = (time.perf_counter() - t0) * 1000.0
        if call.slot:
            call.slot = False
            self.limits.release(call.key_id)
        if call.eager:
            self.keeper.charge_now(call)
        self.calls += 1
        self.calllog.put(call)


def create_app(
    settings: "LoomConfig",
    *,
    credentials: CredentialSource | None = None,
    keyring: KeyRing | None = None,
    clock: Clock | None = None,
    keys_poll_s: float = 2.0,
    announce: Callable[[str], None] | None = None,
) -> Starlette:
    """The gateway app. Raises MissingCredentialError at once if the server has no vendor key,
    ConfigError for a keys file that does not parse. Spend so far is loaded from the call log's
    snapshot and the log lines after it (spend.py). `keyring` given = no keys-file reloading."""
    creds = as_credential_source(credentials)
    vendor_key = creds.get(VENDOR_KEY_ENV)
    if not vendor_key:
        raise MissingCredentialError(
            f"{VENDOR_KEY_ENV} is not set: the gateway holds the vendor key server-side",
            hint=f"export {VENDOR_KEY_ENV} on the server before `loom proxy serve`",
        )
    watcher = None
    if keyring is None:
        watcher = KeyWatcher(creds, tenant=settings.tenant, owner=settings.owned_by)
        keyring = load_keyring(creds, tenant=settings.tenant, owner=settings.owned_by)
    clock = clock or Clock()
    ledger, loaded = load_ledger(settings.proxy_log_path)
    limits = Limits(ledger, clock, default_rpm=settings.proxy_rate_limit_rpm)
    keeper = SpendKeeper(limits, ledger.copy(), snapshot_path(settings.proxy_log_path))
    upstream = Upstream(settings.anthropic_base_url, vendor_key, timeout=settings.llm_timeout)
    gateway = Gateway(settings, keyring, upstream, CallLog(settings.proxy_log_path, keeper), limits, keeper,
                      watcher=watcher, keys_poll_s=keys_poll_s, announce=announce)
    routes = [
        Route("/healthz", gateway.healthz, methods=["GET"]),
        Route("/v1/messages", gateway.messages, methods=["POST"]),
        Route("/v1/messages/count_tokens", gateway.count_tokens, methods=["POST"]),
        Route("/v1/models", gateway.models, methods=["GET"]),
        Route("/v1/models/{model_id}", gateway.models, methods=["GET"]),
    ]

    async def http_error(request: Request, exc: HTTPException) -> Response:
        """Starlette's own 404/405, Anthropic-shaped, logged for a valid key."""
        return await gateway.unrouted(request, exc.status_code, str(exc.detail))

    app = GatewayApp(routes=routes, lifespan=gateway.lifespan,
                      exception_handlers={HTTPException: http_error, Exception: crash})  # type: ignore[dict-item]
    app.router.redirect_slashes = False  # `/v1/messages/` is a 404, never a 307 built from the Host header
    gateway.spend_loaded = loaded
    app.state.gateway = gateway
    return app
