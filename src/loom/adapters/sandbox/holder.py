"""A candidate's bwrap sandbox held open for a fork to enter (the warm path, sandbox/warm.py).

Loom starts the candidate's sandbox with exactly the bubblewrap command a cold candidate gets
(BwrapSandbox.wrap: the same mounts, environment, namespaces and dropped capabilities), except
that the program inside is a tiny shell that says `ready` once bwrap has finished setting up and
then waits. The warm fork joins that sandbox's namespaces (and drops every capability, see
zygote.py). Killing the holder's bwrap tears the sandbox's PID namespace down, with everything
still inside it.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import subprocess
from dataclasses import replace

from loom.application.ports.sandbox import MARKER_VAR, Sandbox, SandboxRequest

HOLDER = ("/bin/sh", "-c", "echo ready; read line")
NS_ORDER = ("user", "mnt", "net", "ipc", "uts", "cgroup", "pid")
NS_GET_USERNS = 0xB701  # ioctl on a namespace descriptor: the user namespace that owns it
START_TIMEOUT = 30.0


class Unreachable(RuntimeError):
    """The sandbox could not be started or its namespaces not opened (the candidate runs cold)."""


def hold(sandbox: Sandbox, request: SandboxRequest) -> tuple[subprocess.Popen[bytes], list[str], list[int]]:
    """Start the candidate's bwrap sandbox with a holder: (the bwrap process, namespace names, their fds).

    The names and descriptors are in the order a fork must join them (see `_namespaces`).
    """
    # the holder carries no sweep marker: it is the sandbox, not a straggler of the candidate
    launch = sandbox.wrap(replace(request, argv=HOLDER, env={k: v for k, v in request.env.items() if k != MARKER_VAR}))
    info_r, info_w = os.pipe()
    argv = [launch.argv[0], "--info-fd", str(info_w), *launch.argv[1:]]
    try:
        holder = subprocess.Popen(argv, cwd=request.workdir, env=launch.env, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, pass_fds=[info_w],
                                  start_new_session=True)
    except OSError as exc:
        os.close(info_r)
        raise Unreachable(f"cannot start bwrap: {exc}") from exc
    finally:
        os.close(info_w)
    fds: list[int] = []
    try:
        init = _child_pid(info_r)
        assert holder.stdout is not None
        ready, _, _ = select.select([holder.stdout], [], [], START_TIMEOUT)
        line = holder.stdout.readline() if ready else b""  # printed after bwrap's setup
        if line.strip() != b"ready":
            raise Unreachable("the sandbox did not start")
        names, fds = _namespaces(_child_of(init))
        return holder, names, fds
    except (OSError, ValueError, Unreachable) as exc:
        for fd in fds:
            os.close(fd)
        stop_holder(holder)
        raise exc if isinstance(exc, Unreachable) else Unreachable(f"cannot reach the sandbox: {exc}")


def _namespaces(pid: int) -> tuple[list[str], list[int]]:
    """The namespaces of `pid` that differ from ours, in the order a fork can join them.

    Unprivileged bwrap nests a second user namespace inside the one that owns the mount, PID and
    network namespaces; `setns` into those needs the owner, so the owner comes first, then the
    others, then the sandbox's own user namespace (its capabilities are dropped after that).
    """
    opened: dict[str, int] = {}
    plan: list[tuple[str, int]] = []
    try:
        for name in NS_ORDER:
            theirs, mine = f"/proc/{pid}/ns/{name}", f"/proc/self/ns/{name}"
            if os.path.exists(theirs) and os.stat(theirs).st_ino != os.stat(mine).st_ino:
                opened[name] = os.open(theirs, os.O_RDONLY | os.O_CLOEXEC)
        if "mnt" not in opened:
            raise Unreachable("the sandbox has no mount namespace of its own")
        owner = fcntl.ioctl(opened["mnt"], NS_GET_USERNS)  # a new descriptor: the mount namespace's owner
        owner_ino = os.fstat(owner).st_ino
        if owner_ino == os.stat("/proc/self/ns/user").st_ino:
            os.close(owner)  # root, no user namespace: nothing to join first
        else:
            plan.append(("user", owner))
        user = opened.pop("user", None)
        plan += list(opened.items())
        opened = {}
        if user is not None and os.fstat(user).st_ino != owner_ino:
            plan.append(("user", user))
        elif user is not None:
            os.close(user)
        return [name for name, _ in plan], [fd for _, fd in plan]
    except (OSError, Unreachable) as exc:
        for fd in [*opened.values(), *(fd for _, fd in plan)]:
            os.close(fd)
        if isinstance(exc, Unreachable):
            raise
        raise Unreachable(f"cannot open the sandbox's namespaces: {exc}") from exc


def _child_pid(info_fd: int) -> int:
    """bwrap's --info-fd JSON: the host pid of the sandbox's init (read until the object is complete)."""
    data = b""
    try:
        while b"}" not in data:
            ready, _, _ = select.select([info_fd], [], [], START_TIMEOUT)
            chunk = os.read(info_fd, 4096) if ready else b""
            if not chunk:
                break
            data += chunk
    finally:
        os.close(info_fd)
    pid = json.loads(data.decode() or "{}").get("child-pid") if b"}" in data else None
    if not isinstance(pid, int):
        raise Unreachable("bwrap did not report its sandbox")
    return pid


def _child_of(pid: int) -> int:
    """The holder: the one child of bwrap's init inside the sandbox (host pid)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            kids = fh.read().split()
        if kids:
            return int(kids[0])
    except OSError:
        pass
    for entry in os.scandir("/proc"):  # without CONFIG_PROC_CHILDREN, or not allowed to read it
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as fh:
                    stat = fh.read()
            except OSError:
                continue
            if int(stat[stat.rindex(b")") + 2:].split()[1]) == pid:
                return int(entry.name)
    raise Unreachable("the sandbox's holder process is gone")


def stop_holder(proc: subprocess.Popen[bytes] | None) -> None:
    """Kill a holder bwrap: its sandbox's PID namespace, and everything still in it, goes with it."""
    if proc is None:
        return
    try:
        proc.kill()
    except OSError:
        pass
    proc.wait()
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass
