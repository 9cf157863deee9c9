"""Warm candidates (sandbox/warm.py): a fork of the warm interpreter is indistinguishable from a clean one.

Real processes throughout. The executor contract and the sandbox contract already run every case
warm and cold; these tests check what only a fork could get wrong: the sandbox it lands in (the
same mounts, capabilities, limits and environment as a cold candidate), state shared between
candidates (seeds, modules, files, threads), how it exits, candidates seeing one another, and a
fork server that dies.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from loom.adapters import sandbox as sandboxes
from loom.adapters.mlops.local import LocalMLOps
from loom.adapters.sandbox import process, warm
from loom.adapters.sandbox.bwrap import BwrapSandbox
from loom.adapters.sandbox.none import NoSandbox
from loom.application.config import LoomConfig
from loom.application.ports.mlops import ExecRequest
from loom.application.ports.sandbox import SandboxLimits, SandboxRequest, candidate_env

pytest.importorskip("numpy")
pytest.importorskip("threadpoolctl")

BWRAP = pytest.mark.skipif(not sandboxes.probe()[0], reason="bubblewrap cannot run here (apt-get install -y bubblewrap)")
LANDLOCK = pytest.mark.skipif(not sandboxes.landlock_abi(), reason="no Landlock in this kernel")
SANDBOXES = [pytest.param("bwrap", marks=BWRAP), pytest.param("landlock", marks=LANDLOCK), "none"]

PROBE = r'''
import json, os, resource, sys
warm_at_start = "pandas" in sys.modules
import random
import numpy
import sklearn  # (its import sets KMP_* variables: a warm candidate must have them too)
from threadpoolctl import threadpool_info
ws = os.getcwd()
def attempt(read):  # landlock: "/" and other processes' /proc are closed, to warm and cold alike
    try:
        return read()
    except OSError as exc:
        return type(exc).__name__
status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\t" in line)
mounts = sorted((line.split()[4].replace(ws, "<ws>"), line.split()[5].split(",")[0])
                for line in open("/proc/self/mountinfo"))
print("PROBE", json.dumps({
    "warm_at_start": warm_at_start,
    "status": {k: v.strip() for k, v in status.items() if k.startswith(("Cap", "NoNewPrivs", "Uid", "Gid", "Groups", "Seccomp"))},
    "hostname": os.uname().nodename, "root": attempt(lambda: sorted(os.listdir("/"))), "mounts": mounts,
    "env": {k: v.replace(ws, "<ws>") for k, v in os.environ.items() if k not in ("LOOM_NODE_ID", "LOOM_SANDBOX_ID")},
    "rlimit_as": resource.getrlimit(resource.RLIMIT_AS), "umask": os.umask(0o22),
    "blas_threads": sorted({lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}),
    "fds": sorted(os.listdir("/proc/self/fd")), "path": [p.replace(ws, "<ws>") for p in sys.path],
    "argv": sys.argv, "name": __name__, "pid1": attempt(lambda: open("/proc/1/cmdline").read().split("\0")[0]),
    "seeds": [random.random(), float(numpy.random.rand())],
    "marker_in_environ_block": ("LOOM_SANDBOX_ID=" + os.environ["LOOM_SANDBOX_ID"]).encode()
                               in open("/proc/self/environ", "rb").read().split(b"\0"),
}))
sklearn.set_config(assume_finite=True)  # state a later candidate must not inherit
numpy.random.seed(1234)
'''


def _executor(home: Path, sandbox: str, warm_on: bool) -> LocalMLOps:
    return LocalMLOps(LoomConfig.load(env_file=None, flags={"home": str(home), "sandbox": sandbox,
                                                            "exec_warm": warm_on, "exec_memory_mb": 3072}))


def _execute(executor: LocalMLOps, input_dir: Path, code: str, timeout: float = 120):  # noqa: ANN202
    return executor.execute(ExecRequest(code=code, input_dir=input_dir, timeout=timeout, run_id="warm",
                                        node_id=uuid.uuid4().hex))


def _probe(result) -> dict:  # noqa: ANN001
    assert result.ok, result.stderr[-3000:]
    return json.loads(next(line for line in result.stdout.splitlines() if line.startswith("PROBE "))[6:])


@pytest.fixture
def input_dir(tmp_path: Path) -> Path:
    d = tmp_path / "input"
    d.mkdir()
    (d / "train.csv").write_text("id,x,y\n1,0.5,1\n")
    return d


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_a_warm_candidate_lands_in_the_same_sandbox_as_a_cold_one(sandbox: str, clean_env: Path,
                                                                  input_dir: Path) -> None:
    warm_exec, cold_exec = _executor(clean_env, sandbox, True), _executor(clean_env, sandbox, False)
    pool = warm_exec.warm_pool(Path(tempfile.gettempdir()))
    assert pool is not None and pool.ready()
    assert pool.info["threads"] == 1  # no BLAS/OpenMP/allocator thread started before forking
    forked = pool.forked
    first, second = _probe(_execute(warm_exec, input_dir, PROBE)), _probe(_execute(warm_exec, input_dir, PROBE))
    cold = _probe(_execute(cold_exec, input_dir, PROBE))
    assert pool.forked == forked + 2
    assert first["warm_at_start"] and second["warm_at_start"] and not cold["warm_at_start"]
    # the same sandbox: capabilities, ids, mounts, hostname, environment, limits, descriptors, interpreter state
    for key in ("status", "hostname", "root", "mounts", "env", "rlimit_as", "umask", "fds", "path", "argv", "name",
                "pid1", "marker_in_environ_block", "blas_threads"):
        assert first[key] == cold[key], key
    assert first["rlimit_as"][0] == 3072 * 1024**2 and first["marker_in_environ_block"]
    assert first["blas_threads"] == [sandboxes.limits(warm_exec.config).cpus]
    if sandbox == "bwrap":
        assert first["status"]["CapEff"] == "0000000000000000" and first["status"]["NoNewPrivs"] == "1"
    # nothing shared between candidates: fresh seeds, and the first one's settings did not leak
    assert first["seeds"][0] != second["seeds"][0] and first["seeds"][1] != second["seeds"][1]
    leak = _execute(warm_exec, input_dir, "import sklearn, numpy\nprint(sklearn.get_config()['assume_finite'], "
                                          "numpy.random.get_state()[1][0] == numpy.random.RandomState(1234).get_state()[1][0])")
    assert leak.ok and leak.stdout.split() == ["False", "False"]


@BWRAP
def test_warm_candidates_cannot_see_one_another(clean_env: Path, input_dir: Path) -> None:
    executor = _executor(clean_env, "bwrap", True)
    assert executor.warm_pool(Path(tempfile.gettempdir())).ready()
    mark = f"A-{uuid.uuid4().hex[:8]}"
    first = ("import os, subprocess, sys, time\nopen('working/secret.txt', 'w').write('a')\n"
             f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(6)  # {mark}'])\ntime.sleep(4)\n")
    second = (
        "import glob, os\n"
        "mine = os.getcwd()\n"
        "others = [p for p in glob.glob('/tmp/**/secret.txt', recursive=True)] + "
        "[d for d in glob.glob('/tmp/loom-candidate-*') if d != mine]\n"
        "cmdlines = []\n"
        "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
        "    try:\n        cmdlines.append(open(f'/proc/{pid}/cmdline').read())\n"
        "    except OSError:\n        pass\n"
        f"print('SEEN', others, any({mark!r} in c for c in cmdlines), len(cmdlines))\n"
    )
    results = {}
    worker = threading.Thread(target=lambda: results.update(a=_execute(executor, input_dir, first)))
    worker.start()
    time.sleep(1.5)
    results["b"] = _execute(executor, input_dir, second)
    worker.join()
    assert results["a"].ok and results["b"].ok, results["b"].stderr
    line = next(line for line in results["b"].stdout.splitlines() if line.startswith("SEEN"))
    assert line.startswith("SEEN [] False"), line


def _request(python: str, code: str, ws: Path) -> SandboxRequest:
    env = candidate_env(ws, cpus=1, python=python)
    return SandboxRequest(argv=[python, "-c", code], workdir=ws, env=env, python=python, limits=SandboxLimits(cpus=1))


def test_a_fork_exits_as_the_interpreter_would(tmp_path: Path) -> None:
    """Exit code, non-daemon threads joined, atexit handlers, stdin, uncaught errors: the same warm and cold."""
    (tmp_path / "working").mkdir()
    pool = warm.shared(sys.executable, candidate_env(tmp_path, cpus=1, python=sys.executable))
    assert pool.ready()
    cases = {
        "threads and atexit": ("import atexit, sys, threading, time\natexit.register(print, 'bye')\n"
                               "threading.Thread(target=lambda: (time.sleep(0.3), print('late'))).start()\n"
                               "print(sys.stdin.read().upper())\nraise SystemExit(3)\n"),
        "uncaught": "def f():\n    raise KeyError('k')\nf()\n",
        "message exit": "import sys\nsys.exit('bad input')\n",
    }
    for name, code in cases.items():
        forked = pool.forked
        hot = process.run(NoSandbox(), _request(sys.executable, code, tmp_path), timeout=60, stdin=b"hello\n", pool=pool)
        cold = process.run(NoSandbox(), _request(sys.executable, code, tmp_path), timeout=60, stdin=b"hello\n")
        assert pool.forked == forked + 1, name
        assert (hot.returncode, hot.stdout) == (cold.returncode, cold.stdout), name
        assert hot.stderr.splitlines()[-1:] == cold.stderr.splitlines()[-1:], name
    assert hot.returncode == 1 and "bad input" in hot.stderr


def test_a_dead_fork_server_costs_one_cold_candidate_then_comes_back(tmp_path: Path) -> None:
    (tmp_path / "working").mkdir()
    env = candidate_env(tmp_path, cpus=1, python=sys.executable)
    pool = warm.WarmPool(sys.executable, env, preload=("fractions",), warmup="")
    try:
        assert pool.ready()
        os.kill(pool.info["pid"], signal.SIGKILL)
        time.sleep(0.2)
        request = _request(sys.executable, "import sys; print('fractions' in sys.modules)", tmp_path)
        out = process.run(NoSandbox(), request, timeout=60, pool=pool)
        assert out.returncode == 0 and out.stdout.strip() == "False" and pool.declined == 1  # ran cold
        assert pool.ready(timeout=60)
        out = process.run(NoSandbox(), request, timeout=60, pool=pool)
        assert out.returncode == 0 and out.stdout.strip() == "True" and pool.forked == 1  # warm again
    finally:
        pool.close()


def test_a_candidate_never_waits_for_the_fork_servers_imports(tmp_path: Path) -> None:
    # the zygote is still importing (a slow warm-up): the candidate runs cold at once, the next one warm
    (tmp_path / "working").mkdir()
    env = candidate_env(tmp_path, cpus=1, python=sys.executable)
    pool = warm.WarmPool(sys.executable, env, preload=("fractions",), warmup="import time\ntime.sleep(8)")
    try:
        request = _request(sys.executable, "import sys; print('fractions' in sys.modules)", tmp_path)
        started = time.monotonic()
        out = process.run(NoSandbox(), request, timeout=60, pool=pool)
        assert out.returncode == 0 and out.stdout.strip() == "False" and pool.declined == 1  # cold, at once
        assert time.monotonic() - started < 6
        assert pool.ready(timeout=60)  # it kept warming meanwhile
        out = process.run(NoSandbox(), request, timeout=60, pool=pool)
        assert out.returncode == 0 and out.stdout.strip() == "True" and pool.forked == 1
        waiting = warm.WarmPool(sys.executable, env, preload=("fractions",), warmup="import time\ntime.sleep(1)",
                                wait_ready=True)  # the opt-in: a request waits for the imports instead
        try:
            out = process.run(NoSandbox(), request, timeout=60, pool=waiting)
            assert out.returncode == 0 and out.stdout.strip() == "True" and waiting.forked == 1
        finally:
            waiting.close()
    finally:
        pool.close()


def test_a_fork_server_that_cannot_start_leaves_candidates_cold(tmp_path: Path) -> None:
    (tmp_path / "working").mkdir()
    missing = str(tmp_path / "no-python")
    pool = warm.WarmPool(missing, {})
    assert not pool.ready(timeout=5)
    request = replace(_request(sys.executable, "print('cold')", tmp_path), argv=[missing, "-c", "print('cold')"])
    with pytest.raises(warm.WarmUnavailable, match="cannot start"):
        pool.spawn(NoSandbox(), request)
    out = process.run(NoSandbox(), _request(sys.executable, "print('cold')", tmp_path), timeout=60, pool=pool)
    assert out.returncode == 0 and out.stdout == "cold\n" and pool.forked == 0
    crashing = warm.WarmPool(sys.executable, {}, preload=(), warmup="import os\nos._exit(3)", ready_timeout=120)
    started = time.monotonic()
    assert not crashing.ready() and time.monotonic() - started < 60  # said at once, not at the timeout
    crashing.close()


def test_what_the_pool_cannot_take_runs_cold(tmp_path: Path) -> None:
    (tmp_path / "working").mkdir()
    pool = warm.shared(sys.executable, candidate_env(tmp_path, cpus=1, python=sys.executable))
    assert pool.ready()  # its own size decides the memory case below
    other = tmp_path / "python"
    other.symlink_to("/bin/true")
    assert pool.supports(NoSandbox(), _request(str(other), "pass", tmp_path)) == "another interpreter"
    assert pool.supports(NoSandbox(), SandboxRequest(argv=[sys.executable, "script.py"], workdir=tmp_path))
    assert pool.supports(NoSandbox(), _request(sys.executable, "pass", tmp_path)) is None
    # a memory cap the warm heap alone would exhaust: a clean (small) interpreter instead
    tiny = replace(_request(sys.executable, "print('small')", tmp_path), limits=SandboxLimits(memory_bytes=64 << 20))
    declined = pool.declined
    out = process.run(NoSandbox(), tiny, timeout=60, pool=pool)
    assert out.returncode == 0 and out.stdout == "small\n" and pool.declined == declined + 1
    assert "too small" in (pool.supports(NoSandbox(), tiny) or "")


@BWRAP
def test_an_interpreter_under_tmp_still_runs_in_the_private_tmp(tmp_path: Path) -> None:
    # a venv (or a whole clone) under /tmp: bwrap's private /tmp must not hide it
    import venv

    env_dir = tmp_path / "venv-under-tmp"
    venv.create(env_dir, with_pip=False, system_site_packages=True)
    python = str(env_dir / "bin" / "python")
    assert str(env_dir).startswith(tempfile.gettempdir())
    ws = tmp_path / "ws"
    (ws / "working").mkdir(parents=True)
    (tmp_path / "host-only").write_text("secret")
    code = ("import os, sys; print(sys.prefix); "
            f"print(os.path.exists({str(tmp_path / 'host-only')!r}))")  # the rest of /tmp stays private
    out = process.run(BwrapSandbox(), _request(python, code, ws), timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(env_dir), "False"]


def test_a_step_in_another_process_forks_through_the_relay(tmp_path: Path) -> None:
    """warm_relay: a Metaflow step reaches Loom's fork server; whatever it cannot take runs cold."""
    from loom.adapters.sandbox import warm_relay

    (tmp_path / "working").mkdir()
    env = candidate_env(tmp_path, cpus=1, python=sys.executable)
    pool = warm.WarmPool(sys.executable, env, preload=("fractions",), warmup="import time\ntime.sleep(3)")
    address = pool.relay_address()
    path, _, token = address.partition("#")
    try:
        assert pool.relay_address() == address  # one relay per pool
        assert os.stat(path).st_uid == os.getuid() and len(token) == 32
        assert os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o700  # no other user reaches it
        # a process of the same user that found the socket (a landlocked candidate reads /proc/net/unix)
        # but was not told the token hears nothing and can ask for nothing
        for guess in ("", "0" * 32, token[:-1] + ("0" if token[-1] != "0" else "1")):
            with pytest.raises(warm.WarmUnavailable):
                warm_relay.RemotePool(f"{path}#{guess}").spawn(NoSandbox(), _request(sys.executable, "pass", tmp_path))
        assert pool.forked == 0
        remote = warm_relay.RemotePool(address)
        request = _request(sys.executable, "import sys; print('fractions' in sys.modules)", tmp_path)
        out = process.run(NoSandbox(), request, timeout=60, pool=remote)  # still importing: cold, at once
        assert out.returncode == 0 and out.stdout.strip() == "False" and _counted(lambda: pool.declined == 1)
        assert pool.ready(timeout=60)
        out = process.run(NoSandbox(), request, timeout=60, stdin=b"", pool=remote)
        assert out.returncode == 0 and out.stdout.strip() == "True" and _counted(lambda: pool.forked == 1)
        other_request = replace(request, argv=[str(tmp_path / "no-such-python"), *request.argv[1:]])
        with pytest.raises(warm.WarmUnavailable, match="another interpreter"):
            remote.spawn(NoSandbox(), other_request)
        assert _counted(lambda: pool.declined == 2) and pool.forked == 1
        gone = warm_relay.RemotePool(str(tmp_path / "no-relay"))
        out = process.run(NoSandbox(), request, timeout=60, pool=gone)
        assert out.returncode == 0 and out.stdout.strip() == "False"
    finally:
        pool.close()  # the relay stops with its pool
    assert not os.path.exists(path)


def _counted(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    """The relay counts a step's outcome in its own thread, just after the step heard it."""
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.02)
    return check()
