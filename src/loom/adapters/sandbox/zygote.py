"""The warm fork server ("zygote"): a Python with the candidate ML stack imported, forking candidates.

Stdlib only and never run inside Loom: `warm.py` runs confine.py's source and then this file's as
`python -c <source> <control-fd> <preload-json>` with the interpreter candidates use, in an empty
folder, with the candidates' allowlisted environment (no secrets) and every thread-count variable
at 1, so importing numpy / pandas / scikit-learn / lightgbm starts no BLAS or OpenMP threads.

Three processes per candidate, all forks of this one:
- the zygote (Z) imports the stack, says `ready`, then only receives requests on its control socket
  (a socketpair only Loom holds) and forks a supervisor per request. It never runs candidate code.
- the supervisor (S) enters the candidate's sandbox: `setns` into the namespaces of the bwrap
  sandbox Loom started for this candidate (user first, then mount, network, IPC, UTS, cgroup, PID),
  drops every capability (bounding set, ambient, effective/permitted/inheritable) and sets
  no_new_privs, exactly what `bwrap --cap-drop ALL` leaves a candidate with; a failure is reported
  and Loom runs the candidate cold instead. It forks the candidate (now inside the PID namespace,
  so it dies with the sandbox), tells Loom its pid, waits for it, reports the wait status, and
  kills the candidate's group if Loom goes away. Under `none` it joins nothing and drops nothing.
  Under `landlock` it joins nothing either, but is the candidate's subreaper: when the candidate
  ends (or Loom asks), it kills every process the candidate left, which the kernel reparented to it.
- the candidate (C): new session, stdio from Loom's pipes, every other descriptor closed, cwd =
  its own folder, the environment replaced by the request's, the sweep marker written into its
  environment block (so even fork-without-exec descendants carry it), random generators reseeded,
  the thread pools sized to its CPU budget (threadpoolctl), then `-c` code runs exactly as
  `python -c code args...` would, in a fresh `__main__`. It exits as an interpreter does (the exit
  code of SystemExit or 1 with the traceback, non-daemon threads joined, atexit handlers run, stdio
  flushed) but without tearing down the inherited heap object by object: that would touch, and so
  copy, every page shared with the zygote (over a second for a trivial candidate).
"""

import ctypes
import json
import os
import select
import signal
import socket
import sys

NS_FLAGS = {"user": 0x10000000, "mnt": 0x00020000, "net": 0x40000000, "ipc": 0x08000000,
            "uts": 0x04000000, "cgroup": 0x02000000, "pid": 0x20000000}
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_READ, PR_CAPBSET_DROP = 1, 4, 23, 24
PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 38, 39, 47
PR_CAP_AMBIENT_IS_SET, PR_CAP_AMBIENT_CLEAR_ALL = 1, 4
CAP_VERSION_3 = 0x20080522
MARKER_VAR = "LOOM_SANDBOX_ID"
MARKER_SLOT = 64  # the zygote starts with MARKER_VAR=<64 x "_">; each candidate writes its token there
MAX_MESSAGE = 1 << 20

_libc = ctypes.CDLL(None, use_errno=True)
if "restrict" not in globals():  # imported by Loom; run, warm._source() puts confine.py's source first
    from loom.adapters.sandbox.confine import PR_SET_CHILD_SUBREAPER, restrict, sweep_children
_POOLS = None  # a threadpoolctl.ThreadpoolController over the preloaded BLAS/OpenMP libraries
_IMPORT_ENV: dict = {}  # variables the preloaded modules set in os.environ while importing
_SEEN_PATHS = ()  # sys.path entries that exist for the zygote (site.py adds .pth paths only if they exist)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _ok(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _prctl(option, arg=0, arg3=0):
    return _libc.prctl(ctypes.c_int(option), ctypes.c_ulong(arg), ctypes.c_ulong(arg3), ctypes.c_ulong(0),
                       ctypes.c_ulong(0))


