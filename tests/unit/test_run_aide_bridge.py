"""The AIDE bridge: judge arguments made safe, calls routed by role, per-run routing across threads."""

from __future__ import annotations

import random
import threading

import pytest

from loom.adapters.search import aide_bridge
from tests.fakes.fake_model import FakeModel


def test_review_metric_is_a_float_and_the_direction_is_the_runs() -> None:
    review = aide_bridge.normalize_review({"is_bug": False, "summary": "ok", "metric": 1, "lower_is_better": True}, True)
    assert review["metric"] == 1.0 and isinstance(review["metric"], float) and review["lower_is_better"] is False
    assert aide_bridge.normalize_review({"metric": "0.25", "is_bug": "false"}, False)["metric"] == 0.25
    broken = aide_bridge.normalize_review({"metric": True}, False)
    assert broken["metric"] is None and broken["is_bug"] is True and broken["lower_is_better"] is True
    assert aide_bridge.normalize_review(None, True)["is_bug"] is True


def _router(code: FakeModel, judge: FakeModel) -> aide_bridge.Router:
    return aide_bridge.Router(code, judge, "code-m", "judge-m", 0.5, 0.5, maximize=True, rng=random.Random(0))


def test_dispatch_routes_by_role_and_per_run_in_threads() -> None:
    agent_module = pytest.importorskip("aide.agent") and aide_bridge.install_dispatch()
    spec = agent_module.review_func_spec
    fakes = [(FakeModel("c0"), FakeModel("j0")), (FakeModel("c1"), FakeModel("j1"))]
    barrier = threading.Barrier(2)

    def run(i: int) -> None:
        token = aide_bridge.activate(_router(*fakes[i]))
        try:
            barrier.wait()
            for _ in range(3 + i):
                assert "```python" in agent_module.query(system_message={"Task": "write code"}, user_message=None,
                                                         model="ignored", temperature=0.1)
            review = agent_module.query(system_message="review", user_message=None, func_spec=spec, model="x")
            assert isinstance(review, dict) and set(review) == {"is_bug", "summary", "metric", "lower_is_better"}
        finally:
            aide_bridge.deactivate(token)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [(c.text_calls, j.tool_calls, c.tool_calls, j.text_calls) for c, j in fakes] == [(3, 1, 0, 0), (4, 1, 0, 0)]
    assert agent_module.query is aide_bridge.install_dispatch().query  # installed once
