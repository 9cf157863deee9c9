"""Warm candidates: start each candidate by forking an interpreter that already imported the ML stack.

A cold candidate is a fresh `python -c BOOTSTRAP runfile.py` that spends seconds importing numpy,
pandas and scikit-learn before its first line. A WarmPool keeps one fork server (zygote.py) per
interpreter and environment, with that stack imported and no thread started, and runs any
`python -c CODE ARGS...` request by forking it instead, inside the same sandbox:

- `bwrap`: Loom starts the candidate's own bubblewrap sandbox exactly as for a cold candidate (the
  same mounts: its folder, ./input read-only, ./working read-write, a private /tmp, the interpreter
  read-only, no network, the allowlisted environment), with a tiny holder process in place of the
  interpreter. The fork joins that sandbox's namespaces (user, mount, network, IPC, UTS, cgroup,
  PID) and drops every capability before the candidate's code exists; the candidate then lives in
  its own sandbox (no candidate sees another) and dies with it, as a cold one does.
- `none`: the fork runs in the candidate's folder with the scrubbed environment, as `none` does.

The pool never weakens the contract: whatever it cannot do (another interpreter, a sandbox it
does not know, a zygote that died or is still importing, a kernel that refuses `setns`) raises
WarmUnavailable and the caller runs the candidate cold. A candidate never waits for the zygote's
imports (unless the pool was built with `wait_ready`): the first ones of a run start cold beside
it, so a light candidate is not held up for the seconds the stack takes to import, and side-by-side
workers really run side by side from the first step. LOOM_EXEC_WARM=off
turns it off for a run. Executors use it through `process.run(..., pool=shared(python, env))`;
the request side (what a fork request carries, the WarmProcess it returns) is forking.py, and a
process that is not the pool's own (a Metaflow step) reaches it through warm_relay.py.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from loom.adapters.sandbox import zygote
from loom.adapters.sandbox.forking import (
    WarmProcess,
    WarmUnavailable,
    fork,
    read_message,
    refusal,
)
from loom.adapters.sandbox.stack import PRELOAD, WARMUP
from loom.application.ports.sandbox import MARKER_VAR, THREAD_VARS, Sandbox, SandboxRequest

log = logging.getLogger(__name__)

#: Per-candidate variables: not part of the pool's identity, and not in the zygote's environment.
PER_CANDIDATE = ("HOME", "TMPDIR", "MPLCONFIGDIR", "LOOM_RUN_ID", "LOOM_NODE_ID", MARKER_VAR)
MAX_RESTARTS = 3


class WarmPool:
    """One fork server for one interpreter and base environment. Thread-safe; start() is lazy."""

    def __init__(self, python: str, env: Mapping[str, str], *, preload: Sequence[str] = PRELOAD,
                 warmup: str = WARMUP, ready_timeout: float = 180.0, wait_ready: bool = False) -> None:
        self.python = python
        self.wait_ready = wait_ready  # True: a request waits for the imports instead of running cold
        self.env = {k: v for k, v in env.items() if k not in PER_CANDIDATE}
        self.preload = tuple(preload)
        self.warmup = warmup
        self.ready_timeout = ready_timeout
        self.info: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._settled = threading.Event()  # the current launch said ready, or failed
        self._proc: subprocess.Popen[bytes] | None = None
        self._ctrl: socket.socket | None = None
        self._dir: Path | None = None
        self._restarts = 0
        self.forked = 0  # candidates started warm by this pool
        self.declined = 0  # requests it handed back (run cold)
        self.no_namespaces = ""  # why joining a sandbox failed here (then bwrap candidates run cold)
        self._broken = ""  # why the server cannot start at all
        self._relay: Any = None  # warm_relay.Relay, made on first use
        self._relay_lock = threading.Lock()

    # ---- the zygote ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the fork server in the background (no-op when it is running or starting)."""
        with self._lock:
            self._start_locked()

    def _start_locked(self) -> bool:
        """Launch unless running; a server that died is relaunched at most MAX_RESTARTS times."""
        if self._proc is not None and self._proc.poll() is None:
            return True
        if self._broken:
            return False
        if self._proc is not None:
            if self._restarts >= MAX_RESTARTS:
                return False
            self._restarts += 1
            log.warning("warm pool: the fork server exited (%s); restarting it", self._proc.returncode)
        try:
            self._launch()
        except OSError as exc:  # e.g. LOOM_PYTHON cannot be started: every candidate runs cold
            self._broken = f"the fork server cannot start ({exc})"
            log.warning("warm pool: %s; candidates run cold", self._broken)
            self._close_locked()
            return False
        return True

    def _launch(self) -> None:
        self._close_locked()
        self._ready.clear()
        self._dir = Path(tempfile.mkdtemp(prefix="loom-warm-"))
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {**self.env, **{name: "1" for name in THREAD_VARS}, "HOME": str(self._dir), "TMPDIR": str(self._dir),
               "MPLCONFIGDIR": str(self._dir / "matplotlib"), MARKER_VAR: "_" * zygote.MARKER_SLOT,
               # pyarrow's jemalloc would start a background thread at import: no threads before fork
               "JE_ARROW_MALLOC_CONF": "background_thread:false"}
        try:
            with (self._dir / "zygote.log").open("wb") as log_file:
                self._proc = subprocess.Popen(
                    [self.python, "-c", _source(), str(theirs.fileno()), json.dumps(self.preload), self.warmup],
                    cwd=self._dir, env=env, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                    pass_fds=[theirs.fileno()], start_new_session=True,
                )
        except OSError:
            ours.close()
            raise
        finally:
            theirs.close()
        self._ctrl = ours
        self._settled = threading.Event()
        threading.Thread(target=self._await_ready, args=(ours, self._proc, self._settled), daemon=True,
                         name="loom-warm-ready").start()

    def _await_ready(self, ctrl: socket.socket, proc: subprocess.Popen[bytes], settled: threading.Event) -> None:
        try:
            ready, _, _ = select.select([ctrl], [], [], self.ready_timeout)
            message = read_message(ctrl) if ready else None
        except (OSError, ValueError):
            message = None
        with self._lock:
            if proc is not self._proc:  # a later launch replaced this one
                settled.set()
                return
            if message and message.get("ready"):
                self.info = message
                if message.get("threads", 1) > 1:
                    log.warning("warm pool: the fork server runs %s threads before forking", message["threads"])
                log.info("warm pool ready", extra={"pid": message.get("pid"), "vm_rss": message.get("vm_rss"),
                                                   "loaded": len(message.get("loaded", []))})
                self._ready.set()
            else:
                log.warning("warm pool: the fork server did not become ready (exit %s); candidates run cold",
                            proc.poll())
            settled.set()

    def ready(self, timeout: float | None = None) -> bool:
        """Start if needed and wait until the stack is imported (False: it failed, or not within `timeout`)."""
        with self._lock:
            if not self._start_locked():
                return False
            settled = self._settled
        settled.wait(self.ready_timeout if timeout is None else timeout)
        return self._ready.is_set()

    def close(self) -> None:
        """Stop the fork server and its relay (running candidates are not affected: each has its own supervisor)."""
        with self._relay_lock:
            relay, self._relay = self._relay, None
        if relay is not None:
            relay.close()
        with self._lock:
            self._close_locked()

    def relay_address(self) -> str:
        """Where another process of this user (a Metaflow step) asks this server for a fork
        (sandbox/warm_relay.py); the relay is started on first use and stops with the pool."""
        from loom.adapters.sandbox.warm_relay import Relay

        with self._relay_lock:
            if self._relay is None:
                self._relay = Relay(self)
            return str(self._relay.address)

    def _close_locked(self) -> None:
        if self._ctrl is not None:
            self._ctrl.close()  # the zygote reads EOF and exits
            self._ctrl = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        self._ready.clear()

    # ---- candidates ---------------------------------------------------------------------------
    def supports(self, sandbox: Sandbox, request: SandboxRequest) -> str | None:
        """Why this request must run cold (None: the pool can take it)."""
        return refusal(self.python, self.info, self.no_namespaces, sandbox, request)

    def spawn(self, sandbox: Sandbox, request: SandboxRequest, *, stdin: bool = False) -> WarmProcess:
        """Fork `request` (a `python -c` command) inside `sandbox`; WarmUnavailable when it cannot."""
        try:
            proc = self._spawn(sandbox, request, stdin)
        except WarmUnavailable:
            self.declined += 1
            raise
        self.forked += 1
        return proc

    def _spawn(self, sandbox: Sandbox, request: SandboxRequest, stdin: bool) -> WarmProcess:
        why = self.supports(sandbox, request)
        if why:
            raise WarmUnavailable(why)
        why = self.unavailable()
        if why:
            raise WarmUnavailable(why)
        why = self.supports(sandbox, request)  # again: the server's own size is known now
        if why:
            raise WarmUnavailable(why)
        return fork(sandbox, request, stdin, self.send, self.refuse_namespaces)

    def unavailable(self) -> str | None:
        """Why the server cannot fork right now (None: it can); starts or restarts it as needed."""
        with self._lock:
            if self._ready.is_set() and self._proc is not None and self._proc.poll() is not None:
                self._start_locked()  # it died after serving: rewarm in the background, this one runs cold
                return "the fork server exited; it is restarting"
        if not self.ready(timeout=None if self.wait_ready else 0):
            return self._broken or "the fork server is still importing the ML stack"
        return None

    def refuse_namespaces(self, why: str) -> None:
        """A fork could not enter a bwrap sandbox here: later bwrap candidates run cold."""
        self.no_namespaces = why
        log.warning("warm pool: %s; bwrap candidates run cold", why)

    def send(self, payload: bytes, fds: list[int]) -> None:
        """Hand one fork request and its descriptors to the server (restarting it if it is gone)."""
        with self._lock:
            try:
                if self._ctrl is None:
                    raise OSError("closed")
                socket.send_fds(self._ctrl, [payload], fds)
            except OSError as exc:
                if self._proc is not None and self._proc.poll() is None:
                    self._proc.kill()
                self._proc is not None and self._proc.wait()
                self._start_locked()
                raise WarmUnavailable(f"the fork server is gone ({exc}); it is restarting") from exc