def drop_capabilities(last_cap):
    """Leave the process no capability and no way to gain one (as `bwrap --cap-drop ALL` does)."""
    for cap in range(last_cap + 1):
        if _prctl(PR_CAPBSET_READ, cap) == 1:
            _ok(_prctl(PR_CAPBSET_DROP, cap), f"drop bounding capability {cap}")
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)  # EINVAL on kernels without ambient caps: none to clear
    header, data = _CapHeader(CAP_VERSION_3, 0), (_CapData * 2)()
    _ok(_libc.capset(ctypes.byref(header), data), "capset")
    _ok(_prctl(PR_SET_NO_NEW_PRIVS, 1), "no_new_privs")
    # verify with syscalls (no /proc: after joining the mount namespace ours is not in its /proc)
    check = (_CapData * 2)()
    _ok(_libc.capget(ctypes.byref(_CapHeader(CAP_VERSION_3, 0)), check), "capget")
    left = [c for c in range(last_cap + 1) if _prctl(PR_CAPBSET_READ, c) == 1 or _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c) == 1]
    if any(d.effective or d.permitted or d.inheritable for d in check) or left or _prctl(PR_GET_NO_NEW_PRIVS) != 1:
        raise OSError(1, "capabilities are still held after dropping them")


def stamp_marker(token):
    """Write the sweep marker into this process's own environment block (what /proc/PID/environ shows)."""
    with open("/proc/self/stat", "rb") as fh:
        stat = fh.read()
    fields = stat[stat.rindex(b")") + 2:].split()
    start, end = int(fields[47]), int(fields[48])  # env_start, env_end (stat fields 50 and 51)
    block = ctypes.string_at(start, end - start)
    key = (MARKER_VAR + "=").encode()
    at = 0 if block.startswith(key) else block.find(b"\0" + key) + 1
    slot = at + len(key)
    if (at <= 0 and not block.startswith(key)) or block[slot:slot + MARKER_SLOT] != b"_" * MARKER_SLOT:
        raise OSError(2, "the environment block carries no marker slot")
    value = token.encode()[:MARKER_SLOT].ljust(MARKER_SLOT, b"\0")
    ctypes.memmove(start + slot, value, MARKER_SLOT)


def preload(names):
    loaded, failed = [], {}
    import importlib

    for name in names:
        try:
            importlib.import_module(name)
            loaded.append(name)
        except BaseException as exc:  # noqa: BLE001 - a missing or broken package is simply not warm
            failed[name] = f"{type(exc).__name__}: {exc}"[:300]
    return loaded, failed


def warm_up(code):
    """Run Loom's warm-up code once (see warm.WARMUP); its failure only makes the zygote less warm."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(code, "<loom-warmup>", "exec"), {"__name__": "__loom_warmup__"})
        return None
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"[:300]


def _status_of(path):
    try:
        with open(path) as fh:
            return {k: v.strip() for k, _, v in (line.partition(":") for line in fh)}
    except OSError:
        return {}


def serve(ctrl, last_cap):
    """The zygote's loop. Returns (request, fds) in a forked supervisor; returns None at EOF."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors are reaped by the kernel
    while True:
        try:
            message, fds, _flags, _addr = socket.recv_fds(ctrl, MAX_MESSAGE, 64)
        except InterruptedError:
            continue
        except OSError:
            return None
        if not message:
            return None
        try:
            request = json.loads(message)
        except ValueError:
            request = None
        if request is None:
            for fd in fds:
                os.close(fd)
            continue
        if os.fork() == 0:
            os.close(ctrl.detach())
            request["last_cap"] = last_cap
            return request, fds
        for fd in fds:
            os.close(fd)


def _send(fd, obj):
    try:
        os.write(fd, json.dumps(obj).encode())
    except OSError:
        pass


