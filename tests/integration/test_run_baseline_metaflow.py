"""The baseline brain on the metaflow executor: each candidate a real CandidateRun on a temp local
datastore; what a candidate writes in ./working comes back as the run's `outputs` artifact, so
the ensemble node gets its members' out-of-fold predictions through Loom here too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("metaflow")

from loom.application.config import LoomConfig  # noqa: E402
from loom.application.run_search import RunRequest  # noqa: E402
from loom.entrypoints.container import build_container  # noqa: E402

pytestmark = pytest.mark.slow
CHURN = Path(__file__).resolve().parents[2] / "examples" / "churn"


def test_the_ensemble_gets_its_members_predictions_through_metaflow(tmp_path: Path) -> None:
    import numpy as np

    config = LoomConfig.load(env_file=None, flags={"home": str(tmp_path), "search_provider": "baseline",
                                                   "mlops_provider": "metaflow", "budget_steps": 4})
    result = build_container(config).run_search()(
        RunRequest(data=CHURN, goal="Predict churn", metric="Maximize ROC-AUC"))
    assert result.status.value == "OK" and len(result.nodes) == 4
    assert all(not n.buggy for n in result.nodes), [n.term_out[-1500:] for n in result.nodes if n.buggy]
    ensemble = result.nodes[-1]
    assert ensemble.plan.startswith("[baseline ensemble/0]") and ensemble.pathspec
    workspaces = tmp_path / "metaflow_workspaces" / result.run_id
    manifest = json.loads((workspaces / ensemble.id / "working" / "ensemble.json").read_text())
    weights = {p["node_id"]: p["weight"] for p in manifest["members"]}
    assert weights and set(weights) <= {n.id for n in result.nodes[1:3]}  # linear and lightgbm, not the dummy
    combo = sum(w * pd.read_csv(workspaces / nid / "working" / "test_pred.csv")["p1"].to_numpy()
                for nid, w in weights.items())
    submission = pd.read_csv(ensemble.submission)
    assert np.allclose(submission["churn"].to_numpy(), combo, atol=1e-9)
