"""`landlock`: the kernel's Landlock LSM and a subreaper, where bubblewrap cannot run (no user namespaces).

No namespace and no privilege: the candidate runs as a plain child (the environment scrubbed as
under `none`, its inputs copied into its folder), but confined before its first instruction
(confine.py): it reads only the system dirs, the few /etc files an interpreter needs, its
interpreter's prefixes (LOOM_HOME carved out should it sit inside one), /sys, its own /proc entry
and its own folder; it writes only ./working, /dev/null and /dev/shm. So no LOOM_HOME, no sealed
labels, no $HOME, no other process's /proc/PID/environ. With Landlock ABI >= 4 no TCP connect or
bind (unless LOOM_SANDBOX_NETWORK=on); with ABI >= 6 no signal to, and no abstract socket of, any
process outside the sandbox. A supervisor outside it is the candidate's subreaper: whatever the
candidate leaves running (setsid, an emptied environment, double forks) is reparented to it and
killed when the candidate ends, at a timeout or cancel, or if Loom dies.

MPTCP sockets, which connect like TCP but which Landlock's TCP rights do not cover, are refused by
a seccomp filter (x86_64, aarch64). Of its own /proc entry the candidate reads what libraries read
(status, maps, fd, cgroup, ...), not net/: /proc/net lists every socket of the machine and the path
of each Unix socket, which the candidate could connect to (a path socket is no file Landlock
fences); the warm relay a Metaflow step uses therefore also asks for a token only the step holds.

What bwrap adds and this lacks: a private /tmp and PID view, a private /dev/shm (here the
machine's, which multiprocessing's semaphores need: files there are RAM the memory cap does not
count, and other candidates' files there are reachable), UDP (DNS) blocked too, and a /proc/self
for the candidate's own child processes (they cannot read theirs). Loom says so once per run.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

from loom.adapters.sandbox import confine
from loom.adapters.sandbox.bwrap import ETC_FILES, SYSTEM_DIRS, _under, interpreter_roots
from loom.adapters.sandbox.none import INSTALL_HINT, NoSandbox
from loom.application.ports.sandbox import Launch, SandboxRequest

CONFINE_FILE = str(Path(confine.__file__).resolve())
#: What an interpreter and the ML stack read beyond the system dirs (thread counts, memory, topology).
#: Of its own /proc entry only what libraries read: not /proc/self/net (every socket of the machine,
#: and the path of any Unix socket to connect to) nor task/ (each thread's net again).
PROC_AND_DEV = ("/sys", *(f"/proc/self/{n}" for n in ("status", "stat", "statm", "maps", "smaps", "cgroup", "fd",
                                                        "fdinfo", "environ", "cmdline", "limits", "mountinfo", "mounts",
                                                        "auxv", "io", "oom_score_adj")),
                "/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/dev/urandom", "/dev/random", "/dev/zero")
SHARED_WRITABLE = ("/dev/null", "/dev/shm")  # multiprocessing's semaphores live in /dev/shm
NETWORK_FILES = ("/etc/resolv.conf", "/etc/hosts")


@cache
def abi() -> int:
    """The kernel's Landlock ABI version (0: none). Asked once per process."""
    return confine.landlock_abi() if sys.platform.startswith("linux") else 0


def caveats(version: int) -> list[str]:
    out = ["no private /tmp or PID view", "/dev/shm is the machine's (RAM outside the memory cap)",
           "UDP is not blocked", "Unix sockets at file paths (an ssh-agent, docker.sock) can be connected to"]
    if platform.machine() not in confine.SOCKET_SYSCALL:
        out.append(f"MPTCP is not blocked on {platform.machine()}")
    if version < 4:
        out.append("TCP is not blocked (Landlock ABI < 4)")
    if version < 6:
        out.append("a candidate may signal processes outside it (Landlock ABI < 6)")
    return out


class LandlockSandbox:
    """Wraps a request in confine.py's supervisor with the Landlock rules of that request."""

    name = "landlock"
    isolated = False  # no mount namespace: the caller copies ./input in, as under `none`

    def __init__(self, *, mask: Sequence[str | os.PathLike[str]] = ()) -> None:
        self.mask = tuple(str(Path(m).resolve()) for m in mask)
        self.abi = abi()

    @property
    def warning(self) -> str:
        return (f"candidates are confined with Landlock (ABI {self.abi}), not bubblewrap: their files, TCP and "
                f"processes are fenced in, but {'; '.join(caveats(self.abi))}; for full isolation, {INSTALL_HINT}")

    def rules(self, request: SandboxRequest) -> dict[str, object]:
        """confine.restrict's spec for `request`: the paths it may read and write, and the network."""
        ws = Path(request.workdir).resolve()
        read: list[str] = [*SYSTEM_DIRS, *ETC_FILES, *PROC_AND_DEV, str(ws)]
        for root in interpreter_roots(request.python or sys.executable):
            read += _carved(root, self.mask)
        read += [str(Path(p).resolve()) for p in request.inputs.values()]
        if request.limits.network:
            read += NETWORK_FILES
        write = [str(ws / rel) for rel in request.writable if rel in ("", ".") or (ws / rel).is_dir()]
        return {"read": read, "write": [*write, *SHARED_WRITABLE], "network": bool(request.limits.network)}

    def wrap(self, request: SandboxRequest) -> Launch:
        plain = NoSandbox().wrap(request)  # the environment and TMPDIR inside the folder, as under `none`
        spec = json.dumps(self.rules(request))
        return Launch(argv=[sys.executable, "-I", "-S", CONFINE_FILE, spec, *plain.argv], env=plain.env)


def _carved(root: str, hidden: Iterable[str]) -> list[str]:
    """`root`, or when a hidden path (LOOM_HOME) lies inside it, every entry of it but the way there."""
    inside = [h for h in hidden if _under(h, root)]
    if not inside:
        return [root]
    if root in inside:
        return []
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return []
    out: list[str] = []
    for entry in entries:
        out += _carved(entry.path, inside) if any(_under(h, entry.path) for h in inside) else [entry.path]
    return out
