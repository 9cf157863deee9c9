"""One tool call = one CLI command run in a worker thread, its --json payload as the result.

The command runs with CallHooks: the payload goes to a sink instead of stdout, the observer
port's events become `notifications/progress` (when the client sent a progress token), and a
cancelled request sets the stop event, so a run ends as Ctrl-C ends it: INTERRUPTED, journal
saved, resumable with `resume=RUN_ID`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread

from loom.application.ports.observer import Event
from loom.entrypoints.cli.common import CallHooks, Common, hooked

log = logging.getLogger(__name__)

Report = Callable[..., Coroutine[Any, Any, None]]  # Context.report_progress(progress, total, message)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.5g}"


class ProgressForwarder:
    """Observer -> progress notifications. Progress only ever increases (the MCP rule).

    Built on the event loop; events may come from any thread (parallel candidates), so each
    notification is sent through the loop's token.
    """

    def __init__(self, report: Report | None, kind: str | None) -> None:
        self._report, self._kind = report, kind
        self._token = anyio.lowlevel.current_token()
        self._lock = threading.Lock()
        self.done = 0.0
        self.total: float | None = None
        self._sent: float | None = None

    def _send(self, progress: float, total: float | None, message: str) -> None:
        if self._report is None or (self._sent is not None and progress <= self._sent):
            return
        self._sent = progress
        try:
            anyio.from_thread.run(self._report, progress, total, message, token=self._token)
        except Exception:  # noqa: BLE001 - a lost notification never breaks the work
            log.debug("progress notification not sent", exc_info=True)

    async def start(self, message: str) -> None:
        """Coarse progress (train): 0 of 1 now; called on the event loop."""
        if self._kind == "coarse":
            await self._send_async(0, 1, message)

    async def finish(self, message: str) -> None:
        if self._kind == "coarse":
            await self._send_async(1, 1, message)

    async def _send_async(self, progress: float, total: float, message: str) -> None:
        # no lock here: this runs on the loop before/after the worker, and a worker holding the
        # lock may be waiting for this very loop (in `_send`)
        if self._report is None or (self._sent is not None and progress <= self._sent):
            return
        self._sent = progress
        try:
            await self._report(progress, total, message)
        except Exception:  # noqa: BLE001 - a lost notification never breaks the work
            log.debug("progress notification not sent", exc_info=True)

    def notify(self, event: Event) -> None:
        with self._lock:
            if event.kind == "run_started":
                steps, resumed = int(event.data.get("steps") or 0), int(event.data.get("resumed_from") or 0)
                self.done, self.total = float(resumed), float(resumed + steps)
                self._send(self.done, self.total, f"run {event.run_id} started: {steps} step(s)")
            elif event.kind == "node_finished":
                self.done += 1
                shown = ("buggy" if event.buggy else
                         f"self-reported {_fmt(event.metric)}, selection {_fmt(event.holdout_metric)}")
                self._send(self.done, self.total,
                           f"run {event.run_id} step {event.step} {event.node_kind}: {shown}")
            elif event.kind == "stage" and self._kind == "stages":
                self.done += 1
                self._send(self.done, 6.0, f"stage {event.message}")


def scrubbed(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload with every secret value from the environment replaced (defence in depth)."""
    from loom.entrypoints.logging import redact_payload

    return redact_payload(payload)


def tool_result(payload: Mapping[str, Any], *, error: bool = False) -> Any:
    """A CallToolResult: the object as structured content and as one JSON text block."""
    from mcp_types import CallToolResult, TextContent

    clean = scrubbed(payload)
    return CallToolResult(content=[TextContent(type="text", text=json.dumps(clean))],
                          structured_content=clean, is_error=error)


def error_result(err: BaseException, **overrides: Any) -> Any:
    from loom.entrypoints.cli.errors import error_object

    return tool_result(error_object(err, **overrides), error=True)


class CommandCall:
    """Runs one CLI command with hooks, in the calling thread; `outcome()` is the tool result."""

    def __init__(self, fn: Callable[..., Any], args: Mapping[str, Any], positional: tuple[str, ...],
                 common: Common, observer: Any = None, stop: threading.Event | None = None) -> None:
        self.fn, self.common = fn, common
        self.args = {k: v for k, v in args.items() if k not in positional}
        self.positional = [args[k] for k in positional]
        self.observer = observer
        self.stop = stop or threading.Event()
        self.payload: dict[str, Any] | None = None
        self.exit_code: int | None = None
        self.error: BaseException | None = None
        self.finished = threading.Event()

    def __call__(self) -> None:
        try:
            with hooked(CallHooks(sink=self._take, observer=self.observer, stop=self.stop)):
                code = self.fn(*self.positional, **self.args, common=self.common)
            self.exit_code = code if isinstance(code, int) and not isinstance(code, bool) else 0
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - every failure is the tool's error object
            self.error = exc
        finally:
            self.finished.set()

    def _take(self, payload: dict[str, Any]) -> None:
        self.payload = payload

    def outcome(self) -> Any:
        if self.error is not None:
            log.info("tool call failed", extra={"error": type(self.error).__name__})
            return error_result(self.error)
        payload = dict(self.payload or {"status": "OK"})
        payload.setdefault("exit_code", self.exit_code if self.exit_code is not None else 0)
        return tool_result(payload)


async def run_command(call: CommandCall, progress: ProgressForwarder | None = None, label: str = "") -> Any:
    """Run the call in a worker thread; a cancelled request stops it and waits for it to save."""
    if progress is not None:
        await progress.start(f"{label}: started")
    try:
        await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
    except anyio.get_cancelled_exc_class():
        call.stop.set()  # what Ctrl-C does: the run stops, the journal is saved
        with anyio.CancelScope(shield=True):
            while not call.finished.is_set():
                await anyio.sleep(0.05)
        raise
    if progress is not None and call.error is None:
        await progress.finish(f"{label}: finished")
    return call.outcome()