_SOURCE: str | None = None
_POOLS: dict[tuple[str, tuple[tuple[str, str], ...]], WarmPool] = {}
_POOLS_LOCK = threading.Lock()


def _source() -> str:
    global _SOURCE
    if _SOURCE is None:
        from loom.adapters.sandbox import confine  # its Landlock and subreaper helpers come first

        _SOURCE = "\n".join(Path(m.__file__).read_text(encoding="utf-8") for m in (confine, zygote))
    return _SOURCE


def for_config(config: Any, ws: Path) -> WarmPool | None:
    """The shared pool for a LoomConfig's interpreter and candidate environment (None when LOOM_EXEC_WARM=off).

    The local executor and a local Metaflow step's relay use the same one: one fork server per run.
    """
    if not config.exec_warm:
        return None
    from loom.adapters.sandbox import limits
    from loom.application.ports.sandbox import candidate_env, passthrough_names

    return shared(config.python, candidate_env(ws, cpus=limits(config).cpus, python=config.python,
                                               passthrough=passthrough_names(config.sandbox_env)))


def shared(python: str, env: Mapping[str, str]) -> WarmPool:
    """The process-wide pool for this interpreter and base environment (per-candidate values ignored)."""
    pool = WarmPool(python, env)
    key = (os.path.realpath(python), tuple(sorted(pool.env.items())))
    with _POOLS_LOCK:
        if key not in _POOLS:
            if not _POOLS:
                atexit.register(close_all)
            _POOLS[key] = pool
        return _POOLS[key]


def close_all() -> None:
    """Stop every shared fork server (at exit, and in tests)."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.close()

