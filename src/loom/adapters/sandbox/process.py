"""Run one sandboxed process tree: bounded output, a wall timeout, cancellation, nothing left behind.

Every tree carries a random marker in its environment (LOOM_SANDBOX_ID). When the main process
exits, times out or is cancelled, the runner kills its process group and then sweeps /proc for any
process still carrying the marker (a candidate that called setsid() and forked again left the
group, not the environment). Under bwrap the PID namespace already takes every descendant down
with the sandbox; the sweep is the same code for both adapters.

With a warm pool (warm.py), a `python -c` request is forked from an interpreter that already
imported the ML stack instead of exec'd; everything else here (output, timeout, cancel, sweep) is
the same code, and a request the pool cannot take runs cold.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loom.application.ports.sandbox import MARKER_VAR, Sandbox, SandboxRequest

if TYPE_CHECKING:
    from loom.adapters.sandbox.warm import WarmPool
    from loom.adapters.sandbox.warm_relay import RemotePool

log = logging.getLogger(__name__)

OUTPUT_HEAD = 32_000  # bytes kept from the start of each stream
OUTPUT_TAIL = 64_000  # and from its end


@dataclass(frozen=True)
class Outcome:
    """How a sandboxed run ended. `returncode` is None when it was killed by the runner."""

    stdout: str
    stderr: str
    returncode: int | None
    exec_time: float
    timed_out: bool = False
    cancelled: bool = False
    stragglers: int = 0  # processes still alive after the main one ended, killed by the sweep


class BoundedReader(threading.Thread):
    """Drains one pipe, keeping the first OUTPUT_HEAD and the last OUTPUT_TAIL bytes."""

    def __init__(self, stream: Any) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.head = bytearray()
        self.tail: deque[bytes] = deque()
        self.tail_size = 0
        self.total = 0

    def run(self) -> None:
        try:
            for chunk in iter(lambda: self.stream.read1(65536), b""):
                self.total += len(chunk)
                room = OUTPUT_HEAD - len(self.head)
                if room > 0:
                    self.head += chunk[:room]
                    chunk = chunk[room:]
                if chunk:
                    self.tail.append(chunk)
                    self.tail_size += len(chunk)
                    while self.tail_size - len(self.tail[0]) >= OUTPUT_TAIL:
                        self.tail_size -= len(self.tail.popleft())
        except (OSError, ValueError):
            pass

    def text(self) -> str:
        tail = b"".join(self.tail)[-OUTPUT_TAIL:]
        dropped = self.total - len(self.head) - len(tail)
        middle = f"\n... [{dropped} bytes of output dropped] ...\n".encode() if dropped else b""
        return (bytes(self.head) + middle + tail).decode("utf-8", errors="replace")


def _marked(token: str) -> list[int]:
    """Pids whose environment carries MARKER_VAR=token (readable: our own uid's processes)."""
    needle = f"{MARKER_VAR}={token}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as fh:
                if needle in fh.read().split(b"\0"):
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def kill_tree(pgid: int | None, token: str) -> int:
    """SIGKILL the process group, then every process still carrying the marker. Returns the count."""
    if pgid is not None:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    killed = 0
    for _ in range(20):  # a tree that forks while we kill it needs another pass
        pids = [p for p in _marked(token) if p != os.getpid()]
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.01)
    return killed


def new_token() -> str:
    return secrets.token_hex(8)


def _start(sandbox: Sandbox, request: SandboxRequest, stdin: bool, pool: "WarmPool | RemotePool | None") -> Any:
    """A warm fork when the pool can take the request, else a fresh process (same interface)."""
    if pool is not None:
        from loom.adapters.sandbox.forking import WarmUnavailable

        try:
            return pool.spawn(sandbox, request, stdin=stdin)
        except WarmUnavailable as exc:
            log.info("candidate starts cold: %s", exc)
    launch = sandbox.wrap(request)
    proc = subprocess.Popen(
        launch.argv, cwd=Path(request.workdir), env=launch.env, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )
    proc.supervised = sandbox.name == "landlock"  # type: ignore[attr-defined]  # confine.py's subreaper
    return proc


def _stop_supervisor(proc: Any) -> None:
    """A subreaper supervisor (landlock) kills everything under it on SIGTERM: give it the chance
    before the group is SIGKILLed with it (what it reaped no sweep can find: no marker needed)."""
    if getattr(proc, "supervised", False) and proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass


def run(sandbox: Sandbox, request: SandboxRequest, *, timeout: float, cancel: Any = None,
        stdin: bytes | None = None, token: str | None = None, pool: "WarmPool | RemotePool | None" = None) -> Outcome:
    """Run `request` inside `sandbox` until it exits, times out, or `cancel.is_set()`.

    `token` marks the tree (new_token() when None); a caller that may be killed before this
    returns (a Metaflow step) passes its own, so its parent can sweep with kill_tree(None, token).
    `pool` (warm.shared(...)) forks `python -c` requests from a warm interpreter; None = always cold.
    """
    token = token or new_token()
    request = replace(request, env={**request.env, MARKER_VAR: token})
    started = time.monotonic()
    proc = _start(sandbox, request, bool(stdin), pool)
    readers = [BoundedReader(proc.stdout), BoundedReader(proc.stderr)]
    for reader in readers:
        reader.start()
    if stdin and proc.stdin is not None:
        try:
            proc.stdin.write(stdin)
            proc.stdin.close()
        except OSError:
            pass
    timed_out = cancelled = False
    deadline = started + timeout
    try:
        while True:
            wait = max(0.0, deadline - time.monotonic())
            try:
                proc.wait(timeout=min(wait, 0.05) if cancel is not None else wait)
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline:
                    timed_out = True
                    break
                if cancel is not None and cancel.is_set():
                    cancelled = True
                    break
    finally:
        _stop_supervisor(proc)
        stragglers = kill_tree(proc.pid, token)  # also after a normal exit: daemons it left behind
        if not isinstance(proc, subprocess.Popen):  # a warm candidate: killed by its supervisor if still
            proc.close()  # running (even before its setsid), then its sandbox and all left in it
        proc.wait()
        for reader in readers:
            reader.join(timeout=5)
    return Outcome(
        stdout=readers[0].text(), stderr=readers[1].text(),
        returncode=None if (timed_out or cancelled) else proc.returncode,
        exec_time=time.monotonic() - started, timed_out=timed_out, cancelled=cancelled, stragglers=stragglers,
    )
