"""Lifecycle use-cases over FakeLifecycle: argument checks, the deploy gate, pipeline stage gating."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from loom.application.lifecycle.deploy import DeploySolution
from loom.application.lifecycle.pipeline import RunPipeline
from loom.application.lifecycle.profile import BuildFeatures, ProfileDataset
from loom.application.lifecycle.report import CheckOps, WriteReport
from loom.application.ports.lifecycle import Lifecycle
from loom.domain.errors import RefusedError, UsageError
from loom.domain.metrics import MetricSpec
from tests.fakes.lifecycle import FakeLifecycle


def test_fake_is_a_lifecycle_and_a_non_lifecycle_adapter_is_refused_in_one_line() -> None:
    assert isinstance(FakeLifecycle(), Lifecycle)

    class LocalMLOps:
        name = "local"

    with pytest.raises(UsageError, match="--mlops metaflow"):
        ProfileDataset(LocalMLOps())("IngestDataset/1")


def test_argument_checks_happen_before_any_flow() -> None:
    fake = FakeLifecycle()
    with pytest.raises(UsageError, match="not a pathspec"):
        ProfileDataset(fake)("nope")
    with pytest.raises(UsageError, match="EdaFlow"):
        BuildFeatures(fake)("IngestDataset/1", from_eda="ValidateFlow/2")
    with pytest.raises(UsageError, match="exactly one"):
        WriteReport(fake)(experiment="x", runs="A/1")
    with pytest.raises(UsageError, match="both"):
        CheckOps(fake)(dataset="IngestDataset/1")
    with pytest.raises(UsageError, match="--apply"):
        DeploySolution(fake)(validate="ValidateFlow/1", score="IngestDataset/2")
    assert fake.calls == []


@pytest.mark.parametrize(("verdict", "floor", "refused"), [("PASS", None, False), ("REVIEW", None, True),
                                                           ("FAIL", None, True), (None, None, True),
                                                           ("PASS", 0.9, True)])
def test_deploy_gate(verdict: str | None, floor: float | None, refused: bool) -> None:
    fake = FakeLifecycle(deploy_verdict=verdict, holdout=0.8)
    if refused:
        with pytest.raises(RefusedError) as err:
            DeploySolution(fake)(validate="ValidateFlow/1", floor=floor)
        assert err.value.exit_code == 3 and err.value.status == "REFUSED_GATE"
        assert not any(name == "stage_deploy" for name, _ in fake.calls)  # nothing staged on a refusal
    else:
        result = DeploySolution(fake)(validate="ValidateFlow/1", floor=floor)
        assert result.status == "PLANNED" and not any(name == "batch_score" for name, _ in fake.calls)
        applied = DeploySolution(fake)(validate="ValidateFlow/1", apply=True, score="IngestDataset/5")
        assert applied.status == "OK" and applied.rows_scored == 7


@dataclass
class _Info:
    pathspec: str = "IngestDataset/1"
    rows: dict = None  # type: ignore[assignment]
    columns: int = 4


@dataclass
class _Node:
    pathspec: str = "CandidateRun/9"
    metric: float = 0.8
    selection: float = 0.79


class _Search:
    def __init__(self, ok: bool = True) -> None:
        self.ok, self.requests = ok, []

    def __call__(self, request):  # type: ignore[no-untyped-def]
        from loom.domain.status import Status

        self.requests.append(request)
        node = _Node() if self.ok else None

        class _Result:
            run_id, status, message, best = "run-1", Status.OK, "no working candidate", node
            metric, positive = MetricSpec("f1", True), "yes"
            leaderboard = [node] if node else []
            estimate = None

        return _Result()


def _pipeline(fake: FakeLifecycle, search: _Search | None) -> RunPipeline:
    return RunPipeline(fake, lambda source, target=None: _Info(rows={"train": 80, "test": 20}),
                       (lambda: search) if search else None)


def test_pipeline_runs_every_stage_in_order_and_feeds_each_the_one_before() -> None:
    fake, search = FakeLifecycle(), _Search()
    seen = []
    result = _pipeline(fake, search)(source=Path("data"), metric="Maximize ROC-AUC", on_stage=seen.append)
    assert result.status == "OK" and [s.stage for s in seen] == ["ingest", "eda", "features", "run", "validate", "report"]
    features = next(c for c in fake.calls if c[0] == "features")[1]
    assert features == ("IngestDataset/1", "EdaFlow/1")  # features applies the eda flags
    assert search.requests[0].dataset == "FeaturesFlow/2"  # the search sees the clean features
    assert next(c for c in fake.calls if c[0] == "validate")[1] == ("FeaturesFlow/2", "run-1")
    assert (fake.validate_metric, fake.validate_positive) == ("f1", "yes")  # validate grades as the run did


@pytest.mark.parametrize(("verdict", "search_ok", "failed"), [("FAIL", True, "validate"), ("PASS", False, "run")])
def test_pipeline_stops_at_the_failed_stage_and_names_it(verdict: str, search_ok: bool, failed: str) -> None:
    fake = FakeLifecycle(validate_verdict=verdict)
    result = _pipeline(fake, _Search(ok=search_ok))(dataset="IngestDataset/1")
    statuses = {s.stage: s.status for s in result.stages}
    assert result.status == "FAILED" and result.failed_stage == failed and statuses[failed] == "FAILED"
    assert statuses["report"] == "SKIPPED" and result.extras["exit_code"] == 1


def test_a_metric_the_run_would_refuse_stops_the_pipeline_before_ingest() -> None:
    """"Maximize awesomeness": ingest, eda and features ran (new Metaflow runs) before the run stage said so."""
    from loom.domain.metrics import parse_metric

    class _Checked(_Search):
        def precheck(self, *, metric, metric_name=None):  # type: ignore[no-untyped-def]
            parse_metric(metric, metric_name)

    fake, ingested = FakeLifecycle(), []
    pipeline = RunPipeline(fake, lambda source, target=None: ingested.append(source), lambda: _Checked())
    with pytest.raises(UsageError, match="unknown metric"):
        pipeline(source=Path("data"), metric="Maximize awesomeness")
    with pytest.raises(UsageError, match="not a pathspec"):
        pipeline(dataset="IngestDataset-123", metric="Maximize ROC-AUC")
    assert ingested == [] and fake.calls == []


def test_pipeline_without_the_search_use_case_says_what_is_missing() -> None:
    result = _pipeline(FakeLifecycle(), None)(dataset="IngestDataset/1")
    run = next(s for s in result.stages if s.stage == "run")
    assert result.failed_stage == "run" and "RunSearch" in run.detail
