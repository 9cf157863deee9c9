"""A clean process environment for tests: no LOOM_*/METAFLOW_* settings, no secrets, a user."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from loom.application.credentials import looks_secret

ENDPOINT_VARS = ("ANTHROPIC_BASE_URL", "OPENAI_BASE_URL")


def strip_env(mp: pytest.MonkeyPatch) -> None:
    """Remove every Loom/Metaflow setting and every secret; make sure a user name is set."""
    for name in list(os.environ):
        if name.startswith(("LOOM_", "METAFLOW_")) or looks_secret(name) or name in ENDPOINT_VARS:
            mp.delenv(name, raising=False)
    mp.setenv("USER", os.environ.get("USER") or "tester")


@contextmanager
def clean_process_env() -> Iterator[pytest.MonkeyPatch]:
    """strip_env for module-scoped fixtures (which cannot use the function-scoped monkeypatch)."""
    with pytest.MonkeyPatch.context() as mp:
        strip_env(mp)
        yield mp


def default_sigint() -> None:
    """Popen(preexec_fn=...) for a child the test will Ctrl-C: a shell that started the suite in the
    background (`cmd &` without job control) makes every descendant ignore SIGINT, and Python only
    turns SIGINT into KeyboardInterrupt when it starts with the default disposition."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
