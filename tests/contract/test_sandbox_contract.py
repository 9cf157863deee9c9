"""The sandbox contract: hostile candidates, run for real, over both executors x every sandbox.

Each case is a real candidate script. `bwrap` must contain everything; `landlock` (no namespaces:
the kernel's Landlock LSM and a subreaper) everything but what its warning names (the user's /tmp
and PID view are not private, UDP); `none` must still scrub the environment, keep the sealed labels
off every relative path, and leave no process behind; the cases `none` cannot stop (absolute-path
writes, the network, /proc of other processes, a daemon that drops the sweep marker) are asserted
for the other two only, which is why `none` says so loudly once per run.

Each executor runs every case twice: forked from the warm pool (LOOM_EXEC_WARM=on, checked to have
really forked; a Metaflow step reaches Loom's pool through the relay) and as a clean interpreter
(off). The warm fork must keep every guarantee.
"""

from __future__ import annotations

import json
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from loom.adapters import sandbox as sandboxes
from loom.application.config import LoomConfig
from loom.application.ports.mlops import ExecRequest, Executor
from loom.application.redaction import RedactingExecutor
from loom.entrypoints import registry

CANARIES = {"ANTHROPIC_API_KEY": "sk-ant-canary-0123456789", "LOOM_API_KEY": "loom-canary-abcdefghij",
            "MY_SERVICE_TOKEN": "tok-canary-9876543210"}
SEALED_CANARY = "sealed-label-canary-7f3a"


def _bwrap_works() -> bool:
    return sandboxes.probe()[0]


def _landlock_abi() -> int:
    from loom.adapters.sandbox.landlock import abi

    return abi()


SANDBOXES = [pytest.param("bwrap", marks=pytest.mark.skipif(not _bwrap_works(), reason="bubblewrap cannot run here "
                                                                                       "(apt-get install -y bubblewrap)")),
             pytest.param("landlock", marks=pytest.mark.skipif(_landlock_abi() < 1, reason="no Landlock in this kernel")),
             "none"]


@pytest.fixture(params=["local", "metaflow"])
def executor_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=SANDBOXES)
def sandbox(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=[True, False], ids=["warm", "cold"])
def warm(request: pytest.FixtureRequest, executor_name: str) -> bool:
    if request.param and not callable(getattr(registry.load("mlops", executor_name), "warm_pool", None)):
        pytest.skip(f"the {executor_name} executor does not start candidates warm")
    return bool(request.param)


@pytest.fixture
def make_executor(executor_name: str, sandbox: str, warm: bool, home: Path):  # noqa: ANN201
    """Builds the executor under test; at teardown, a warm one must really have forked a candidate."""
    pools = []

    def make(**flags: object) -> Executor:
        executor = _executor(executor_name, sandbox, home, exec_warm=warm, **flags)
        if warm:
            pool = executor.warm_pool(Path(tempfile.gettempdir()))  # type: ignore[attr-defined]
            assert pool.ready(), "the fork server did not become ready"  # else the cases would run cold
            pools.append((pool, pool.forked))
        return executor

    yield make
    for pool, forked in pools:
        assert pool.forked > forked, f"no candidate started warm (declined {pool.declined})"


