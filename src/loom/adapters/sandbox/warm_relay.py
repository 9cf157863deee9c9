"""Warm candidates for a step that runs in another process (a Metaflow CandidateRun's `start`).

A WarmPool's fork server belongs to the process that started it: Loom's search. A local Metaflow
step is its grandchild (Loom → the Metaflow runtime → the step), so it cannot reach the server's
control socket. The relay lends it that socket:

- Loom listens on a Unix socket in a private folder (mode 0700; a peer of another user is turned
  away). A caller first proves it was told the relay's address by Loom: the address carries a
  random token (`path#token`, handed to the step in its sandbox parameter), which the caller sends
  first; any other peer is turned away before it hears anything. A candidate is a process of the
  same user and, under `landlock`, can reach a Unix socket by path (/proc/net/unix names them): it
  must not be able to ask the server for an unconfined fork. The relay then tells the caller
  whether the server is ready, for which interpreter, and how big it is.
- The step builds the candidate's sandbox and request exactly as a local candidate does
  (forking.fork: under bwrap it starts the candidate's own sandbox with a holder) and sends the
  request with its descriptors (stdio, a status socket, the sandbox's namespaces).
- The relay forwards them unchanged to the fork server, which answers the step directly on the
  status socket; the step then waits for, reads and kills its candidate as it would a cold one.

Whatever is missing (no relay, a server still importing, another interpreter, a kernel that will
not let a fork enter the sandbox) runs the candidate cold, as everywhere. A remote step
(`--with kubernetes`) gets no relay: it runs on another machine.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import shutil
import socket
import struct
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from loom.adapters.sandbox import zygote
from loom.adapters.sandbox.forking import (
    ANSWER_TIMEOUT,
    WarmProcess,
    WarmUnavailable,
    close_fds,
    fork,
    read_message,
    refusal,
)
from loom.application.ports.sandbox import Sandbox, SandboxRequest

if TYPE_CHECKING:
    from loom.adapters.sandbox.warm import WarmPool

CONNECT_TIMEOUT = 5.0


class Relay:
    """Serves one WarmPool to other processes of this user on a Unix socket (`address`)."""

    def __init__(self, pool: "WarmPool") -> None:
        self.pool = pool
        self._dir = Path(tempfile.mkdtemp(prefix="loom-relay-"))  # 0700: only this user reaches the socket
        self.path = str(self._dir / "pool")
        self._token = secrets.token_hex(16)
        self.address = f"{self.path}#{self._token}"  # what a step is told; the token is its proof
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._sock.bind(self.path)
        self._sock.listen(32)
        pool.start()
        threading.Thread(target=self._serve, daemon=True, name="loom-warm-relay").start()

    def close(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True, name="loom-warm-relay-conn").start()

    def _answer(self, conn: socket.socket) -> None:
        """One request: hello (ready? which interpreter?), the fork request forwarded, then the outcome.

        The outcome message counts the fork in the pool (`forked` / `declined`, as for a local
        candidate) and carries a kernel's refusal to let a fork enter a sandbox.
        """
        with conn:
            if not _same_user(conn):
                return
            conn.settimeout(ANSWER_TIMEOUT)
            try:
                told = conn.recv(256)
            except OSError:
                return
            if not hmac.compare_digest(told, self._token.encode()):
                return  # not a step Loom started: not a word about the pool
            pool = self.pool
            why = pool.unavailable()
            try:
                conn.send(json.dumps({"python": pool.python, "info": pool.info, "why": why,
                                      "no_namespaces": pool.no_namespaces}).encode())
                if why:
                    pool.declined += 1
                    return
                message, fds, _flags, _addr = socket.recv_fds(conn, zygote.MAX_MESSAGE, 64)
            except OSError:
                return
            answer: dict[str, object] = {"sent": True}
            try:
                request = json.loads(message) if message else {}
                if not isinstance(request, dict) or "code" not in request:  # the step declined on its own
                    pool.declined += 1
                    return
                pool.send(message, fds)
            except (ValueError, WarmUnavailable) as exc:
                answer = {"error": str(exc)}
            finally:
                close_fds(fds)
            try:
                conn.send(json.dumps(answer).encode())
            except OSError:
                return
            outcome = read_message(conn) or {}
            if isinstance(outcome.get("forked"), int):
                pool.forked += 1
                return
            pool.declined += 1
            if isinstance(outcome.get("refused"), str):
                pool.refuse_namespaces(outcome["refused"])


class RemotePool:
    """The step's side: the WarmPool interface process.run uses (spawn), over a relay's address."""

    def __init__(self, address: str) -> None:
        self.address, _, self._token = address.partition("#")

    def spawn(self, sandbox: Sandbox, request: SandboxRequest, *, stdin: bool = False) -> WarmProcess:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        conn.settimeout(CONNECT_TIMEOUT)
        try:
            conn.connect(self.address)
            conn.settimeout(ANSWER_TIMEOUT)
            conn.send(self._token.encode())
            hello = read_message(conn)
        except OSError as exc:
            conn.close()
            raise WarmUnavailable(f"no warm relay at {self.address} ({exc})") from exc
        refused: list[str] = []

        def send(payload: bytes, fds: list[int]) -> None:
            try:
                socket.send_fds(conn, [payload], fds)
            except OSError as exc:
                raise WarmUnavailable(f"the warm relay is gone ({exc})") from exc
            answer = read_message(conn)
            if not answer or not answer.get("sent"):
                raise WarmUnavailable(str((answer or {}).get("error") or "the warm relay did not forward"))

        with conn:
            try:
                if not hello:
                    raise WarmUnavailable("the warm relay did not answer")
                if hello.get("why"):
                    raise WarmUnavailable(str(hello["why"]))
                why = refusal(str(hello.get("python")), hello.get("info") or {},
                              str(hello.get("no_namespaces") or ""), sandbox, request)
                if why:
                    raise WarmUnavailable(why)
                proc = fork(sandbox, request, stdin, send, refused.append)
            except WarmUnavailable as exc:
                _tell(conn, {"declined": str(exc), **({"refused": refused[0]} if refused else {})})
                raise
            _tell(conn, {"forked": proc.pid})
            return proc


def _tell(conn: socket.socket, message: dict[str, object]) -> None:
    try:
        conn.send(json.dumps(message).encode())
    except OSError:
        pass


def _same_user(conn: socket.socket) -> bool:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid == os.getuid()
