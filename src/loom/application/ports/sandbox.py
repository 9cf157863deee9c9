"""Sandbox seam: where untrusted solution code runs (search candidates, validate/deploy solutions).

Candidate code is untrusted. A sandbox turns "run this program in this folder" into the command
that runs it isolated: `./input` read-only, `./working` read-write, a private /tmp, the
interpreter read-only, an allowlisted environment with no secrets, no network unless asked, and
every process it starts dies with it. Chosen by LOOM_SANDBOX (auto | bwrap | landlock | none); adapters
live in `loom.adapters.sandbox`. The process runner (timeouts, bounded output, killing the whole
tree) is shared by every adapter and every caller.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from loom.application.credentials import looks_secret

#: Thread-count variables of the BLAS / OpenMP / numexpr / joblib pools a candidate may load.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
               "NUMEXPR_NUM_THREADS", "BLIS_NUM_THREADS", "LOKY_MAX_CPU_COUNT")
#: Variables a candidate may inherit from Loom's environment as they are (never a secret).
INHERITED = ("LANG", "LC_ALL", "LC_CTYPE", "TZ")
#: Set by the runner on every sandboxed process tree, so that stragglers can be found and killed.
MARKER_VAR = "LOOM_SANDBOX_ID"


@dataclass(frozen=True)
class SandboxLimits:
    """What one execution may use. `memory_bytes` 0 = no cap; `cpus` sizes the thread pools."""

    memory_bytes: int = 0
    cpus: int = 1
    network: bool = False


@dataclass(frozen=True)
class SandboxRequest:
    """Run `argv` with cwd = `workdir`; inside, `readonly` and `writable` are paths relative to it."""

    argv: Sequence[str]
    workdir: Path
    env: Mapping[str, str] = field(default_factory=dict)  # already allowlisted (candidate_env)
    limits: SandboxLimits = SandboxLimits()
    writable: Sequence[str] = ("working",)
    python: str | None = None  # the interpreter argv runs with (its prefix is mounted read-only)
    # host folders shown read-only at a path relative to workdir (an isolating sandbox binds them;
    # `none` cannot protect a bind, so there the caller copies instead and passes none)
    inputs: Mapping[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class Launch:
    """The command and environment that run a request inside the sandbox."""

    argv: list[str]
    env: dict[str, str]


@runtime_checkable
class Sandbox(Protocol):
    """Wraps a request into a Launch. `isolated` is False for `none` (the environment is still scrubbed)."""

    name: str
    isolated: bool

    def wrap(self, request: SandboxRequest) -> Launch: ...


def passthrough_names(spec: str | None) -> list[str]:
    """LOOM_SANDBOX_ENV ("NAME,OTHER") -> names; a secret-looking name is refused (ValueError)."""
    names = [n.strip() for n in (spec or "").replace(";", ",").split(",") if n.strip()]
    secret = [n for n in names if looks_secret(n)]
    if secret:
        raise ValueError(f"LOOM_SANDBOX_ENV names {secret[0]}, which looks like a secret; "
                         "candidates never receive secrets")
    return names


def candidate_env(workdir: Path, *, cpus: int, python: str | None = None, tmp: str = "/tmp",
                  passthrough: Sequence[str] = (), extra: Mapping[str, str] | None = None,
                  environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment a candidate gets: an allowlist, never a copy of Loom's own.

    PATH (the interpreter's bin first), HOME = the workdir, the locale, the thread-count variables
    (so N candidates side by side never oversubscribe the cores), the user's LOOM_SANDBOX_ENV names,
    and `extra` (Loom's own per-run values). Any secret-looking name is dropped, whatever its source.
    """
    environ = os.environ if environ is None else environ
    bin_dir = str(Path(python).parent) if python else ""
    env = {
        "PATH": os.pathsep.join(p for p in (bin_dir, "/usr/local/bin", "/usr/bin", "/bin") if p),
        "HOME": str(workdir),
        "TMPDIR": tmp,
        "MPLCONFIGDIR": f"{tmp}/matplotlib",
        "MPLBACKEND": "Agg",
        "PYTHONUNBUFFERED": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        **{name: str(max(1, cpus)) for name in THREAD_VARS},
    }
    env.update({n: environ[n] for n in INHERITED if environ.get(n)})
    env.setdefault("LANG", "C.UTF-8")
    env.update({n: environ[n] for n in passthrough if n in environ})
    env.update(extra or {})
    return {k: v for k, v in env.items() if not looks_secret(k)}
