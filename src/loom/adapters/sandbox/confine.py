"""Landlock confinement and a subreaper supervisor: the `landlock` sandbox's two halves (stdlib only).

`restrict(spec)` confines the calling (single-threaded) process and everything it starts with the
kernel's Landlock LSM, no namespace and no privilege needed: reading only the `read` paths (the
system dirs, the interpreter, the candidate's folder), writing only the `write` paths (./working,
/dev/shm), no TCP connect or bind unless `spec["network"]` (Landlock ABI >= 4; MPTCP, which
Landlock does not cover, by a seccomp filter: `no_mptcp`), and no signal to any process outside
the sandbox (ABI >= 6). Other processes' /proc entries stay closed because no rule opens them.

Run as a script (`python -I -S confine.py SPEC-JSON ARGV...`), it is the cold candidate's
supervisor: it becomes a child subreaper, forks, confines the child and execs ARGV in it, waits,
and then kills every process left (a daemon that called setsid and dropped the sweep marker is
reparented here, not to init, and cannot signal this process to escape). SIGTERM (the runner, at
a timeout or cancel) or Loom's death does the same at once. It exits as the candidate did. The
warm fork server (zygote.py) runs this file's source before its own and uses both functions.
"""

import ctypes
import json
import os
import platform
import signal
import stat
import struct
import sys
import time

SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446  # the same on every architecture
CREATE_RULESET_VERSION, RULE_PATH_BENEATH = 1, 1
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER = 1, 38, 36
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1, 2, 4, 8
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # what a rule on a non-directory may grant
READ_RIGHTS = EXECUTE | READ_FILE | READ_DIR
NET_BIND_TCP, NET_CONNECT_TCP = 1, 2
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
IPPROTO_MPTCP = 262
#: (AUDIT_ARCH, __NR_socket) per machine: where the MPTCP filter can be written
SOCKET_SYSCALL = {"x86_64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198)}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi():
    """The kernel's Landlock ABI version; 0 when it has none (or it is disabled)."""
    version = _libc.syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))
    return max(0, int(version))


def _fs_rights(abi):
    rights = (1 << 13) - 1  # ABI 1: execute .. make_sym
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def _check(ret, what):
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"landlock {what}: {os.strerror(err)}")
    return ret


def restrict(spec):
    """Confine this process (and all it starts) to `spec`: {"read": [...], "write": [...], "network": bool}.
    Paths that do not exist are skipped. Raises OSError when the kernel refuses."""
    abi = landlock_abi()
    if abi < 1:
        raise OSError(38, "landlock is not available in this kernel")
    handled = _fs_rights(abi)
    attr = _RulesetAttr(handled, 0, 0)
    size = 8
    if abi >= 4:
        size = 16
        if not spec.get("network"):
            attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP  # handled and never granted: no TCP
    if abi >= 6:
        size = 24
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
    ruleset = _check(_libc.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size),
                                   ctypes.c_uint32(0)), "create_ruleset")
    try:
        for rights, paths in ((READ_RIGHTS, spec.get("read", ())), (handled, spec.get("write", ()))):
            for path in paths:
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue
                try:
                    allowed = rights & handled
                    if not stat.S_ISDIR(os.fstat(fd).st_mode):
                        allowed &= FILE_RIGHTS
                    rule = _PathBeneath(allowed, fd)
                    _check(_libc.syscall(SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH),
                                         ctypes.byref(rule), ctypes.c_uint32(0)), f"add_rule({path})")
                finally:
                    os.close(fd)
        _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        if abi >= 4 and not spec.get("network"):
            no_mptcp()
        _check(_libc.syscall(SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)), "restrict_self")
    finally:
        os.close(ruleset)
    return abi


def no_mptcp():
    """A seccomp filter refusing socket(..., IPPROTO_MPTCP) with EACCES: Landlock's TCP rights cover
    TCP sockets only, and an MPTCP socket connects and listens like one. Needs no_new_privs set."""
    found = SOCKET_SYSCALL.get(platform.machine())
    if found is None:
        raise OSError(95, f"no MPTCP filter for {platform.machine()}: network not closed")
    arch, nr = found
    ld, jeq, ret = 0x20, 0x15, 0x06
    prog = [(ld, 0, 0, 4), (jeq, 0, 5, arch), (ld, 0, 0, 0), (jeq, 0, 3, nr), (ld, 0, 0, 32),
            (jeq, 0, 1, IPPROTO_MPTCP), (ret, 0, 0, 0x00050000 | 13), (ret, 0, 0, 0x7FFF0000)]
    raw = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *insn) for insn in prog))

    class _Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = _Prog(len(prog), ctypes.cast(raw, ctypes.c_void_p))
    _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp(no MPTCP)")


def _children():
    pid = os.getpid()
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:  # no CONFIG_PROC_CHILDREN: scan every process's parent
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat", "rb") as fh:
                        text = fh.read()
                    if int(text[text.rindex(b")") + 2:].split()[1]) == pid:
                        found.append(int(entry))
                except (OSError, ValueError):
                    continue
        return found


def sweep_children(keep=()):
    """SIGKILL and reap every child of this subreaper (orphans of the candidate land here) except
    `keep`, until none is left. Returns how many were killed."""
    killed = 0
    while True:
        kids = [k for k in _children() if k not in keep]
        for kid in kids:
            try:
                os.kill(kid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        reaped = False
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return killed
            if pid == 0:
                break
            reaped = True
        if not kids and not reaped:
            if not [k for k in _children() if k not in keep]:
                return killed
        time.sleep(0.002)


class _Stop(Exception):
    pass


def _stop(_signum, _frame):
    raise _Stop()


def main():
    spec, argv = json.loads(sys.argv[1]), sys.argv[2:]
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, _stop)
    _libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)  # Loom died: clean up as at a timeout
    if os.getppid() == 1:
        os._exit(1)
    pid = os.fork()
    if pid == 0:
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        try:
            restrict(spec)
            os.execvp(argv[0], argv)
        except OSError as exc:
            os.write(2, f"loom sandbox (landlock): {exc}\n".encode())
        os._exit(126)
    status = None
    try:
        while status is None:
            try:
                _, status = os.waitpid(pid, 0)
            except ChildProcessError:
                break
    except _Stop:
        pass
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGHUP, signal.SIGINT})
    sweep_children()
    if status is None:
        os._exit(128 + signal.SIGKILL)
    if os.WIFSIGNALED(status):  # as the candidate ended: killed by the same signal
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {sig})
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


if __name__ == "__main__" and globals().get("__file__", "").endswith("confine.py"):
    main()
