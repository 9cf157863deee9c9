"""The candidate sandbox (LOOM_SANDBOX = auto | bwrap | landlock | none): selection, probing, limits.

`auto` uses bubblewrap when it works on this machine (probed once per machine and kernel, the
answer cached under LOOM_HOME); where it cannot (no bwrap, or no user namespaces, as in many
containers) it uses the kernel's Landlock (landlock.py) when the kernel has it, and only then
falls back to `none`, each with a warning and the install command. `bwrap` and `landlock` insist
(a machine where they cannot run is a configuration error, exit 2). `none` is a plain child
process, with the environment still scrubbed.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from loom.adapters.sandbox.bwrap import BwrapSandbox
from loom.adapters.sandbox.none import INSTALL_HINT, NoSandbox
from loom.application.ports.sandbox import Sandbox, SandboxLimits
from loom.domain.errors import ConfigError

if TYPE_CHECKING:
    from loom.application.config import LoomConfig
    from loom.domain.checks import Check

log = logging.getLogger(__name__)

DEFAULT_MEMORY_CAP = 8 * 1024**3


def select(config: "LoomConfig") -> Sandbox:
    """The sandbox the config asks for; `bwrap` on a machine that cannot run it is a ConfigError."""
    return select_named(config.sandbox, config.home)


def select_named(choice: str | None, home: Path) -> Sandbox:
    """`select` without a LoomConfig (a Metaflow step gets the choice and LOOM_HOME as parameters)."""
    if choice == "none":
        return NoSandbox()
    from loom.adapters.sandbox.landlock import LandlockSandbox

    if choice == "landlock":
        if landlock_abi() < 1:
            raise ConfigError("LOOM_SANDBOX=landlock, but this kernel has no Landlock (Linux >= 5.13 with "
                              "CONFIG_SECURITY_LANDLOCK, listed in /sys/kernel/security/lsm); "
                              "set LOOM_SANDBOX=auto")
        return LandlockSandbox(mask=[home])
    works, why = probe(home)
    if works:
        return BwrapSandbox(mask=[home])
    if choice == "bwrap":
        raise ConfigError(f"LOOM_SANDBOX=bwrap, but bubblewrap cannot run here ({why}); {INSTALL_HINT}, "
                          "or set LOOM_SANDBOX=none to run candidates without isolation")
    return LandlockSandbox(mask=[home]) if landlock_abi() >= 1 else NoSandbox()


def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0: none): whether `auto` can confine without bubblewrap."""
    from loom.adapters.sandbox.landlock import abi

    return abi()


def limits(config: "LoomConfig") -> SandboxLimits:
    """Memory (LOOM_EXEC_MEMORY_MB, default min(8 GiB, half the RAM)), CPUs and network per candidate."""
    if config.exec_memory_mb:
        memory = int(config.exec_memory_mb) * 1024 * 1024
    else:
        memory = min(DEFAULT_MEMORY_CAP, _ram() // 2) if _ram() else DEFAULT_MEMORY_CAP
    cpus = config.exec_cpus or max(1, (os.cpu_count() or 1) // max(1, config.workers))
    return SandboxLimits(memory_bytes=memory, cpus=cpus, network=bool(config.sandbox_network))


def _ram() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 0


def probe(home: Path | None = None) -> tuple[bool, str]:
    """(works, why not): can bubblewrap start an isolated process here? Cached per binary and kernel."""
    binary = shutil.which("bwrap")
    if binary is None:
        return False, "bwrap is not installed"
    st = os.stat(binary)
    key = f"{binary}:{st.st_size}:{st.st_mtime_ns}:{platform.release()}:{os.getuid()}"
    return _probe_cached(key, binary, str(home) if home else "")


@cache
def _probe_cached(key: str, binary: str, home: str) -> tuple[bool, str]:
    cache_file = Path(home) / "cache" / "sandbox_probe.json" if home else None
    if cache_file is not None:
        try:
            saved = json.loads(cache_file.read_text())
            if saved.get("key") == key:
                return bool(saved["works"]), str(saved["why"])
        except (OSError, ValueError, KeyError):
            pass
    argv = [binary, "--unshare-all", "--die-with-parent", "--new-session", "--clearenv", "--ro-bind", "/", "/",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "true"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        works, why = done.returncode == 0, (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
    except (OSError, subprocess.TimeoutExpired) as exc:
        works, why = False, f"{type(exc).__name__}: {exc}"
    if works:
        why = "user namespaces available"
    if cache_file is not None:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            cache_file.write_text(json.dumps({"key": key, "works": works, "why": why}))
        except OSError:
            pass
    return works, why


def readiness(config: "LoomConfig") -> "Check":
    """`loom doctor`: PASS bwrap / WARN landlock or none (with the fix) / FAIL a forced one that cannot run."""
    from loom.domain.checks import Check, Level

    try:
        sandbox = select(config)
    except ConfigError as err:
        return Check("sandbox", Level.FAIL, err.line(), INSTALL_HINT)
    lim = limits(config)
    detail = (f"memory cap {lim.memory_bytes // 1024**2} MB, {lim.cpus} CPU thread(s), "
              f"network {'on' if lim.network else 'off'}, warm start {'on' if config.exec_warm else 'off'}")
    if sandbox.isolated:
        return Check("sandbox", Level.PASS, f"bwrap: candidates run isolated ({detail})")
    if sandbox.name == "landlock":
        from loom.adapters.sandbox.landlock import caveats

        abi = getattr(sandbox, "abi", 0)
        return Check("sandbox", Level.WARN, f"landlock (ABI {abi}): candidates are confined, but "
                     f"{'; '.join(caveats(abi))} ({detail})", INSTALL_HINT)
    why = "LOOM_SANDBOX=none" if (config.sandbox or "auto") == "none" else probe(config.home)[1]
    return Check("sandbox", Level.WARN, f"none: candidates are NOT isolated ({why}; {detail})", INSTALL_HINT)


def announce(sandbox: Sandbox) -> str | None:
    """The once-per-run line to say loudly when candidates are not fully isolated (None under bwrap)."""
    return None if sandbox.isolated else getattr(sandbox, "warning", NoSandbox.warning)
