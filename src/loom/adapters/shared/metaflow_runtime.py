"""Running Metaflow flows and reading them back, shared by the mlops and builders families.

Embedded default (no server, nothing to configure): Metaflow's *local* datastore and *local*
metadata under `LOOM_HOME/metaflow` (the "datastore root"; Metaflow keeps its bytes in
`<root>/.metaflow`). When the user points Metaflow elsewhere — `METAFLOW_PROFILE`
(config.metaflow_profile) or `METAFLOW_DEFAULT_DATASTORE` / `METAFLOW_DEFAULT_METADATA` in the
environment — Loom sets none of that and Metaflow uses the user's own endpoint; Loom never
touches object-store SDKs itself.

Flows are static files shipped inside the package; data enters them as run parameters or
IncludeFiles, never as generated flow code. Flows run as a subprocess of `config.python`
(`python flow.py run ...`) with cwd = the datastore root, so cards are found again.

Nothing here imports metaflow at module import time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loom.adapters.shared.metaflow_plugins import plugin_home
from loom.adapters.shared.metaflow_tails import FlowTail, drain, keep_tail, kill_group
from loom.adapters.shared.metaflow_with import _with_specs, with_specs  # noqa: F401 - rt.with_specs for callers
from loom.application.credentials import KNOWN_SECRET_ENV
from loom.domain.errors import ConfigError, ExecutionFailed, UsageError
from loom.domain.pathspec import Pathspec

if TYPE_CHECKING:
    from loom.application.config import LoomConfig

log = logging.getLogger(__name__)

#: Env vars that mean "the user runs their own Metaflow": Loom then sets no datastore/metadata.
USER_METAFLOW_ENV = ("METAFLOW_PROFILE", "METAFLOW_DEFAULT_DATASTORE", "METAFLOW_DEFAULT_METADATA")

_flow_lock = threading.RLock()


# --------------------------------------------------------------------------------------------
# where things live
# --------------------------------------------------------------------------------------------
def embedded(config: "LoomConfig") -> bool:
    """True when Loom provides Metaflow's backend (local datastore + metadata under LOOM_HOME)."""
    if config.metaflow_profile:
        return False
    return not any(os.environ.get(name) for name in USER_METAFLOW_ENV)


def datastore_root(config: "LoomConfig") -> Path:
    """The directory flows run from (cwd) and whose `.metaflow/` holds the local datastore.

    `METAFLOW_DATASTORE_SYSROOT_LOCAL` wins when the user set it; else `LOOM_HOME/metaflow`.
    """
    explicit = os.environ.get("METAFLOW_DATASTORE_SYSROOT_LOCAL")
    return Path(explicit).expanduser().resolve() if explicit else config.home / "metaflow"


def client_cache(config: "LoomConfig") -> Path:
    """Where Metaflow's Client caches the blobs it reads: private to LOOM_HOME (0700).

    Metaflow's default is one /tmp/metaflow_client for every user and every datastore of the
    machine, created with the default umask (others can read the tables cached there), and the
    Client walks all of it on every artifact read (25,000 files: 0.35 s per `loom ingest`).
    `METAFLOW_CLIENT_CACHE_PATH` set by the user wins."""
    explicit = os.environ.get("METAFLOW_CLIENT_CACHE_PATH")
    path = Path(explicit).expanduser() if explicit else config.home / "metaflow_client"
    path.mkdir(parents=True, exist_ok=True)
    if not explicit:
        path.chmod(0o700)
    return path


def metaflow_env(config: "LoomConfig") -> dict[str, str]:
    """The METAFLOW_* variables a flow subprocess needs (never a secret).

    Embedded mode: local datastore + local metadata + local cards under datastore_root(), and a
    METAFLOW_HOME enabling only the plugins a local run uses (`metaflow_plugins.plugin_home`).
    User mode (profile / METAFLOW_* set): only METAFLOW_PROFILE is forwarded, the rest is
    Metaflow's own configuration. METAFLOW_USER is set when the environment has no user.
    """
    env: dict[str, str] = {}
    if embedded(config):
        root = datastore_root(config)
        env.update(
            METAFLOW_DEFAULT_DATASTORE="local",
            METAFLOW_DEFAULT_METADATA="local",
            METAFLOW_DATASTORE_SYSROOT_LOCAL=str(root),
        )
    elif config.metaflow_profile:
        env["METAFLOW_PROFILE"] = config.metaflow_profile
    trimmed = plugin_home(config, embedded(config))  # only the plugins a local run uses (metaflow_plugins.py)
    if trimmed is not None:
        env["METAFLOW_HOME"] = str(trimmed)
    if not (os.environ.get("METAFLOW_USER") or os.environ.get("USER") or os.environ.get("USERNAME")):
        env["METAFLOW_USER"] = config.owned_by if config.owned_by not in ("", "unknown") else "loom"
    env["METAFLOW_CLIENT_CACHE_PATH"] = str(client_cache(config))  # steps that read earlier runs
    return env


