"""Run the real gateway app on uvicorn in a background thread, on a random loopback port.

    gw = GatewayThread(create_app(settings, credentials=creds)).start()
    gw.url            # "http://127.0.0.1:PORT"
    gw.gateway        # the app's Gateway (counters, log)
    gw.stop()         # graceful: the lifespan closes the pool and drains the call log

Also: `read_log(path)` (parsed JSONL lines) and `wait_for_lines(path, n)` (the call log is
written by a writer task just after each response, so readers wait for it briefly).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from loom.entrypoints.gateway.server import bind, url_of, uvicorn_config


class GatewayThread:
    def __init__(self, app: Any) -> None:
        import uvicorn

        self.app = app
        self.gateway = app.state.gateway
        self._sock = bind("127.0.0.1", 0)
        self.url = url_of(self._sock)
        self._server = uvicorn.Server(uvicorn_config(app))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name="loom-gateway", daemon=True)

    def start(self) -> "GatewayThread":
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("gateway did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._sock.close()

    def __enter__(self) -> "GatewayThread":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def read_log(path: Path) -> list[dict[str, Any]]:
    if not Path(path).exists():
        return []
    text = Path(path).read_text(encoding="utf-8")
    complete = text[:text.rfind("\n") + 1]  # a line the writer is still appending is not read yet
    return [json.loads(line) for line in complete.splitlines()]


def wait_for_lines(path: Path, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
    """The log's records once it holds at least `count` lines (or what it holds at the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        records = read_log(path)
        if len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(0.01)
