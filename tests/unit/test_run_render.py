"""`loom run`'s rendering: the progress line's "best" follows the metric's direction, and the
summary states the estimate, its interval, the split, the leak screen and which score ranks."""

from __future__ import annotations

import io

from rich.console import Console

from loom.application.ports.observer import Event
from loom.domain.metrics import parse_metric
from loom.domain.search import Estimate, Node, SearchResult
from loom.domain.status import Status
from loom.entrypoints.cli.run_render import RichProgress, summary


def _feed(maximize: bool, values: list[float]) -> RichProgress:
    progress = RichProgress(Console(file=io.StringIO()), steps=len(values))
    with progress:
        progress.notify(Event("run_started", "r1", data={"steps": len(values), "maximize": maximize}))
        for step, value in enumerate(values):
            progress.notify(Event("node_finished", "r1", step=step, node_kind="draft", metric=value,
                                  holdout_metric=value, buggy=False))
    return progress


def test_the_progress_best_follows_the_metric_direction() -> None:
    prices = [91050.0, 35219.0, 40000.0]  # house prices: the dummy node is the worst, not the best
    assert _feed(False, prices).best == 35219.0
    assert _feed(True, [0.5, 0.84, 0.8]).best == 0.84


def test_the_summary_states_the_estimate_the_split_the_leaks_and_what_ranks() -> None:
    metric = parse_metric("Maximize accuracy")
    best = Node(id="a" * 32, step=1, kind="draft", code="", metric=0.97, selection=1.0, buggy=False)
    other = Node(id="b" * 32, step=0, kind="draft", code="", metric=0.4, selection=None, buggy=False)
    result = SearchResult(
        run_id="r1", status=Status.OK, run_dir="/tmp/r1", metric=metric, nodes=[best, other], leaderboard=[best, other],
        estimate=Estimate("accuracy", 1.0, 0.83, 1.0, 19, "stratified", "percentile bootstrap", wide=True, node_id=best.id),
        split={"kind": "stratified", "rows": {"train": 88, "selection": 18, "final": 19}},
        leaks=[{"column": "refund", "kind": "near_perfect_predictor", "detail": "alone it reaches ROC-AUC 1.000",
                "fix": "drop it"}],
        warnings=["the final estimate's 95% interval [0.83, 1] is wide: the final slice has only 19 rows"],
    )
    buffer = io.StringIO()
    summary(result, Console(file=buffer, width=200))
    text = buffer.getvalue()
    assert "estimate: accuracy 1 (95% interval [0.83, 1]) on 19 sealed rows" in text and "WIDE" in text
    assert "split: stratified random draw · train 88, selection 18, final 19 rows" in text
    assert "leak screen (warn): refund (near_perfect_predictor)" in text and "is wide" in text
    assert "1 ▲" in text and "0.4 ▲" in text  # graded by selection; ungraded by self-reported
    payload = result.to_dict()
    assert payload["estimate"]["low"] == 0.83 and payload["leaks"]["flagged"][0]["column"] == "refund"
    assert [row["ranked_on"] for row in payload["leaderboard"]] == ["selection", "self_reported"]
