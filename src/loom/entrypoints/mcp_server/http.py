"""Streamable HTTP on loopback, behind the gateway's caller-key allowlist.

The allowlist is the gateway's own (`loom.entrypoints.gateway.keys`: LOOM_API_KEY, LOOM_API_KEYS,
LOOM_API_KEYS_FILE); a caller presents its key as `Authorization: Bearer KEY` or `x-api-key`.
No key configured -> the server refuses to start; no or an unknown key -> 401, nothing served.
Only loopback addresses are accepted: this is a local bridge for agents, not a public service.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from loom.domain.errors import ConfigError, UsageError
from loom.entrypoints.gateway.keys import KEY_ENV, KEYS_ENV, KEYS_FILE_ENV, KeyRing, load_keyring

if TYPE_CHECKING:
    from loom.application.config import LoomConfig
    from loom.application.credentials import CredentialSource

Scope = dict[str, Any]
ASGI = Callable[..., Any]


def parse_address(value: str) -> tuple[str, int]:
    """`HOST:PORT` (or `[::1]:PORT`) on loopback -> (host, port). Anything else: UsageError."""
    host, sep, port_text = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise UsageError(f"--http wants HOST:PORT (e.g. 127.0.0.1:8765), got '{value}'")
    if host != "localhost":
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise UsageError(f"--http serves on loopback only (127.0.0.1, ::1, localhost), not '{host}'",
                             hint="agents on this machine connect locally; use the gateway for remote callers")
    return ("127.0.0.1" if host == "localhost" else host), int(port_text)


def caller_keys(config: "LoomConfig", credentials: "CredentialSource | None" = None) -> KeyRing:
    """The gateway's allowlist; an empty one is a configuration error for --http."""
    from loom.application.credentials import EnvCredentials

    ring = load_keyring(credentials or EnvCredentials(), tenant=config.tenant, owner=config.owned_by)
    if not len(ring):
        raise ConfigError(f"--http needs at least one caller key: export {KEY_ENV} (or {KEYS_ENV} / {KEYS_FILE_ENV})",
                          hint="clients then send it as `Authorization: Bearer KEY`")
    return ring


def presented_key(scope: Scope) -> bytes | None:
    headers = dict(scope.get("headers") or [])
    key = headers.get(b"x-api-key")
    if key:
        return bytes(key)
    auth = bytes(headers.get(b"authorization") or b"")
    if auth[:7].lower() == b"bearer ":
        return auth[7:].strip() or None
    return None


class RequireCallerKey:
    """ASGI middleware: every HTTP request needs an allowlisted key (lifespan passes through)."""

    def __init__(self, app: ASGI, keyring: KeyRing) -> None:
        self.app, self.keyring = app, keyring
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.keyring.match(presented_key(scope)) is None:
            self.refused += 1
            body = json.dumps({"error": {"status": "UNAUTHORIZED", "message": "a caller key is required",
                                         "hint": "send Authorization: Bearer <LOOM_API_KEY>"}}).encode()
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0 = any free port); one UsageError line when it cannot bind."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", hint="pick another port") from None
    sock.listen(128)
    return sock


def serve_http(server: Any, keyring: KeyRing, host: str, port: int, announce: Callable[[str], None]) -> None:
    """Serve the MCP endpoint at http://HOST:PORT/mcp until Ctrl-C."""
    import uvicorn

    app = RequireCallerKey(server.streamable_http_app(host=host), keyring)
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    announce(f"loom mcp: serving streamable HTTP on http://{shown}:{bound_port}/mcp "
             f"({len(keyring)} caller key(s); tiers {','.join(server.allowed)})")
    config = uvicorn.Config(app, lifespan="on", access_log=False, log_config=None, log_level="warning")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
