"""Asking a fork server for a candidate, and the candidate it returns (the request side of warm.py).

Shared by the WarmPool (Loom's own process, over the server's control socket) and the relay's
RemotePool (a Metaflow step, over warm_relay's socket): `refusal` says why a server cannot take a
request, `fork` starts the candidate's sandbox (under bwrap, with a holder) and sends the request
with its descriptors, and the WarmProcess it returns is waited for, read and killed like a
subprocess.Popen.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from loom.adapters.sandbox import zygote
from loom.adapters.sandbox.holder import Unreachable, hold, stop_holder
from loom.application.ports.sandbox import Sandbox, SandboxRequest

ANSWER_TIMEOUT = 30.0  # a supervisor answers in milliseconds; seconds only on a machine under heavy load


class WarmUnavailable(RuntimeError):
    """The warm path cannot take this request; the caller runs it cold."""


class WarmProcess:
    """A forked candidate, with the part of subprocess.Popen's interface process.run uses."""

    def __init__(self, pid: int, status: socket.socket, stdin: Any, stdout: Any, stderr: Any,
                 holder: subprocess.Popen[bytes] | None) -> None:
        self.pid, self.stdin, self.stdout, self.stderr = pid, stdin, stdout, stderr
        self.returncode: int | None = None
        self._status, self._holder = status, holder

    def wait(self, timeout: float | None = None) -> int:
        """The candidate's exit code (negative: killed by that signal); TimeoutExpired like Popen."""
        if self.returncode is not None:
            return self.returncode
        ready, _, _ = select.select([self._status], [], [], timeout)
        if not ready:
            raise subprocess.TimeoutExpired(["warm candidate"], timeout or 0)
        message = read_message(self._status)
        status = message.get("status") if message else None
        self.returncode = os.waitstatus_to_exitcode(status) if isinstance(status, int) else -signal.SIGKILL
        return self.returncode

    def close(self) -> None:
        """Kill the candidate (if still running) and its sandbox; release every descriptor."""
        try:
            if self.returncode is None:
                self._status.send(b"kill")
                self.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        if self.returncode is None:  # its supervisor never answered: it was SIGKILLed with the sandbox
            self.returncode = -signal.SIGKILL
        self._status.close()
        stop_holder(self._holder)
        if self.stdin is not None:
            try:
                self.stdin.close()
            except OSError:
                pass


def refusal(python: str, info: Mapping[str, Any], no_namespaces: str, sandbox: Sandbox,
            request: SandboxRequest) -> str | None:
    """Why a fork server of `python` (its ready `info`) cannot take `request` (None: it can)."""
    argv = list(request.argv)
    if len(argv) < 3 or argv[1] != "-c":
        return "not a `python -c` command"
    if os.path.realpath(argv[0]) != os.path.realpath(python):
        return "another interpreter"
    if sandbox.name not in ("bwrap", "landlock", "none"):
        return f"sandbox {sandbox.name!r} is not supported"
    if sandbox.isolated and no_namespaces:
        return no_namespaces
    vm_kb = str(info.get("vm_size", "0 kB")).split()[0]
    cap = request.limits.memory_bytes
    if cap and vm_kb.isdigit() and cap < 2 * int(vm_kb) * 1024:  # the warm heap alone would eat the cap
        return f"a memory cap of {cap // 1024**2} MB is too small for the warm interpreter"
    return None


def fork(sandbox: Sandbox, request: SandboxRequest, stdin: bool, send: Callable[[bytes, list[int]], None],
         refuse_namespaces: Callable[[str], None]) -> WarmProcess:
    """Ask a fork server (through `send`) to fork `request` inside `sandbox`; WarmUnavailable when it cannot.

    Under bwrap the candidate's own sandbox is started here (with a holder) and its namespaces go to
    the server with the candidate's stdio and a status socket; `refuse_namespaces` hears why a kernel
    would not let a fork enter a sandbox (that will not change: later bwrap candidates run cold).
    """
    workdir = str(Path(request.workdir).resolve())
    sandbox_proc: subprocess.Popen[bytes] | None = None
    names: list[str] = []
    theirs: list[int] = []  # descriptors that go to the candidate's side
    ours: list[int] = []  # and the ends Loom keeps
    try:
        if sandbox.isolated:
            sandbox_proc, names, theirs = hold(sandbox, request)
            env = {**request.env, "PWD": workdir}  # what bwrap gives the process it starts
        else:
            env = sandbox.wrap(request).env
        stdin_r, stdin_w = os.pipe() if stdin else (os.open(os.devnull, os.O_RDONLY), -1)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        status, status_peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours += [fd for fd in (stdin_w, out_r, err_r) if fd >= 0]
        theirs = [stdin_r, out_w, err_w, status_peer.detach(), *theirs]
        payload = json.dumps({"code": request.argv[2], "args": list(request.argv[3:]), "env": env, "cwd": workdir,
                              "ns": names, "isolate": sandbox.isolated, "cpus": request.limits.cpus,
                              "confine": getattr(sandbox, "rules")(request) if sandbox.name == "landlock" else None}).encode()
        if len(payload) > zygote.MAX_MESSAGE:
            raise WarmUnavailable("the command is too large for the fork server")
        send(payload, theirs)
        close_fds(theirs)
        theirs = []
        ready, _, _ = select.select([status], [], [], ANSWER_TIMEOUT)
        first = read_message(status) if ready else None
        if not first or not isinstance(first.get("pid"), int):
            status.close()
            error = (first or {}).get("error")
            if sandbox.isolated and error:  # e.g. a kernel that refuses setns: it will not change
                refuse_namespaces(f"a fork cannot enter a bwrap sandbox here ({error})")
            raise WarmUnavailable(error or "the fork server did not answer")
    except Unreachable as exc:
        close_fds(theirs + ours)
        raise WarmUnavailable(str(exc)) from exc
    except BaseException:
        close_fds(theirs + ours)
        stop_holder(sandbox_proc)
        raise
    return WarmProcess(first["pid"], status, os.fdopen(stdin_w, "wb") if stdin_w >= 0 else None,
                       os.fdopen(out_r, "rb"), os.fdopen(err_r, "rb"), sandbox_proc)


def close_fds(fds: list[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def read_message(sock: socket.socket) -> dict[str, Any] | None:
    try:
        data = sock.recv(zygote.MAX_MESSAGE)
        return json.loads(data) if data else None
    except (OSError, ValueError):
        return None
