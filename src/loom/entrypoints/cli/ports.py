"""The one check of a `--port` flag (`loom deploy --serve`, `loom proxy serve`), before any work."""

from __future__ import annotations

from loom.domain.errors import UsageError


def check_port(port: int, *, any_free: bool = False) -> int:
    """`port` when it is a TCP port (1-65535; 0 too when `any_free`: the OS picks a free one), else a
    one-line UsageError (exit 2). Left unchecked, uvicorn wraps 99999 to 34463 and a bind() of -5 fails
    late, after the work that precedes serving."""
    low = 0 if any_free else 1
    if not low <= port <= 65535:
        raise UsageError(f"--port must be between {low} and 65535 (got {port})"
                         + ("; 0 picks any free port" if any_free else ""))
    return port