def subprocess_env(config: "LoomConfig", extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """os.environ minus Loom's LLM secrets, plus metaflow_env() (user METAFLOW_* still win)."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in KNOWN_SECRET_ENV}
    for key, value in metaflow_env(config).items():
        if key in ("METAFLOW_USER",) or key not in os.environ:
            env[key] = value
    env.setdefault("PYTHONUNBUFFERED", "1")
    src = Path(__file__).resolve().parents[3]  # the dir holding the `loom` package
    if embedded(config):
        # Metaflow records the git state of the flow file's folder in every process of a run (five
        # `git` calls each, ~7 ms): that is Loom's own checkout, not the user's project. Discovery stops
        # at the `loom` package (GIT_CEILING_DIRECTORIES, git's own switch), so each process asks once.
        env["GIT_CEILING_DIRECTORIES"] = os.pathsep.join(
            p for p in (env.get("GIT_CEILING_DIRECTORIES"), str(src / "loom")) if p)
    if src.name not in ("site-packages", "dist-packages"):  # a source checkout: let LOOM_PYTHON see it
        env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(src)) if p)
    env.update(extra or {})
    return env


def ensure_root(config: "LoomConfig") -> Path:
    """The embedded datastore's folder under LOOM_HOME, created; exit 2 naming LOOM_HOME when it cannot be."""
    from loom.application.local_setup import home_os_error

    root = datastore_root(config)
    try:
        (root / ".metaflow").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise (home_os_error(exc, config.home) or exc) from None
    return root


# --------------------------------------------------------------------------------------------
# running a flow
# --------------------------------------------------------------------------------------------
def run_flow(
    flow_file: str | Path,
    params: Mapping[str, Any],
    config: "LoomConfig",
    *,
    tags: Iterable[str] = (),
    with_: str | Sequence[str] | None = None,
    timeout: float | None = None,
    on_line: Callable[[str], None] | None = None,
    cancel: Any = None,
    detach_when: Callable[[str], bool] | None = None,
    drain_first: bool = True,
) -> str:
    """Run `config.python flow_file run --<param> <value> ...`; return the run's pathspec.

    `detach_when`: return as soon as an output line satisfies it (e.g. the runtime starting the
    `end` task: the earlier steps' artifacts are stored); the rest of the run finishes in the
    background (a FlowTail, see drain()). `drain_first`: wait for such runs before starting this
    one (default: a flow may read them); a flow that reads none of them passes False.

    `params` map parameter names to values (None skipped, bools as 'true'/'false', Paths as
    str). `with_` adds `--with SPEC` per item (e.g. "kubernetes"): passed through, never
    emulated. `on_line` sees each output line as it arrives (progress). `cancel` (anything
    with is_set()) stops the run early. On failure raises ExecutionFailed with the failing
    step's last error line (its `.pathspec` is the failed run when one started, `.timed_out`
    / `.cancelled` say why); past `timeout` the process group is killed. A step that raises
    `LoomInputError` / `UsageError` makes this raise UsageError (bad input, exit 2).
    """
    flow_file = Path(flow_file).resolve()
    if not flow_file.is_file():
        raise ExecutionFailed(f"flow file {flow_file} does not exist")
    if drain_first:
        drain()
    root = ensure_root(config) if embedded(config) else Path.cwd()
    with tempfile.TemporaryDirectory(prefix="loom-runid-") as tmp:
        run_id_file = Path(tmp) / "run_id"
        argv = [config.python, str(flow_file), "--no-pylint", "run", "--run-id-file", str(run_id_file)]
        for key, value in params.items():
            if value is None:
                continue
            if isinstance(value, bool):
                value = "true" if value else "false"
            argv += [f"--{key.replace('_', '-')}", str(value)]
        for tag in tags:
            if tag:
                argv += ["--tag", str(tag)]
        for spec in with_specs(with_, config):
            argv += ["--with", spec]
        log.debug("running flow", extra={"flow": flow_file.name, "cwd": str(root)})
        deadline = None if timeout is None else time.monotonic() + timeout
        lines, code, stopped, proc = _stream(argv, root, subprocess_env(config), timeout, on_line, cancel, detach_when)
        run_id = run_id_file.read_text().strip() if run_id_file.is_file() else ""
    flow_name = _flow_name(flow_file, lines)
    pathspec = f"{flow_name}/{run_id}" if run_id else None
    where = f" ({pathspec})" if pathspec else ""
    if stopped == "detached" and pathspec:
        keep_tail(FlowTail(proc, lines, pathspec, deadline))
        return pathspec
    if stopped:
        why = f"timed out after {timeout:.0f}s" if stopped == "timeout" else "was cancelled"
        raise _failed(f"{flow_name} {why}{where}", pathspec, stopped)
    if code != 0 or not run_id:
        line = last_error_line(lines)
        bad_input = _INPUT_ERROR.match(line)
        if bad_input:  # the flow rejected its input: a usage error (exit 2), not a failure
            raise UsageError(bad_input.group(1))
        raise _failed(f"{flow_name} failed{where}: {line}", pathspec, None)
    return f"{flow_name}/{run_id}"


def _failed(message: str, pathspec: str | None, stopped: str | None) -> ExecutionFailed:
    err = ExecutionFailed(message)
    err.pathspec = pathspec  # type: ignore[attr-defined]
    err.timed_out = stopped == "timeout"  # type: ignore[attr-defined]
    err.cancelled = stopped == "cancel"  # type: ignore[attr-defined]
    return err


def _stream(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    timeout: float | None,
    on_line: Callable[[str], None] | None,
    cancel: Any = None,
    detach_when: Callable[[str], bool] | None = None,
) -> tuple[list[str], int | None, str | None, "subprocess.Popen[str]"]:
    try:
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, text=True, errors="replace", start_new_session=True,
        )
    except OSError as exc:
        from loom.application.local_setup import interpreter_error

        raise interpreter_error(argv[0], exc.strerror or str(exc)) from None
    lines: list[str] = []
    stopped: str | None = None
    detached, exited = threading.Event(), threading.Event()
    wake = threading.Event()  # set on the runtime's exit or a detach line: the loop below reacts at once

    def reader() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            lines.append(line)
            if len(lines) > 5000:
                del lines[:1000]
            if on_line is not None:
                with contextlib.suppress(Exception):
                    on_line(line)
            if detach_when is not None and not detached.is_set() and detach_when(line):
                detached.set()
                wake.set()

    def waiter() -> None:  # a blocking waitpid: Popen.wait(timeout) polls, sleeping up to 50 ms past the exit
        with contextlib.suppress(Exception):
            proc.wait()
        exited.set()
        wake.set()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    threading.Thread(target=waiter, daemon=True).start()
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while not exited.is_set():
            wake.wait(timeout=0.2)  # the deadline and `cancel` are checked at least this often
            wake.clear()
            if exited.is_set():
                break
            if detached.is_set():
                return lines, None, "detached", proc  # the reader keeps draining the output
            if deadline is not None and time.monotonic() > deadline:
                stopped = "timeout"
            elif cancel is not None and cancel.is_set():
                stopped = "cancel"
            if stopped:
                kill_group(proc)
                break
    except BaseException:
        kill_group(proc)
        raise
    thread.join(timeout=5)
    return lines, proc.returncode, stopped, proc


