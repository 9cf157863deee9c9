"""One lock around `ast.parse` on CPython releases whose AST constructor is not thread-safe.

On CPython 3.11 (and 3.12.0-3.12.1) `ast.parse` keeps its recursion counter in per-interpreter
state (cpython gh-106905, fixed by gh-113035 in later releases). When the garbage collector runs a
finalizer in the middle of building the tree, another thread can take the GIL and parse too; the
first parse then fails with `SystemError: AST constructor recursion depth mismatch`. Loom's
process parses in several places it does not own: cyclopts reads attribute docstrings for
`--help`, and Python 3.11's traceback formatting parses each source line it underlines, in
whatever thread logs an exception (search workers, servers, the embedding API). Serializing the
calls removes the race; a parse costs microseconds to milliseconds, so the lock costs nothing
measurable.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

AFFECTED = (3, 11) <= sys.version_info[:2] < (3, 12) or (3, 12, 0) <= sys.version_info[:3] < (3, 12, 2)

_lock = threading.RLock()


def install() -> bool:
    """Wrap `ast.parse` with a process-wide lock (once; only where CPython needs it)."""
    import ast

    if not AFFECTED or getattr(ast.parse, "_loom_serialized", False):
        return False
    original = ast.parse

    def parse(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return original(*args, **kwargs)

    parse._loom_serialized = True  # type: ignore[attr-defined]
    parse.__doc__ = original.__doc__
    parse.__wrapped__ = original  # type: ignore[attr-defined]
    ast.parse = parse  # type: ignore[assignment]
    return True
