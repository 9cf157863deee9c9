"""`loom proxy serve`: the gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from cyclopts import App, Parameter

from loom.entrypoints.cli.common import Common, emit, load_config

proxy_app = App(name="proxy", help="The gateway: holds the vendor key server-side and logs every call.")


@proxy_app.command
def serve(
    *,
    host: Annotated[str, Parameter(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, Parameter(help="Port to bind (0 = any free port; the URL is printed).")] = 8088,
    log_path: Annotated[
        Path | None, Parameter(help="Call log (JSONL), overrides LOOM_PROXY_LOG_PATH.")
    ] = None,
    rate_limit_rpm: Annotated[
        int | None, Parameter(help="Per-key requests/minute (429 beyond), overrides LOOM_PROXY_RATE_LIMIT_RPM.")
    ] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Serve the Anthropic-compatible gateway (vendor key from ANTHROPIC_API_KEY on the server).

    Callers present a LOOM_API_KEY as x-api-key or Authorization: Bearer.
    Allowed keys: LOOM_API_KEY, LOOM_API_KEYS (comma list), LOOM_API_KEYS_FILE (`key tenant owner` lines).
    Calls go to ANTHROPIC_BASE_URL (default Anthropic's API); each is logged as one JSON line.
    Ctrl-C stops it cleanly. See docs/gateway.md.
    """
    import sys

    from loom.entrypoints.gateway.server import serve as run_server

    config = load_config(common, proxy_log_path=log_path, proxy_rate_limit_rpm=rate_limit_rpm)
    report = run_server(config, host=host, port=port,
                        announce=lambda line: print(line, file=sys.stderr, flush=True))
    emit(common, {"status": "OK", "url": report.url, "calls": report.calls, "refused": report.refused,
                  "logged": report.logged, "log_path": str(config.proxy_log_path)},
         lambda out: None)
    return 0
