"""Signal handling shared by Loom's long-running servers (the gateway, the MCP server)."""

from __future__ import annotations

from typing import Any


def term_as_interrupt() -> Any:
    """Make SIGTERM end the process like Ctrl-C (clean shutdown, runs stopped and saved).

    Returns the previous handler (None off the main thread, where signals cannot be set)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)
