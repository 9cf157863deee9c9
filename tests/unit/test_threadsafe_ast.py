"""CPython 3.11's AST constructor is not thread-safe; Loom serializes `ast.parse` (gh-106905).

The race: thread A builds a tree; the GC runs a finalizer mid-build, thread B takes the GIL and
parses (here: formats a traceback, which parses each source line it underlines on 3.11); A's
recursion counter no longer matches and A raises SystemError. This reproduces it in a child
interpreter, with and without the guard.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from loom.entrypoints import threadsafe_ast

RACE = textwrap.dedent("""
    import ast, gc, inspect, sys, threading, traceback
    if sys.argv[1] == "guarded":
        from loom.entrypoints.threadsafe_ast import install
        install()
    sys.setswitchinterval(1e-6)
    source = inspect.getsource(__import__("http.server", fromlist=["x"]))

    class Cyclic:  # garbage with a finalizer that runs Python code, so the GIL can move mid-parse
        def __init__(self):
            self.me = self
        def __del__(self):
            sum(range(200))

    errors = []
    def parse(n):
        for _ in range(n):
            for _ in range(50):
                Cyclic()
            try:
                ast.parse(source)
            except SystemError as exc:
                errors.append(exc)
    def tracebacks(n):
        for _ in range(n):
            for _ in range(50):
                Cyclic()
            try:
                1 / 0
            except ZeroDivisionError:
                traceback.format_exc()
    threads = [threading.Thread(target=parse, args=(int(sys.argv[2]),)),
               threading.Thread(target=tracebacks, args=(int(sys.argv[2]) * 15,))]
    for t in threads: t.start()
    for t in threads: t.join()
    print(len(errors))
""")


def _race(mode: str, rounds: int) -> int:
    out = subprocess.run([sys.executable, "-c", RACE, mode, str(rounds)], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(not threadsafe_ast.AFFECTED, reason="this CPython builds ASTs thread-safely")
def test_guarded_parse_never_raises_the_recursion_mismatch() -> None:
    assert _race("guarded", 400) == 0


def test_install_is_idempotent_and_keeps_parse_working() -> None:
    import ast

    threadsafe_ast.install()
    threadsafe_ast.install()
    assert ast.dump(ast.parse("x = 1")) == ast.dump(ast.parse("x = 1", mode="exec"))
    if threadsafe_ast.AFFECTED:
        assert getattr(ast.parse, "_loom_serialized", False)
        assert not getattr(ast.parse.__wrapped__, "_loom_serialized", False)  # wrapped once
