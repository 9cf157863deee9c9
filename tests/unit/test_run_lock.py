"""The run lock waits for a holder in this very process (a cancelled run still unwinding in a server or
an embedding app: its journal already says INTERRUPTED), and still refuses at once a holder elsewhere
(tests/integration/test_run_sandbox.py) and one here that does not let go."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from loom.application.run_search import artifacts
from loom.application.run_search.artifacts import RunStore
from loom.domain.errors import UsageError


def test_a_holder_in_this_process_that_is_letting_go_is_waited_for(tmp_path: Path) -> None:
    store = RunStore(tmp_path, "r1")
    held, release = threading.Event(), threading.Event()

    def unwinding_run() -> None:
        with store.lock():
            held.set()
            release.wait(5)

    thread = threading.Thread(target=unwinding_run)
    thread.start()
    held.wait(5)
    threading.Timer(0.3, release.set).start()  # the cancelled run lets go a moment later
    started = time.monotonic()
    with RunStore(tmp_path, "r1").lock():  # the resume
        waited = time.monotonic() - started
    thread.join(5)
    assert 0.2 < waited < artifacts.SAME_PROCESS_WAIT


def test_a_holder_in_this_process_that_keeps_it_is_refused_after_the_wait(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(artifacts, "SAME_PROCESS_WAIT", 0.3)
    store = RunStore(tmp_path, "r2")
    with store.lock():
        started = time.monotonic()
        with pytest.raises(UsageError, match=r"run r2 is in use by pid \d+; wait for it to finish"):
            with RunStore(tmp_path, "r2").lock():
                pass
        assert time.monotonic() - started >= 0.3
