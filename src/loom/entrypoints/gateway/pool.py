"""A constant-time connection pool for the gateway's httpx client.

httpcore's own pool re-scans every connection (probing each idle socket) whenever a request
starts or ends, which is O(connections) per call and dominated the gateway's CPU at
concurrency 50 (~175 rps on 2 cores). This pool keeps idle connections on a LIFO stack per
origin: a call pops one (probing only that one), a finished response pushes it back. Each
connection is still httpcore's own `AsyncHTTPConnection` (HTTP/1.1 parsing, TLS, keep-alive
expiry), and the client is still one `httpx.AsyncClient`: `PooledTransport` is an
`httpx.AsyncHTTPTransport` whose pool is swapped for this one, so httpx keeps mapping
exceptions and wrapping responses as usual.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpcore
import httpx

log = logging.getLogger(__name__)

#: Errors on a reused connection that mean "closed by the server while idle": the request was
#: not taken, so it is safe to send it again on another connection.
_STALE = (httpcore.RemoteProtocolError, httpcore.WriteError, httpcore.ConnectionNotAvailable)


def _stale(exc: Exception) -> bool:
    if isinstance(exc, httpcore.RemoteProtocolError):
        return "without sending a response" in str(exc)
    return True


class LifoPool:
    """httpcore-compatible pool (`handle_async_request`, `aclose`) with O(1) checkout."""

    def __init__(self, *, ssl_context: Any, max_connections: int, keepalive_expiry: float | None) -> None:
        self._ssl_context = ssl_context
        self._max = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._idle: dict[Any, list[httpcore.AsyncHTTPConnection]] = {}
        self._open: set[httpcore.AsyncHTTPConnection] = set()
        self._slots: asyncio.Semaphore | None = None

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._max)
        if self._slots.locked():  # all connections busy: wait, at most httpx's pool timeout
            wait = (request.extensions.get("timeout") or {}).get("pool")
            try:
                await asyncio.wait_for(self._slots.acquire(), wait)
            except asyncio.TimeoutError:
                raise httpcore.PoolTimeout(f"no free upstream connection within {wait} s") from None
        else:
            await self._slots.acquire()
        try:
            response, conn = await self._send(request)
        except BaseException:
            self._slots.release()
            raise
        return httpcore.Response(status=response.status, headers=response.headers,
                                 content=_ReleasingStream(response.stream, self, conn),
                                 extensions=response.extensions)

    async def _send(self, request: httpcore.Request) -> tuple[httpcore.Response, httpcore.AsyncHTTPConnection]:
        origin = _key(request.url.origin)
        stack = self._idle.setdefault(origin, [])
        while stack:
            conn = stack.pop()
            if conn.has_expired() or not conn.is_idle():
                await self._discard(conn)
                continue
            try:
                return await conn.handle_async_request(request), conn
            except _STALE as exc:
                await self._discard(conn)
                if not _stale(exc):
                    raise
                # closed by the server while idle: use another
        conn = httpcore.AsyncHTTPConnection(origin=request.url.origin, ssl_context=self._ssl_context,
                                            keepalive_expiry=self._keepalive_expiry, http1=True, http2=False)
        self._open.add(conn)
        try:
            return await conn.handle_async_request(request), conn
        except BaseException:
            await self._discard(conn)
            raise

    async def _release(self, conn: httpcore.AsyncHTTPConnection, origin: Any) -> None:
        if self._slots is not None:
            self._slots.release()
        if conn.is_idle() and not conn.is_closed():
            self._idle.setdefault(origin, []).append(conn)
        else:
            await self._discard(conn)

    async def _discard(self, conn: httpcore.AsyncHTTPConnection) -> None:
        self._open.discard(conn)
        with anyio.CancelScope(shield=True):
            await conn.aclose()

    async def aclose(self) -> None:
        for conn in list(self._open):
            await self._discard(conn)
        self._idle.clear()

    async def __aenter__(self) -> "LifoPool":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _key(origin: httpcore.Origin) -> tuple[bytes, bytes, int]:
    return (origin.scheme, origin.host, origin.port)


class _ReleasingStream:
    """The response body; closing it hands the connection back to the pool."""

    def __init__(self, stream: Any, pool: LifoPool, conn: httpcore.AsyncHTTPConnection) -> None:
        self._stream, self._pool, self._conn = stream, pool, conn
        self._origin = _key(conn._origin)  # noqa: SLF001 - httpcore keeps no public accessor
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._stream:
            yield part

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            try:
                if hasattr(self._stream, "aclose"):
                    await self._stream.aclose()
            finally:
                await self._pool._release(self._conn, self._origin)  # noqa: SLF001


class PooledTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with `LifoPool` in place of httpcore's pool (falls back if it cannot)."""

    def __init__(self, *, limits: httpx.Limits, **kwargs: Any) -> None:
        super().__init__(limits=limits, **kwargs)
        pool = getattr(self, "_pool", None)
        if isinstance(pool, httpcore.AsyncConnectionPool):
            self._pool = LifoPool(  # type: ignore[assignment]
                ssl_context=getattr(pool, "_ssl_context", None),
                max_connections=limits.max_connections or 1024,
                keepalive_expiry=limits.keepalive_expiry,
            )
        else:  # a proxy pool or a changed httpx: keep httpx's own pool
            log.warning("gateway: using httpx's default connection pool")
