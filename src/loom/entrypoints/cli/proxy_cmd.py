"""`loom proxy serve`: the gateway."""

from __future__ import annotations

from typing import Annotated

from cyclopts import App, Parameter

from loom.entrypoints.cli.common import Common, not_built

proxy_app = App(name="proxy", help="The gateway: holds the vendor key server-side and logs every call.")


@proxy_app.command
def serve(
    *,
    host: Annotated[str, Parameter(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, Parameter(help="Port to bind.")] = 8088,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Serve the Anthropic-compatible gateway (vendor key from ANTHROPIC_API_KEY on the server)."""
    return not_built("proxy serve", 8)