_PREFIX = re.compile(r"^(?:\d{4}-\d\d-\d\d\s+)?(?:[\d:.]+\s+)?(?:\[[^\]]+\]\s*)?")  # "2026-.. 12:00:00.000 [1234/start/1 (pid 9)] "
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Failed|NotFound)\b:?.*")
#: A flow step that raises an exception of one of these class names reports bad input (exit 2).
_INPUT_ERROR = re.compile(r"^(?:[\w.]*\.)?(?:LoomInputError|UsageError):\s*(.+)$")
_FAILED = re.compile(r".*\b(failed|error)\b.*", re.I)


def last_error_line(lines: Sequence[str]) -> str:
    """The most telling line of a failed run's output (the exception line of the traceback)."""
    cleaned = [_PREFIX.sub("", line).strip() for line in lines]
    cleaned = [c for c in cleaned if c and not c.startswith(("Task failed", "This failed task"))]
    for pattern in (_EXCEPTION, _FAILED):
        for line in reversed(cleaned):
            if pattern.match(line) and not line.lower().startswith(("traceback", "step failure", "workflow failed")):
                return line[:300]
    return cleaned[-1][:300] if cleaned else "no output"


def _flow_name(flow_file: Path, lines: Sequence[str]) -> str:
    for line in lines[:20]:
        m = re.search(r"Metaflow \S+ executing (\w+)", line)
        if m:
            return m.group(1)
    text = flow_file.read_text(encoding="utf-8", errors="replace")
    m = re.search(r"^class\s+(\w+)\s*\(\s*FlowSpec\s*\)", text, re.M)
    return m.group(1) if m else flow_file.stem


