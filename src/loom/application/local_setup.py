"""This machine's part of the configuration: LOOM_HOME (a folder Loom can write) and LOOM_PYTHON
(an interpreter that starts). Each is one actionable line (exit 2) before any work, and one
`loom doctor` check, instead of an internal error or a run whose every candidate fails.

Nothing here creates anything: the checks look at what is on disk.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from loom.domain.checks import Check, Level
from loom.domain.errors import ConfigError

HOME_FIX = "point LOOM_HOME, or `home:` in --config, at a folder you can write"
PYTHON_FIX = "set LOOM_PYTHON to a Python 3.11+ interpreter with Loom installed, or unset it"


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a parent Loom may not search (EACCES): treat as there, access() decides
        return True


def home_problem(home: str | Path) -> str | None:
    """Why `home` cannot hold Loom's runs (a file on its path, not writable), or None."""
    path = Path(home)
    probe = path
    while not _exists(probe) and probe.parent != probe:  # the nearest part that exists: Loom creates the rest
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        return "it is a file, not a folder" if probe == path else f"{probe} on its path is a file, not a folder"
    need = os.R_OK | os.W_OK | os.X_OK if probe == path else os.W_OK | os.X_OK
    if not os.access(probe, need):
        return "it is not writable" if probe == path else f"{probe} (where it would be created) is not writable"
    return None


def home_error(home: str | Path, why: str) -> ConfigError:
    return ConfigError(f"LOOM_HOME {home} cannot hold Loom's runs: {why}", hint=HOME_FIX)


def require_home(home: str | Path) -> None:
    """Raise ConfigError (exit 2) naming LOOM_HOME when it is unusable."""
    why = home_problem(home)
    if why:
        raise home_error(home, why)


def home_os_error(exc: BaseException, home: str | Path | None) -> ConfigError | None:
    """An OSError on a path inside `home` (a file where a folder goes, a read-only disk) as the
    ConfigError naming LOOM_HOME; None for any other error."""
    if home is None or not isinstance(exc, OSError) or not exc.filename:
        return None
    root, where = Path(home), Path(os.fsdecode(exc.filename))
    if where != root and root not in where.parents:
        return None
    return home_error(home, f"{exc.strerror or type(exc).__name__} ({where})")


def home_check(home: str | Path) -> Check:
    """`loom doctor`'s line for LOOM_HOME."""
    why = home_problem(home)
    if why:
        return Check("LOOM_HOME", Level.FAIL, f"{home}: {why}", HOME_FIX)
    return Check("LOOM_HOME", Level.PASS, f"{home} (writable)")


def interpreter_problem(python: str) -> str | None:
    """Why `python` cannot be started (missing, a folder, not executable), or None."""
    if not python:
        return "it is empty"
    if shutil.which(python) is not None:
        return None
    path = Path(python)
    if os.sep not in python and (os.altsep is None or os.altsep not in python):
        return "not found on PATH"
    if path.is_dir():
        return "it is a folder"
    if not path.exists():
        return "no such file"
    return "not executable"


def interpreter_error(python: str, why: str) -> ConfigError:
    """The one line for an interpreter that does not start (the flow runner says the same)."""
    return ConfigError(f"cannot start the flow interpreter {python!r} (LOOM_PYTHON): {why}", hint=PYTHON_FIX)


def require_interpreter(python: str) -> None:
    """Raise ConfigError (exit 2) naming LOOM_PYTHON when it cannot be started."""
    why = interpreter_problem(python)
    if why:
        raise interpreter_error(python, why)


def interpreter_check(python: str) -> Check:
    """`loom doctor`'s line for LOOM_PYTHON: it starts and says its version."""
    import subprocess

    why = interpreter_problem(python)
    if why is None:
        try:
            done = subprocess.run([python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                                  capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            why = f"{type(exc).__name__}: {exc}"
        else:
            version = done.stdout.strip()
            if done.returncode == 0 and version:
                return Check("LOOM_PYTHON", Level.PASS, f"{python} (Python {version})")
            why = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1][:200]
    return Check("LOOM_PYTHON", Level.FAIL, f"cannot start {python!r}: {why}", PYTHON_FIX)