@pytest.fixture
def home(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, value in CANARIES.items():
        monkeypatch.setenv(name, value)
    sealed = clean_env / "sealed" / "contract"
    sealed.mkdir(parents=True)
    (sealed / "holdout.csv").write_text(f"id,y\n1,{SEALED_CANARY}\n")
    return clean_env


def _executor(name: str, sandbox: str, home: Path, **flags: object) -> Executor:
    cls = registry.load("mlops", name)
    config = LoomConfig.load(env_file=None, flags={"home": str(home), "mlops_provider": name, "sandbox": sandbox,
                                                   **flags})
    return RedactingExecutor(cls(config))  # what RunSearch hands every brain


def _run(executor: Executor, input_dir: Path, code: str, timeout: float = 60):  # noqa: ANN202
    return executor.execute(ExecRequest(code=code, input_dir=input_dir, timeout=timeout, run_id="contract",
                                        node_id=uuid.uuid4().hex))


@pytest.fixture
def input_dir(tmp_path: Path) -> Path:
    d = tmp_path / "input"
    d.mkdir()
    (d / "train.csv").write_text("id,x,y\n1,0.5,1\n2,0.1,0\n")
    (d / "test.csv").write_text("id,x\n3,0.7\n")
    return d


HOSTILE = r'''
import json, os, socket, subprocess, sys
report = {}
report["env"] = dict(os.environ)
print("ENV", json.dumps(dict(os.environ)))

def read(path):
    try:
        with open(path) as fh:
            return fh.read()
    except Exception as exc:
        return None

found = []
for up in range(1, 8):  # every relative walk upwards
    base = os.path.join(*([".."] * up))
    for rel in ("sealed/holdout.csv", "sealed/contract/holdout.csv"):
        text = read(os.path.join(base, rel))
        if text:
            found.append("relative:" + os.path.join(base, rel))
home = os.environ.get("LOOM_HOME")
if home and read(os.path.join(home, "sealed", "contract", "holdout.csv")):
    found.append("env:LOOM_HOME")
report["sealed"] = found
proc_hits = []
ppid = os.getppid()
for pid in {ppid, os.getpid()}:
    environ = read(f"/proc/{pid}/environ") or ""
    if "canary" in environ:
        proc_hits.append(f"environ:{pid}")
environ = read("/proc/__VICTIM__/environ") or ""  # another process of the user's, started with a secret
if "canary" in environ:
    proc_hits.append("environ:victim")
report["proc"] = proc_hits

writes = []
for target in __TARGETS__:
    try:
        with open(target, "w") as fh:
            fh.write("pwned")
        writes.append(target)
    except Exception:
        pass
report["writes"] = writes
report["cwd"] = os.getcwd()
try:
    s = socket.create_connection(("127.0.0.1", __PORT__), timeout=2)
    s.sendall(b"hello")
    s.close()
    report["connected"] = True
except Exception as exc:
    report["connected"] = False
try:  # MPTCP: connects like TCP, and Landlock's TCP rights do not cover it
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
    s.settimeout(2)
    s.connect(("127.0.0.1", __PORT__))
    s.sendall(b"mptcp")
    s.close()
    report["mptcp"] = True
except Exception as exc:
    report["mptcp"] = False
report["net_tables"] = bool(read("/proc/net/unix"))  # every Unix socket path of the machine (a relay's too)
# a daemon: setsid, fork again, then sleep long with a canary on its command line
subprocess.Popen([sys.executable, "-c", "import os, subprocess, sys; os.setsid(); "
                  "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)  # __DAEMON__']); "
                  "import time; time.sleep(120)  # __DAEMON__"], start_new_session=True)
print("REPORT", json.dumps(report))
'''


@pytest.fixture
def listener():  # noqa: ANN201 - a TCP port Loom's test opened on 127.0.0.1
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    hits: list[bytes] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            hits.append(conn.recv(16))
            conn.close()

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1], hits
    server.close()


def _alive(marker: str) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if marker in line and "ps -eo" not in line]


def test_hostile_candidate_is_contained(make_executor, sandbox: str, home: Path, input_dir: Path,
                                        listener, tmp_path: Path) -> None:  # noqa: ANN001
    port, hits = listener
    daemon = f"DAEMON-{uuid.uuid4().hex[:8]}"
    outside = [str(home / "PWNED_BY_CANDIDATE.txt"), str(tmp_path / "PWNED_OUTSIDE.txt")]
    relative = f"../PWNED_REL_{uuid.uuid4().hex[:8]}.txt"
    code = HOSTILE.replace("__TARGETS__", json.dumps(["working/ok.txt", relative, *outside]))
    code = code.replace("__PORT__", str(port)).replace("__DAEMON__", daemon)
    victim = subprocess.Popen(["sleep", "120"], env={"PATH": "/usr/bin:/bin", "VICTIM_TOKEN": CANARIES["MY_SERVICE_TOKEN"]})
    try:
        result = _run(make_executor(), input_dir, code.replace("__VICTIM__", str(victim.pid)))
    finally:
        victim.kill()
        victim.wait()
    assert result.ok, result.stderr[-2000:]
    report = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("REPORT"))[7:])

    # no secret reached the candidate, and none leaves through its output
    for name, value in CANARIES.items():
        assert name not in report["env"] and value not in result.stdout + result.stderr
    assert not any("KEY" in k or "TOKEN" in k or "SECRET" in k for k in report["env"])
    assert report["env"]["HOME"] == report["cwd"]
    # the sealed labels: no relative path and no env var leads there
    assert report["sealed"] == [] and SEALED_CANARY not in result.stdout
    assert "working/ok.txt" in report["writes"]
    # nothing outlives the candidate
    assert _alive(daemon) == []
    if sandbox != "none":
        # nothing outside ./working reaches the host (bwrap: `../` lands in the sandbox's private /tmp)
        assert not set(report["writes"]) & set(outside) and not any(Path(p).exists() for p in outside)
        assert not (Path(report["cwd"]) / relative).exists()
        assert report["proc"] == []  # no other process's environment to read
        if sandbox == "bwrap" or _landlock_abi() >= 4:
            assert report["connected"] is False and hits == []  # no TCP, not even loopback
            assert report["mptcp"] is False  # nor MPTCP
        if sandbox == "landlock":
            assert report["net_tables"] is False
    (Path(report["cwd"]) / relative).unlink(missing_ok=True)  # `none` could write there: tidy up


def test_memory_cap_is_a_recorded_failure(make_executor, input_dir: Path) -> None:  # noqa: ANN001
    executor = make_executor(exec_memory_mb=2048)
    result = _run(executor, input_dir, "x = bytearray(10 * 1024**3)\nprint('allocated', len(x))\n")
    assert not result.ok and "allocated" not in result.stdout
    assert result.exc_type in ("MemoryError", "KilledBySignal"), (result.exc_type, result.stderr[-500:])


