"""The first code that runs inside every sandbox: cap memory, run the script, record a crash.

It runs as `python -c BOOTSTRAP <script> <memory-bytes>` with cwd = the candidate's folder. The
address-space cap (RLIMIT_AS) is set before any candidate code runs and is inherited by every
process the candidate starts. An uncaught exception is written as JSON (type, message, trace) to
./working/.loom_exception.json and printed; the exit code is the script's own.
"""

from __future__ import annotations

EXCEPTION_FILE = "working/.loom_exception.json"

BOOTSTRAP = f"""
import json, runpy, sys, traceback
script, cap = sys.argv[1], int(sys.argv[2])
if cap > 0:
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (ImportError, ValueError, OSError):
        pass
sys.argv = [script]
try:
    runpy.run_path(script, run_name="__main__")
except SystemExit:
    raise
except BaseException as exc:
    trace = traceback.format_exc()
    try:
        with open({EXCEPTION_FILE!r}, "w") as fh:
            json.dump({{"type": type(exc).__name__, "message": str(exc)[:4000], "trace": trace[-20000:]}}, fh)
    except BaseException:
        pass
    sys.stderr.write(trace)
    sys.exit(1)
"""


def argv(python: str, script: str, memory_bytes: int) -> list[str]:
    """The command line that runs `script` (relative to the workdir) under the bootstrap."""
    return [python, "-c", BOOTSTRAP, script, str(int(memory_bytes))]
