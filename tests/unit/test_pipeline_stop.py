"""A stopped pipeline (an MCP client's cancellation): the run stage stops like Ctrl-C, the rest is skipped."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from loom.application.lifecycle.pipeline import RunPipeline
from loom.domain.status import Status
from tests.fakes.lifecycle import FakeLifecycle


@dataclass
class _Info:
    pathspec: str = "IngestDataset/1"
    rows: dict = field(default_factory=lambda: {"train": 80, "test": 20})
    columns: int = 4


class _StoppingSearch:
    """A search that is stopped while it runs: it returns INTERRUPTED, as RunSearch does."""

    def __init__(self) -> None:
        self.stops: list[threading.Event | None] = []

    def __call__(self, request, stop=None):  # type: ignore[no-untyped-def]
        self.stops.append(stop)
        assert stop is not None
        stop.set()

        class _Result:
            run_id, status, message, best, leaderboard = "run-7", Status.INTERRUPTED, "interrupted; resume it", None, []

        return _Result()


def _pipeline(fake: FakeLifecycle, search: _StoppingSearch) -> RunPipeline:
    return RunPipeline(fake, lambda source, target=None: _Info(), lambda: search)


def test_stop_during_the_run_stage_saves_the_run_and_skips_the_rest() -> None:
    fake, search, stop = FakeLifecycle(), _StoppingSearch(), threading.Event()
    result = _pipeline(fake, search)(source=Path("data"), metric="Maximize ROC-AUC", stop=stop)
    assert search.stops == [stop]  # the run stage got the caller's stop signal
    by_stage = {s.stage: s for s in result.stages}
    assert by_stage["run"].status == "FAILED" and "run-7" in by_stage["run"].detail
    assert by_stage["validate"].status == by_stage["report"].status == "SKIPPED"
    assert result.failed_stage == "run" and result.extras["exit_code"] == 130
    assert result.extras["search_run"] == "run-7"
    assert not any(c[0] == "validate" for c in fake.calls)


def test_stop_between_stages_skips_the_rest_as_interrupted() -> None:
    fake, search, stop = FakeLifecycle(), _StoppingSearch(), threading.Event()
    stages = []

    def on_stage(stage) -> None:  # type: ignore[no-untyped-def]
        stages.append(stage)
        if stage.stage == "eda":
            stop.set()

    result = _pipeline(fake, search)(source=Path("data"), metric="Maximize ROC-AUC", stop=stop, on_stage=on_stage)
    assert [s.status for s in stages] == ["OK", "OK", "SKIPPED", "SKIPPED", "SKIPPED", "SKIPPED"]
    assert result.status == "INTERRUPTED" and result.failed_stage is None and result.extras["exit_code"] == 130
    assert search.stops == []