# --------------------------------------------------------------------------------------------
# reading back (Client API)
# --------------------------------------------------------------------------------------------
@contextlib.contextmanager
def client(config: "LoomConfig", *, wait: bool = True) -> Iterator[Any]:
    """Point the in-process Client API at the datastore flows use; yields the metaflow module.

    Embedded: local metadata at datastore_root(); always the global namespace (runs of every
    user). Thread-safe only in the sense that callers serialize on one lock. `wait`: first let
    the runs this process detached finish (drain), so what is read is whole.
    """
    if wait:
        drain()
    with _flow_lock:
        is_embedded = embedded(config)  # decided before anything below touches os.environ
        user = metaflow_env(config).get("METAFLOW_USER")
        if user:
            os.environ.setdefault("METAFLOW_USER", user)
        if config.metaflow_profile and "metaflow" not in sys.modules:
            # a profile named in Loom's config (YAML/flag), not the environment: Metaflow reads it at import
            os.environ.setdefault("METAFLOW_PROFILE", config.metaflow_profile)
        import metaflow
        import metaflow.client.core as client_core
        from metaflow.client.filecache import FileCache

        cache = str(client_cache(config))
        if getattr(client_core.filecache, "_cache_dir", None) != cache:
            client_core.filecache = FileCache(cache_dir=cache)  # the Client's module-level cache, made once
        if is_embedded:
            metaflow.metadata(f"local@{ensure_root(config)}")
        metaflow.namespace(None)
        yield metaflow


def get_run(config: "LoomConfig", pathspec: str | Pathspec, *flows: str, wait: bool = True) -> Any:
    """The Client `Run` for a pathspec; one-line UsageError when unknown or of the wrong flow."""
    spec = pathspec if isinstance(pathspec, Pathspec) else Pathspec.parse(str(pathspec))
    if flows:
        spec.expect_flow(*flows)
    with client(config, wait=wait) as mf:
        try:
            return mf.Run(spec.run)
        except mf.exception.MetaflowNotFound:
            raise UsageError(
                f"{spec.run} not found in the Metaflow datastore", hint=_where(config)
            ) from None
        except mf.exception.MetaflowNamespaceMismatch:
            raise UsageError(f"{spec.run} is not visible in this namespace") from None


def read_step_artifacts(pathspec: str, step: str, names: Iterable[str], config: "LoomConfig") -> dict[str, Any]:
    """{name: value} of the artifacts of one step's (only) task: readable while later steps still run."""
    run = get_run(config, pathspec, wait=False)
    with client(config, wait=False):
        data = run[step].task.data
        return {name: getattr(data, name) for name in names if name in data}


def read_artifacts(pathspec: str, names: Iterable[str], config: "LoomConfig") -> dict[str, Any]:
    """{name: value} of a run's artifacts (missing names are left out)."""
    run = get_run(config, pathspec)
    with client(config):
        data = run.data
        if data is None:
            raise UsageError(f"{pathspec} has no artifacts (did its end step run?)")
        return {name: getattr(data, name) for name in names if name in data}


def _where(config: "LoomConfig") -> str:
    if embedded(config):
        return f"local datastore {datastore_root(config)}; list them with `loom runs`"
    return "the user's Metaflow endpoint (METAFLOW_PROFILE); list them with `loom runs`"