def test_ram_outside_the_memory_cap_is_closed_too(make_executor, sandbox: str, input_dir: Path) -> None:  # noqa: ANN001
    """bwrap's private /tmp and its root are tmpfs, RAM the address-space cap does not count: /tmp is
    sized to the cap and the root is read-only (a hostile candidate filled 400 MB of /tmp under a 256 MB cap)."""
    if sandbox == "none":
        pytest.skip("`none` has the user's own /tmp and file system")
    code = ("import os\nout = {}\nfor path, mb in (('/tmp/fill', 1100), ('/root/fill', 1)):\n"
            "    try:\n        with open(path, 'wb') as f:\n"
            "            for _ in range(mb):\n                f.write(b'x' * 1024**2)\n        out[path] = 'wrote'\n"
            "    except OSError as exc:\n        out[path] = exc.strerror\n    finally:\n"
            "        if os.path.exists(path):\n            os.remove(path)\nprint('FILL', out)\n")
    result = _run(make_executor(exec_memory_mb=1024), input_dir, code)  # a cap the warm pool still takes
    line = next(x for x in result.stdout.splitlines() if x.startswith("FILL"))
    if sandbox == "landlock":  # neither is writable at all
        assert "'/tmp/fill': 'Permission denied'" in line and "'/root/fill': 'Permission denied'" in line, line
    else:
        assert "'/tmp/fill': 'No space left on device'" in line and "'/root/fill': 'Read-only file system'" in line, line


def test_an_infinite_loop_is_killed_at_the_timeout(make_executor, input_dir: Path) -> None:  # noqa: ANN001
    marker = f"LOOP-{uuid.uuid4().hex[:8]}"
    code = f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'while True: pass  # {marker}'])\nwhile True:\n    pass\n"
    result = _run(make_executor(), input_dir, code, timeout=3)
    assert result.timed_out and result.exc_type == "TimeoutError"
    assert _alive(marker) == []


def test_a_forced_bwrap_that_cannot_run_is_a_config_error(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from loom.domain.errors import ConfigError

    monkeypatch.setenv("PATH", str(home))  # no bwrap on PATH
    config = LoomConfig.load(env_file=None, flags={"home": str(home), "sandbox": "bwrap"})
    with pytest.raises(ConfigError, match="apt-get install -y bubblewrap") as err:
        sandboxes.select(config)
    assert err.value.exit_code == 2
    fallback = "landlock" if _landlock_abi() else "none"  # `auto` without bwrap: Landlock when the kernel has it
    assert sandboxes.select(LoomConfig.load(env_file=None, flags={"home": str(home), "sandbox": "auto"})).name == fallback


def test_a_forked_daemon_that_never_execs_leaves_nothing_behind(make_executor, input_dir: Path) -> None:  # noqa: ANN001
    """fork + setsid + fork, no exec: it carries only what the candidate process itself carried."""
    name = f"lm{uuid.uuid4().hex[:10]}"  # its process name (comm), set with prctl(PR_SET_NAME)
    code = (
        "import ctypes, os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        ctypes.CDLL(None).prctl(15, {name.encode()!r}, 0, 0, 0)\n"
        "        time.sleep(120)\n"
        "    os._exit(0)\n"
        "time.sleep(0.5)\n"
        "print('parent done')\n"
    )
    result = _run(make_executor(), input_dir, code)
    assert result.ok and "parent done" in result.stdout, result.stderr[-2000:]
    rows = subprocess.run(["ps", "-eo", "stat=,comm="], capture_output=True, text=True).stdout.splitlines()
    assert not [row for row in rows if row.split()[-1] == name and not row.startswith("Z")]  # (killed: a zombie at most)


def test_a_daemon_that_drops_the_marker_and_leaves_the_session_dies_too(make_executor, sandbox: str,
                                                                        input_dir: Path) -> None:  # noqa: ANN001
    """setsid, then exec with an empty environment: out of the process group and without the sweep's
    marker. bwrap's PID namespace and landlock's subreaper still take it down; `none` cannot (its warning says so)."""
    if sandbox == "none":
        pytest.skip("`none` has no PID namespace and no subreaper: its warning names this")
    name = f"ld{uuid.uuid4().hex[:10]}"
    code = (
        "import os, sys, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        os.execve(sys.executable, [sys.executable, '-c', 'import time; time.sleep(120)  # {name}'], {{}})\n"
        "    os._exit(0)\n"
        "time.sleep(0.5)\n"
        "print('parent done')\n"
    )
    result = _run(make_executor(), input_dir, code)
    assert result.ok and "parent done" in result.stdout, result.stderr[-2000:]
    time.sleep(0.2)
    rows = subprocess.run(["ps", "-eo", "stat=,args="], capture_output=True, text=True).stdout.splitlines()
    assert not [row for row in rows if name in row and not row.startswith("Z") and "ps -eo" not in row]
