"""Run the gateway on uvicorn: bind, say where, serve until Ctrl-C / SIGTERM, report.

uvicorn gets the fastest pieces it can find: uvloop for the event loop and httptools for HTTP
parsing when they are installed (pure-Python asyncio/h11 otherwise), no access log (the call
log is the record), one process.
"""

from __future__ import annotations

import importlib.util
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loom.domain.errors import UsageError
from loom.domain.urls import hide_password

if TYPE_CHECKING:
    import uvicorn
    from starlette.applications import Starlette

    from loom.application.config import LoomConfig
    from loom.application.credentials import CredentialSource


@dataclass(frozen=True)
class ServeReport:
    url: str
    calls: int
    refused: int
    logged: int


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0 = any free port). One-line UsageError when it cannot bind."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio only sets TCP_NODELAY on accepted sockets whose proto is
    # IPPROTO_TCP, and without it Nagle + delayed ACK add ~40 ms to every response.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                         hint="pick another --port or --host") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def uvicorn_config(app: "Starlette", **overrides: Any) -> "uvicorn.Config":
    import uvicorn

    fast_loop = importlib.util.find_spec("uvloop") is not None
    fast_http = importlib.util.find_spec("httptools") is not None
    options: dict[str, Any] = dict(
        loop="uvloop" if fast_loop else "asyncio",
        http="httptools" if fast_http else "h11",
        lifespan="on",
        access_log=False,
        log_config=None,  # keep Loom's redacting logging setup
        log_level="warning",
        timeout_keep_alive=30,
        backlog=2048,
        ws="none",
    )
    options.update(overrides)
    return uvicorn.Config(app, **options)


def serve(
    settings: "LoomConfig",
    *,
    host: str,
    port: int,
    credentials: "CredentialSource | None" = None,
    announce: Callable[[str], None] = print,
) -> ServeReport:
    """Serve until interrupted. Missing vendor key / bad key file / busy port raise first."""
    import uvicorn

    from loom.entrypoints.gateway.app import create_app

    app = create_app(settings, credentials=credentials, announce=announce)
    gateway = app.state.gateway
    problem = gateway.calllog.check()
    if problem:
        raise UsageError(f"cannot write the call log {settings.proxy_log_path}: {problem}",
                         hint="set --log-path or LOOM_PROXY_LOG_PATH to a writable file")
    sock = bind(host, port)
    url = url_of(sock)
    limited = sum(1 for e in gateway.keyring.entries if not e.policy.empty)
    announce(f"loom proxy: listening on {url} -> {hide_password(gateway.upstream.base_url)} "
             f"({len(gateway.keyring)} API key(s), {limited} with limits; log {settings.proxy_log_path})")
    loaded = gateway.spend_loaded
    if loaded.get("snapshot") or loaded.get("replayed"):
        announce(f"loom proxy: spend restored from {'the snapshot + ' if loaded.get('snapshot') else ''}"
                 f"{loaded.get('replayed', 0)} log line(s)")
    if not len(gateway.keyring):
        announce("loom proxy: no API keys configured (LOOM_API_KEY / LOOM_API_KEYS / LOOM_API_KEYS_FILE): "
                 "every call will be refused with 401")
    from loom.entrypoints.signals import term_as_interrupt

    server = uvicorn.Server(uvicorn_config(app))
    previous = term_as_interrupt()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises a captured Ctrl-C / SIGTERM after a clean shutdown
        pass
    finally:
        sock.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    announce(f"loom proxy: stopped after {gateway.calls} call(s), {gateway.refused} refused")
    return ServeReport(url=url, calls=gateway.calls, refused=gateway.refused, logged=gateway.calllog.written)