def supervise(request, fds):
    """The supervisor: enter the sandbox, fork the candidate, report its pid and wait status."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    stdin, stdout, stderr, status = fds[:4]
    try:
        for name, fd in zip(request["ns"], fds[4:]):  # "user" comes first: it grants the rest
            _ok(_libc.setns(fd, NS_FLAGS[name]), f"setns({name})")
            os.close(fd)
        if request["isolate"]:
            drop_capabilities(request["last_cap"])
    except Exception as exc:  # noqa: BLE001 - whatever it is, Loom runs this candidate cold
        _send(status, {"error": f"{type(exc).__name__}: {exc}"})
        os._exit(0)
    if request.get("confine") is not None:
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
    pid = os.fork()
    if pid == 0:
        return become_candidate(request, stdin, stdout, stderr)
    for fd in (stdin, stdout, stderr):
        os.close(fd)
    _send(status, {"pid": pid})
    poller = select.poll()
    poller.register(status, select.POLLIN | select.POLLHUP)
    pidfd = os.pidfd_open(pid)
    poller.register(pidfd, select.POLLIN)
    while True:
        ready = dict(poller.poll())
        if pidfd in ready:
            break
        if status in ready:  # Loom asked to kill it, or went away
            for kill in (os.killpg, os.kill):
                try:
                    kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            break
    _, wait_status = os.waitpid(pid, 0)
    if request.get("confine") is not None:
        sweep_children()  # what the candidate left running was reparented here
    _send(status, {"status": wait_status})
    os._exit(0)


def become_candidate(request, stdin, stdout, stderr):
    """The candidate process: clean stdio, folder, environment, seeds and threads; returns its code."""
    os.setsid()
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    for target, fd in ((0, stdin), (1, stdout), (2, stderr)):
        os.dup2(fd, target)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    if request["isolate"]:
        _prctl(PR_SET_DUMPABLE, 1)  # joining the user namespace cleared it; Loom's sweep reads our environ
    os.chdir(request["cwd"])
    # as site.py would have built it here: without the .pth folders this sandbox does not show
    sys.path[:] = [p for p in sys.path if p not in _SEEN_PATHS or os.path.exists(p)]
    os.environ.clear()
    # what the preloaded imports set (sklearn: KMP_DUPLICATE_LIB_OK, ...) had they run here; the request wins
    os.environ.update({**_IMPORT_ENV, **request["env"]})
    stamp_marker(request["env"].get(MARKER_VAR, ""))
    import random

    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()  # the legacy global generator was seeded once, in the zygote
    if _POOLS is not None and request["cpus"] > 1:  # the zygote imported with every pool at 1 thread
        _POOLS.limit(limits=request["cpus"])
    import types

    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = __builtins__
    sys.modules["__main__"] = main
    sys.argv = ["-c", *request["args"]]
    if request.get("confine") is not None:  # last: nothing above needs what the rules close
        try:
            restrict(request["confine"])
        except OSError as exc:
            os.write(2, f"loom sandbox (landlock): {exc}\n".encode())
            os._exit(126)
    return request["code"], main.__dict__


def finish(code, globals_):
    """Run the candidate's code as `python -c` would, then exit like the interpreter (see above)."""
    try:
        exec(compile(code, "<string>", "exec"), globals_)
        status = 0
    except SystemExit as exc:
        status = _exit_status(exc.code)
    except BaseException as exc:  # noqa: BLE001 - reported exactly as an uncaught exception is
        sys.excepthook(type(exc), exc, exc.__traceback__)
        status = 1
        if isinstance(exc, KeyboardInterrupt):
            status = 128 + signal.SIGINT
    threading = sys.modules.get("threading")
    if threading is not None:
        threading._shutdown()  # what Py_Finalize does first: wait for non-daemon threads
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(status)


def _exit_status(code):
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        print(code, file=sys.stderr)
    except (OSError, ValueError):
        pass
    return 1


def main():
    global _POOLS, _IMPORT_ENV, _SEEN_PATHS
    ctrl = socket.socket(fileno=int(sys.argv[1]))
    _SEEN_PATHS = tuple(p for p in sys.path if p and os.path.exists(p))
    before = dict(os.environ)
    loaded, failed = preload(json.loads(sys.argv[2]))
    warmup_error = warm_up(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3].strip() else None
    _IMPORT_ENV = {k: v for k, v in os.environ.items() if before.get(k) != v}
    try:
        from threadpoolctl import ThreadpoolController

        _POOLS = ThreadpoolController()  # found once here; a candidate only sets its thread count
    except Exception:  # noqa: BLE001 - no threadpoolctl: the thread variables still apply to new pools
        _POOLS = None
    import gc

    gc.collect()
    gc.freeze()  # the preloaded heap stays out of every candidate's collections: fewer copied pages
    with open("/proc/sys/kernel/cap_last_cap") as fh:
        last_cap = int(fh.read())
    status = _status_of("/proc/self/status")
    ctrl.send(json.dumps({
        "ready": True, "pid": os.getpid(), "loaded": loaded, "failed": failed,
        "threads": len(os.listdir("/proc/self/task")), "fds": sorted(int(f) for f in os.listdir("/proc/self/fd")),
        "vm_size": status.get("VmSize", ""), "vm_rss": status.get("VmRSS", ""), "import_env": sorted(_IMPORT_ENV),
        "warmup_error": warmup_error,
    }).encode())
    job = serve(ctrl, last_cap)
    if job is None:  # Loom closed the pool, or died: leave nothing behind
        if os.path.basename(os.getcwd()).startswith("loom-warm-"):
            import shutil

            shutil.rmtree(os.getcwd(), ignore_errors=True)
        os._exit(0)
    return supervise(*job)


if __name__ == "__main__":
    finish(*main())  # only a candidate gets here; the zygote and supervisors exit inside main()
