"""`bwrap`: bubblewrap (the sandbox Flatpak uses), unprivileged user namespaces.

Inside: the system dirs and the interpreter's prefixes read-only, the candidate's folder
read-only with ./working read-write, a private /tmp, /proc and a minimal /dev; nothing else of
the host filesystem (not LOOM_HOME, not the sealed data, not $HOME). `--unshare-all` gives it new
user, PID, network, IPC, UTS and cgroup namespaces: no network unless LOOM_SANDBOX_NETWORK=on, and
every process it starts dies with it (`--die-with-parent`, PID namespace). `--clearenv` plus the
allowlisted environment; all capabilities dropped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

from loom.application.ports.sandbox import Launch, SandboxRequest

#: Host directories every interpreter needs (read-only); symlinks (usr-merge) are recreated as such.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
#: The few files of /etc a Python process reads (loader cache, users for getpass, time zone, TLS roots).
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/passwd",
             "/etc/group", "/etc/nsswitch.conf", "/etc/alternatives", "/etc/ssl/certs", "/etc/fonts",
             "/etc/mime.types")


@cache
def interpreter_roots(python: str) -> tuple[str, ...]:
    """The directories an interpreter runs from: its prefix (a venv), base prefix, real location."""
    if python == sys.executable:
        found = [sys.prefix, sys.base_prefix, os.path.realpath(sys.executable)]
    else:
        out = subprocess.run(
            [python, "-c", "import os, sys; print(sys.prefix); print(sys.base_prefix); print(os.path.realpath(sys.executable))"],
            capture_output=True, text=True, timeout=60, check=True,
        )
        found = out.stdout.split("\n")[:3]
    real_exe = Path(found[2])
    roots = {Path(found[0]), Path(found[1]), real_exe.parent.parent}
    kept = sorted({str(r.resolve()) for r in roots if str(r) not in ("", "/")})
    # drop roots inside another root (or inside /usr, which is mounted anyway)
    return tuple(r for r in kept if not any(r != o and _under(r, o) for o in kept) and not _under(r, "/usr"))


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


class BwrapSandbox:
    """Builds the bwrap command line for a request. `mask`: host paths hidden if a root contains them."""

    name = "bwrap"
    isolated = True

    def __init__(self, *, binary: str | None = None, mask: Sequence[str | os.PathLike[str]] = ()) -> None:
        self.binary = binary or shutil.which("bwrap") or "bwrap"
        self.mask = tuple(str(Path(m).resolve()) for m in mask)

    def wrap(self, request: SandboxRequest) -> Launch:
        ws = str(Path(request.workdir).resolve())
        roots = interpreter_roots(request.python or sys.executable)
        args = [self.binary, "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
                "--cap-drop", "ALL", "--hostname", "loom-sandbox"]
        if request.limits.network:
            args.append("--share-net")
            args += _ro_binds(["/etc/resolv.conf", "/etc/hosts"])
        args += _system_mounts()
        args += _ro_binds(ETC_FILES)
        # the private /tmp first: what is bound after it shows through (a venv or a clone under /tmp)
        # its size is the memory cap: a tmpfs is RAM the address-space limit does not count
        size = ["--size", str(request.limits.memory_bytes)] if request.limits.memory_bytes else []
        args += ["--proc", "/proc", "--dev", "/dev", *size, "--tmpfs", "/tmp"]
        for root in roots:
            args += ["--ro-bind", root, root]
        for hidden in self.mask:  # e.g. LOOM_HOME inside a venv: an empty tmpfs over it
            if any(_under(hidden, root) for root in roots) and not _under(ws, hidden):
                args += ["--tmpfs", hidden]
        args += ["--ro-bind", ws, ws]
        for rel, host in request.inputs.items():
            args += ["--ro-bind", str(Path(host).resolve()), str(Path(ws) / rel)]
        for rel in request.writable:
            path = str(Path(ws) / rel)
            if rel in ("", ".") or os.path.isdir(path):
                args += ["--bind", path, path]
        args += ["--remount-ro", "/"]  # bwrap's own root is a tmpfs too: no files there (the binds stay as bound)
        args += ["--chdir", ws]
        for key, value in request.env.items():
            args += ["--setenv", key, value]
        return Launch(argv=[*args, "--", *request.argv], env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})


def _ro_binds(paths: Iterable[str]) -> list[str]:
    out: list[str] = []
    for path in paths:
        if os.path.lexists(path):
            out += ["--ro-bind-try", path, path]
    return out


@cache
def _system_mounts() -> tuple[str, ...]:
    out: list[str] = []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            out += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            out += ["--ro-bind", path, path]
    return tuple(out)
